//! `/setupaccount.html` and `/passwordreset.html` (outside `/api/v1`, public): the pages invite
//! and password reset links open, with their script and style. Static, in the binary, under a
//! strict Content-Security-Policy: no inline script or style, nothing from elsewhere.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const SETUP_ACCOUNT: &str = include_str!("../../assets/pages/setupaccount.html");
const PASSWORD_RESET: &str = include_str!("../../assets/pages/passwordreset.html");
const SCRIPT: &str = include_str!("../../assets/pages/account.js");
const STYLE: &str = include_str!("../../assets/pages/account.css");

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The page's address carries the link's secret: never sent on, never kept.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn setup_account_page() -> Response {
    asset(SETUP_ACCOUNT, "text/html; charset=utf-8")
}

pub async fn password_reset_page() -> Response {
    asset(PASSWORD_RESET, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}
