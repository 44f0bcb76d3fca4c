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

mod domain;
mod extract;

use std::any::Any;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use extract::{ApiJson, ApiPath, ApiQuery, parse_json_object};

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
    /// A 404 whose message names what is missing (one of several ids sent).
    #[error("{0}")]
    Missing(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// Cloudron: a wrong *current* password or TOTP code is 412, not 401, so the UI keeps the session.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
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
            Self::NotFound(_) | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
