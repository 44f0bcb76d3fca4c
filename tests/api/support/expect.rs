//! Assertions shared by the topic files: Cloudron's error shape.

use reqwest::StatusCode;
use serde_json::Value;

/// Asserts a Cloudron error answer: the status `status`, the body `{"status": <its reason
/// phrase>, "message": <string>}` and nothing more, and a message that contains `message_part`
/// (`""` checks the status and the shape only). Answers the message for further checks.
#[track_caller]
pub fn expect_error(got: (StatusCode, Value), status: StatusCode, message_part: &str) -> String {
    let (code, body) = got;
    assert_eq!(code, status, "{body}");
    assert_eq!(body["status"], status.canonical_reason().unwrap(), "{body}");
    assert_eq!(
        body.as_object().map(serde_json::Map::len),
        Some(2),
        "only status and message: {body}"
    );
    let message = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"));
    assert!(
        message.contains(message_part),
        "{message:?} does not contain {message_part:?}"
    );
    message.to_owned()
}

/// As [`expect_error`], with the whole message.
#[track_caller]
pub fn expect_error_exact(got: (StatusCode, Value), status: StatusCode, message: &str) {
    assert_eq!(expect_error(got, status, ""), message);
}
