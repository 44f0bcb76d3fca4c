//! Errors, and which to use where:
//!
//! - [`ApiError`] is the HTTP error: handlers, extractors and layers (`src/api/`, the token and
//!   network layers) return it, and it renders as Cloudron's `{"status", "message"}`. The
//!   extractors here (`ApiJson`, `ApiQuery`, `ApiPath`) reject in the same shape.
//! - Domain code below the API returns its own error: [`Invalid`] for input that breaks a rule
//!   (settings, IP lists, scopes, cron patterns), or the error enum of its module
//!   (`users::UserError`, `images::ImageError`, `tasks::TaskError`, ...), made with thiserror.
//! - Each of those maps into `ApiError` in one `From` impl in this file, so the HTTP status of
//!   every domain failure is decided here, in one place.
//! - Store functions return `sqlx::Error`; unexpected failures travel as `anyhow::Error` and
//!   become a 500 without details.

use std::any::Any;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::auth::login::LoginError;
use crate::auth::secrets::HashError;
use crate::auth::throttle::RateLimited;
use crate::users::UserError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("No such {0}")]
    NotFound(&'static str),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// Cloudron: a wrong *current* password or TOTP code is 412, not 401, so the UI keeps the session.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A precondition of the platform is missing (nothing configured, nothing to update).
    #[error("{0}")]
    Unprocessable(String),
    /// Something boxd depends on (a feed, a detection endpoint, a log file) failed.
    #[error("{0}")]
    FailedDependency(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Input that breaks a rule; the message says which, for a human (a 400 over HTTP).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl From<Invalid> for ApiError {
    fn from(Invalid(message): Invalid) -> Self {
        Self::BadRequest(message)
    }
}

impl From<crate::network::detect::DetectError> for ApiError {
    fn from(err: crate::network::detect::DetectError) -> Self {
        Self::FailedDependency(err.0)
    }
}

impl From<crate::tasks::TaskError> for ApiError {
    fn from(err: crate::tasks::TaskError) -> Self {
        use crate::tasks::TaskError;
        match err {
            TaskError::AlreadyRunning(_) | TaskError::ShuttingDown | TaskError::NotActive => {
                Self::Conflict(err.to_string())
            }
            TaskError::NotFound => Self::NotFound("task"),
            TaskError::TooManyStreams => Self::TooManyRequests {
                message: err.to_string(),
                retry_after_secs: 5,
            },
            TaskError::LogUnreadable(_) => Self::FailedDependency(err.to_string()),
            TaskError::Store(err) => err.into(),
            TaskError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<crate::updater::UpdateError> for ApiError {
    fn from(err: crate::updater::UpdateError) -> Self {
        use crate::updater::UpdateError;
        match err {
            UpdateError::Unavailable(message) => Self::Unprocessable(message),
            UpdateError::Feed(message) => Self::FailedDependency(message),
            UpdateError::Task(err) => err.into(),
            UpdateError::Store(err) => err.into(),
            UpdateError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<crate::images::ImageError> for ApiError {
    fn from(err: crate::images::ImageError) -> Self {
        match err {
            crate::images::ImageError::TooLarge => Self::PayloadTooLarge(err.to_string()),
            _ => Self::BadRequest(err.to_string()),
        }
    }
}

impl From<RateLimited> for ApiError {
    fn from(limited: RateLimited) -> Self {
        Self::TooManyRequests {
            message: limited.message,
            retry_after_secs: limited.retry_after_secs,
        }
    }
}

impl From<HashError> for ApiError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy(limited) => limited.into(),
            HashError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::InvalidCredentials | LoginError::TotpRequired | LoginError::InvalidTotp => {
                Self::Unauthorized(err.to_string())
            }
            LoginError::WrongCurrentPassword => Self::PreconditionFailed(err.to_string()),
            LoginError::RateLimited(limited) => limited.into(),
            LoginError::Store(err) => err.into(),
            LoginError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::Invalid(message) => Self::BadRequest(message),
            UserError::NotFound => Self::NotFound("user"),
            UserError::Forbidden(message) => Self::Forbidden(message),
            UserError::Conflict(message) => Self::Conflict(message),
            UserError::AlreadySetup => Self::Conflict(err.to_string()),
            UserError::WrongCode => Self::PreconditionFailed(err.to_string()),
            UserError::Login(err) => err.into(),
            UserError::Store(err) => err.into(),
            UserError::Internal(err) => Self::Internal(err),
        }
    }
}

/// The body of every error response, in Cloudron's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP reason phrase, e.g. `Bad Request`.
    #[schema(example = "Bad Request")]
    pub status: String,
    /// What went wrong, for a human.
    #[schema(example = "name is required")]
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized("Invalid or missing token".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::FailedDependency(_) => StatusCode::FAILED_DEPENDENCY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(err) => {
                tracing::error!(error = ?err, "request failed");
                "Internal Error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = error_response(status, message);
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

fn error_response(status: StatusCode, message: String) -> Response {
    let body = ErrorBody {
        status: status.canonical_reason().unwrap_or("Error").to_owned(),
        message,
    };
    (status, Json(body)).into_response()
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

/// Turns a unique-constraint violation into a 409 with the caller's message.
pub trait ConflictOnUnique<T> {
    fn conflict_on_unique(self, message: &str) -> Result<T, ApiError>;
}

impl<T> ConflictOnUnique<T> for Result<T, sqlx::Error> {
    fn conflict_on_unique(self, message: &str) -> Result<T, ApiError> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::conflict(message),
            _ => ApiError::from(err),
        })
    }
}

/// Unknown routes answer a JSON 404 rather than an empty body.
pub async fn not_found_fallback() -> ApiError {
    ApiError::NotFound("route")
}

pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A panicking handler becomes a 500 in the usual shape; the connection stays up.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error".into())
}

/// A JSON body that must be an object. An empty body reads as `{}`, so a POST without a body fails
/// on the fields it lacks, as in Cloudron. Field errors name the field and never echo its value.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("Request body is too large".into())
            } else {
                ApiError::bad_request("Failed to read the request body")
            }
        })?;
        parse_json_object(&bytes).map(ApiJson)
    }
}

pub fn parse_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request(format!("Malformed JSON body: {err}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        ApiError::bad_request(field_message(&path, &err.into_inner().to_string()))
    })
}

/// Query parameters; a bad value is a 400 that names the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                ApiError::bad_request(field_message(&path, &err.into_inner().to_string()))
            })
    }
}

/// Path parameters; a value that does not parse is a 400 in the usual shape.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// Rewrites a serde message about `path` into Cloudron's style ("x is required", "x must be a
/// string") without the offending value, which may be a secret.
fn field_message(path: &str, message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let field = |name: &str| match path {
        "" | "." => name.to_owned(),
        parent => format!("{parent}.{name}"),
    };
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        return format!("{} is required", field(name));
    }
    let expected = message.split_once(", expected ").map(|(_, e)| e);
    match (message.split(':').next(), expected) {
        (Some("invalid type" | "invalid value" | "invalid length"), Some(expected)) => {
            format!("{path} must be {}", plain_type(expected))
        }
        _ if message.starts_with("unknown variant") => match expected {
            Some(expected) => format!("{path} must be {}", expected.replace('`', "")),
            None => format!("{path} has an unknown value"),
        },
        _ => message.to_owned(),
    }
}

fn plain_type(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "an integer"
        }
        "f32" | "f64" => "a number",
        "a map" => "an object",
        "a sequence" => "an array",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[expect(dead_code, reason = "the fields only exist to be deserialized")]
    struct Body {
        name: String,
        enabled: Option<bool>,
        expires_at: Option<i64>,
    }

    fn message(json: &str) -> String {
        match parse_json_object::<Body>(json.as_bytes()) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn empty_body_reads_as_an_empty_object() {
        assert_eq!(message(""), "name is required");
    }

    #[test]
    fn wrong_types_name_the_field_without_its_value() {
        let msg = message(r#"{"name": "x", "enabled": "hunter2"}"#);
        assert_eq!(msg, "enabled must be a boolean");
        assert_eq!(message(r#"{"name": 5}"#), "name must be a string");
        assert_eq!(
            message(r#"{"name": "x", "expiresAt": 1.5}"#),
            "expiresAt must be an integer"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json() {
        use axum::routing::get;
        use tower::ServiceExt;
        use tower_http::catch_panic::CatchPanicLayer;

        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = axum::Router::new()
            .route("/", get(boom))
            .layer(CatchPanicLayer::custom(panic_response));
        let request = axum::http::Request::new(axum::body::Body::empty());

        let response = app.oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "Internal Server Error", "message": "Internal Error"})
        );
    }

    #[test]
    fn non_objects_and_garbage_are_refused() {
        assert_eq!(message("[1]"), "The request body must be a JSON object");
        assert!(message("{nope").starts_with("Malformed JSON body"));
    }
}
