//! Extractors whose rejections take Cloudron's error shape: JSON bodies, query strings, paths.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON body that must be an object. An empty body reads as `{}`, so a POST without a body fails
/// on the fields it lacks, as in Cloudron. Field errors name the field and never echo its value.
/// A body must be sent as JSON (`application/json` or a `+json` type): a cross-site form can
/// send `text/plain` without asking first, and must not be able to change anything.
pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` names JSON, parameters aside.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(is_json);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("Request body is too large".into())
            } else {
                ApiError::bad_request("Failed to read the request body")
            }
        })?;
        if !json && !bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::UnsupportedMediaType(
                "The request body must be sent as application/json".into(),
            ));
        }
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

    #[test]
    fn json_content_types_are_told_apart() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json(json), "{json}");
        }
        for other in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "json",
            "",
        ] {
            assert!(!is_json(other), "{other}");
        }
    }

    #[test]
    fn non_objects_and_garbage_are_refused() {
        assert_eq!(message("[1]"), "The request body must be a JSON object");
        assert!(message("{nope").starts_with("Malformed JSON body"));
    }
}
