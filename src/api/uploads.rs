//! Not a resource: the multipart image upload and the image response that `/profile`,
//! `/branding` and `/cloudron` share. What makes an image acceptable is [`crate::images`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use utoipa::ToSchema;

use crate::error::ApiError;
use crate::images::{ImageError, MAX_IMAGE_BYTES};
use crate::store::images::ImageRow;

/// The request limit of upload routes: the image plus multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = MAX_IMAGE_BYTES + 64 * 1024;
/// How long an upload waits for a slot before it is turned away.
const UPLOAD_WAIT: Duration = Duration::from_secs(5);

/// Layer of the upload routes: a few uploads at a time, so parallel uploads cannot take
/// unbounded memory; one that finds no slot within [`UPLOAD_WAIT`] gets 429 before its body is
/// read. Reads (GET) pass.
pub async fn one_of_a_few(
    State(slots): State<Arc<Semaphore>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return Ok(next.run(req).await);
    }
    let slot = tokio::time::timeout(UPLOAD_WAIT, slots.acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::TooManyRequests {
            message: "Too many uploads at once; retry shortly".into(),
            retry_after_secs: 1,
        })?;
    let response = next.run(req).await;
    drop(slot);
    Ok(response)
}

/// The multipart form of an avatar upload.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documents the form; the handler reads it field by field"
)]
pub struct AvatarUpload {
    /// A PNG, JPEG, GIF or WebP image of at most 5 MiB and 8192 pixels a side.
    #[schema(value_type = String, format = Binary)]
    avatar: Vec<u8>,
}

/// The multipart form of a background upload.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documents the form; the handler reads it field by field"
)]
pub struct BackgroundUpload {
    /// A PNG, JPEG, GIF or WebP image of at most 5 MiB; sent empty, it clears the background.
    #[serde(rename = "backgroundImage")]
    #[schema(value_type = String, format = Binary)]
    background_image: Vec<u8>,
}

/// The multipart form of the Cloudron background upload.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documents the form; the handler reads it field by field"
)]
pub struct CloudronBackgroundUpload {
    /// A PNG, JPEG, GIF or WebP image of at most 5 MiB; absent or empty, it clears the background.
    #[schema(value_type = String, format = Binary)]
    background: Vec<u8>,
}

pub fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"))
}

/// The named file field of a multipart body (`Some(empty)` when sent empty), refused when over
/// the size cap before it is all read.
pub async fn file_field<S: Send + Sync>(
    req: Request,
    state: &S,
    name: &str,
) -> Result<Option<Vec<u8>>, ApiError> {
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some(name) {
            return read_field(field).await.map(Some);
        }
    }
    Ok(None)
}

/// The named file field, which must be present and not empty.
pub async fn required_file<S: Send + Sync>(
    req: Request,
    state: &S,
    name: &str,
) -> Result<Vec<u8>, ApiError> {
    file_field(req, state, name)
        .await?
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be provided")))
}

/// Reads one multipart file field, refusing it as soon as it passes the size cap.
async fn read_field(mut field: Field<'_>) -> Result<Vec<u8>, ApiError> {
    // Room for the largest image at once: memory is only taken as it is written, and the
    // buffer is never copied to grow (which, chunk by chunk, left the heap fragmented).
    let mut bytes = Vec::with_capacity(MAX_IMAGE_BYTES);
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(ImageError::TooLarge.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ImageError::TooLarge.into()
    } else {
        ApiError::bad_request(format!("Malformed multipart body: {}", err.body_text()))
    }
}

/// Serves a stored image with its own type, an ETag (answering 304 to a matching
/// `If-None-Match`), and headers that stop browsers from sniffing or running it.
pub fn image_response(image: ImageRow, request_headers: &HeaderMap) -> Response {
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == image.etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(image.data))
    };
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&image.content_type) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if let Ok(etag) = HeaderValue::from_str(&image.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
