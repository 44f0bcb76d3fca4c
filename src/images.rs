//! Images users upload (avatars, backgrounds, the Cloudron avatar): validated by their content,
//! never by the client's file name or content type. Nothing is decoded: the header tells the
//! format and the size.

use imagesize::ImageType;
use sha2::{Digest, Sha256};

use crate::store;
use crate::store::images::ImageRow;
use crate::users::Accounts;

pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Larger images would take hundreds of MiB once a browser decodes them.
pub const MAX_SIDE_PIXELS: usize = 8192;
pub const MAX_PIXELS: usize = 40_000_000;

/// The stored name of the Cloudron avatar (branding).
pub const CLOUDRON_AVATAR: &str = "cloudron_avatar";
/// The stored name of the Cloudron background (branding); there is none by default.
pub const CLOUDRON_BACKGROUND: &str = "cloudron_background";
const DEFAULT_CLOUDRON_AVATAR: &[u8] = include_bytes!("../assets/cloudron-avatar.png");

/// Why an upload is not an image boxd keeps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("The image is larger than {} MiB", MAX_IMAGE_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("The file is not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    #[error("The image header is damaged")]
    Damaged,
    #[error("The image has no pixels")]
    NoPixels,
    #[error(
        "The image is {width}x{height} pixels; at most {MAX_SIDE_PIXELS} per side and {MAX_PIXELS} in all"
    )]
    TooManyPixels { width: usize, height: usize },
}

/// The user's avatar, as stored.
pub fn avatar_name(user_id: &str) -> String {
    format!("avatar/{user_id}")
}

/// The user's dashboard background, as stored.
pub fn background_name(user_id: &str) -> String {
    format!("background/{user_id}")
}

/// A user's choice of avatar.
pub enum Avatar {
    Upload(ImageRow),
    Gravatar,
    None,
}

/// Stores the user's avatar choice (and the image, for an upload) in one transaction.
pub async fn set_avatar(accounts: Accounts<'_>, user_id: &str, avatar: Avatar) -> sqlx::Result<()> {
    let name = avatar_name(user_id);
    let mut tx = store::begin_write(accounts.db).await?;
    let kind = match &avatar {
        Avatar::Upload(image) => {
            store::images::put(&mut *tx, &name, Some(user_id), image).await?;
            "custom"
        }
        Avatar::Gravatar => "gravatar",
        Avatar::None => "",
    };
    if !matches!(avatar, Avatar::Upload(_)) {
        store::images::delete(&mut *tx, &name).await?;
    }
    store::users::set_avatar(&mut *tx, user_id, kind).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(user_id);
    Ok(())
}

/// Stores the user's dashboard background, or removes it (`None`).
pub async fn set_background(
    accounts: Accounts<'_>,
    user_id: &str,
    image: Option<ImageRow>,
) -> sqlx::Result<()> {
    let name = background_name(user_id);
    match image {
        Some(image) => store::images::put(accounts.db, &name, Some(user_id), &image).await?,
        None => store::images::delete(accounts.db, &name).await?,
    }
    // The profile reads whether there is one from the cached user.
    accounts.sessions.invalidate_user(user_id);
    Ok(())
}

/// The Cloudron avatar: the uploaded one, or the built-in default.
pub async fn cloudron_avatar(db: &sqlx::SqlitePool) -> anyhow::Result<ImageRow> {
    match store::images::get(db, CLOUDRON_AVATAR).await? {
        Some(image) => Ok(image),
        None => Ok(validate(DEFAULT_CLOUDRON_AVATAR.to_vec())?),
    }
}

/// The Cloudron background, if one is set.
pub async fn cloudron_background(db: &sqlx::SqlitePool) -> sqlx::Result<Option<ImageRow>> {
    store::images::get(db, CLOUDRON_BACKGROUND).await
}

/// Stores the Cloudron background, or removes it (`None`).
pub async fn set_cloudron_background(
    db: &sqlx::SqlitePool,
    image: Option<ImageRow>,
) -> sqlx::Result<()> {
    match image {
        Some(image) => store::images::put(db, CLOUDRON_BACKGROUND, None, &image).await,
        None => store::images::delete(db, CLOUDRON_BACKGROUND).await,
    }
}

/// Checks magic bytes and the header's dimensions; nothing is decoded.
pub fn validate(bytes: Vec<u8>) -> Result<ImageRow, ImageError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge);
    }
    let content_type = match imagesize::image_type(&bytes) {
        Ok(ImageType::Png) => "image/png",
        Ok(ImageType::Jpeg) => "image/jpeg",
        Ok(ImageType::Gif) => "image/gif",
        Ok(ImageType::Webp) => "image/webp",
        _ => return Err(ImageError::NotAnImage),
    };
    let size = imagesize::blob_size(&bytes).map_err(|_| ImageError::Damaged)?;
    let (width, height) = (size.width, size.height);
    if width == 0 || height == 0 {
        return Err(ImageError::NoPixels);
    }
    if width > MAX_SIDE_PIXELS
        || height > MAX_SIDE_PIXELS
        || width.saturating_mul(height) > MAX_PIXELS
    {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    Ok(ImageRow {
        content_type: content_type.to_owned(),
        etag,
        data: bytes,
    })
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
        assert!(matches!(validate(svg), Err(ImageError::NotAnImage)));
        assert!(matches!(
            validate(b"hello".to_vec()),
            Err(ImageError::NotAnImage)
        ));
        assert!(matches!(
            validate(png_header(65535, 65535)),
            Err(ImageError::TooManyPixels { .. })
        ));
        assert!(matches!(
            validate(png_header(8000, 8000)),
            Err(ImageError::TooManyPixels { .. })
        ));
        assert!(matches!(
            validate(png_header(0, 10)),
            Err(ImageError::NoPixels)
        ));
        let mut big = png_header(10, 10);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(matches!(validate(big), Err(ImageError::TooLarge)));
    }
}
