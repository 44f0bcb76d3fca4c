//! Uploaded images (avatars, backgrounds, the Cloudron avatar): validated by their content, never
//! by the client's file name or content type, and served with the type that content has.

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use imagesize::ImageType;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store;
use crate::store::images::ImageRow;

pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// The request limit of upload routes: the image plus multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = MAX_IMAGE_BYTES + 64 * 1024;
/// Larger images would take hundreds of MiB once a browser decodes them.
pub const MAX_SIDE_PIXELS: usize = 8192;
pub const MAX_PIXELS: usize = 40_000_000;

/// The stored name of the Cloudron avatar (branding).
pub const CLOUDRON_AVATAR: &str = "cloudron_avatar";
const DEFAULT_CLOUDRON_AVATAR: &[u8] = include_bytes!("../assets/cloudron-avatar.png");

/// The Cloudron avatar: the uploaded one, or the built-in default.
pub async fn cloudron_avatar(db: &sqlx::SqlitePool) -> Result<ImageRow, ApiError> {
    match store::images::get(db, CLOUDRON_AVATAR).await? {
        Some(image) => Ok(image),
        None => validate(DEFAULT_CLOUDRON_AVATAR.to_vec()),
    }
}

/// Checks magic bytes and the header's dimensions; nothing is decoded.
pub fn validate(bytes: Vec<u8>) -> Result<ImageRow, ApiError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large());
    }
    let content_type = match imagesize::image_type(&bytes) {
        Ok(ImageType::Png) => "image/png",
        Ok(ImageType::Jpeg) => "image/jpeg",
        Ok(ImageType::Gif) => "image/gif",
        Ok(ImageType::Webp) => "image/webp",
        _ => {
            return Err(ApiError::bad_request(
                "The file is not a PNG, JPEG, GIF or WebP image",
            ));
        }
    };
    let size = imagesize::blob_size(&bytes)
        .map_err(|_| ApiError::bad_request("The image header is damaged"))?;
    if size.width == 0 || size.height == 0 {
        return Err(ApiError::bad_request("The image has no pixels"));
    }
    if size.width > MAX_SIDE_PIXELS
        || size.height > MAX_SIDE_PIXELS
        || size.width.saturating_mul(size.height) > MAX_PIXELS
    {
        return Err(ApiError::bad_request(format!(
            "The image is {}x{} pixels; at most {MAX_SIDE_PIXELS} per side and {MAX_PIXELS} in all",
            size.width, size.height
        )));
    }
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    Ok(ImageRow {
        content_type: content_type.to_owned(),
        etag,
        data: bytes,
    })
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "The image is larger than {} MiB",
        MAX_IMAGE_BYTES / 1024 / 1024
    ))
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

/// Reads one multipart file field, refusing it as soon as it passes the size cap.
async fn read_field(mut field: Field<'_>) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request(format!("Malformed multipart body: {}", err.body_text()))
    }
}

/// Serves a stored image with its own type, an ETag (answering 304 to a matching
/// `If-None-Match`), and headers that stop browsers from sniffing or running it.
pub fn respond(image: ImageRow, request_headers: &HeaderMap) -> Response {
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
        HeaderValue::from_static("default-src 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG signature and IHDR claiming `width` x `height`; no pixel data follows.
    pub(crate) fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn images_are_typed_by_their_bytes() {
        let png = validate(png_header(64, 32)).unwrap();
        assert_eq!(png.content_type, "image/png");
        assert!(png.etag.starts_with('"') && png.etag.len() == 34);
        let gif = validate(b"GIF89a\x10\x00\x10\x00\x00\x00\x00".to_vec()).unwrap();
        assert_eq!(gif.content_type, "image/gif");
    }

    #[test]
    fn svg_text_and_bombs_are_refused() {
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec();
        assert!(matches!(validate(svg), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            validate(b"hello".to_vec()),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            validate(png_header(65535, 65535)),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            validate(png_header(8000, 8000)),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            validate(png_header(0, 10)),
            Err(ApiError::BadRequest(_))
        ));
        let mut big = png_header(10, 10);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(matches!(validate(big), Err(ApiError::PayloadTooLarge(_))));
    }
}
