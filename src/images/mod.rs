//! Images users upload (avatars, backgrounds, the Cloudron avatar): validated by their content,
//! never by the client's file name or content type. Nothing is decoded: the header tells the
//! format and the size, and the frames of an animation are counted from its structure. What a
//! browser would decode is kept within a budget, so no image can make a dashboard take hundreds
//! of MiB.

mod frames;

use imagesize::ImageType;
use sha2::{Digest, Sha256};

use crate::store;
use crate::store::images::ImageRow;
use crate::users::Accounts;

pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Pixels of one frame (16 megapixels: 64 MiB once decoded).
pub const MAX_FRAME_PIXELS: usize = 16 * 1024 * 1024;
/// Pixels of all the frames of an animation together.
pub const MAX_TOTAL_PIXELS: u64 = 64 * 1024 * 1024;
pub const MAX_FRAMES: u64 = 100;
/// An avatar is shown small; a larger one is only a bigger decode.
pub const MAX_AVATAR_SIDE: usize = 4096;
/// A background fills a screen.
pub const MAX_BACKGROUND_SIDE: usize = 8192;

/// Uploads read at once; each holds up to an image in memory.
pub const UPLOAD_SLOTS: usize = 2;

/// What an image is for: each has its own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Avatar,
    Background,
}

impl ImageKind {
    fn max_side(self) -> usize {
        match self {
            Self::Avatar => MAX_AVATAR_SIDE,
            Self::Background => MAX_BACKGROUND_SIDE,
        }
    }
}

/// The stored name of the Cloudron avatar (branding).
pub const CLOUDRON_AVATAR: &str = "cloudron_avatar";
/// The stored name of the Cloudron background (branding); there is none by default.
pub const CLOUDRON_BACKGROUND: &str = "cloudron_background";
const DEFAULT_CLOUDRON_AVATAR: &[u8] = include_bytes!("../../assets/cloudron-avatar.png");

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
        "The image is {width}x{height} pixels; at most {max_side} per side and {MAX_FRAME_PIXELS} in all"
    )]
    TooManyPixels {
        width: usize,
        height: usize,
        max_side: usize,
    },
    #[error(
        "The animation has {frames} frames of {width}x{height} pixels; at most {MAX_FRAMES} frames and {MAX_TOTAL_PIXELS} pixels in all"
    )]
    TooManyFrames {
        frames: u64,
        width: usize,
        height: usize,
    },
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
    let upload = matches!(avatar, Avatar::Upload(_));
    let kind = match avatar {
        Avatar::Upload(image) => {
            store::images::put(&mut *tx, &name, Some(user_id), image).await?;
            "custom"
        }
        Avatar::Gravatar => "gravatar",
        Avatar::None => "",
    };
    if !upload {
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
        Some(image) => store::images::put(accounts.db, &name, Some(user_id), image).await?,
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
        None => Ok(validate(
            DEFAULT_CLOUDRON_AVATAR.to_vec(),
            ImageKind::Avatar,
        )?),
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
        Some(image) => store::images::put(db, CLOUDRON_BACKGROUND, None, image).await,
        None => store::images::delete(db, CLOUDRON_BACKGROUND).await,
    }
}

/// Checks magic bytes, the header's dimensions and the frame count; nothing is decoded.
pub fn validate(bytes: Vec<u8>, kind: ImageKind) -> Result<ImageRow, ImageError> {
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
    let max_side = kind.max_side();
    if width > max_side || height > max_side || width.saturating_mul(height) > MAX_FRAME_PIXELS {
        return Err(ImageError::TooManyPixels {
            width,
            height,
            max_side,
        });
    }
    let frames = frames::count(&bytes, content_type).ok_or(ImageError::Damaged)?;
    let pixels = u64::try_from(width.saturating_mul(height)).unwrap_or(u64::MAX);
    if frames > MAX_FRAMES || frames.saturating_mul(pixels) > MAX_TOTAL_PIXELS {
        return Err(ImageError::TooManyFrames {
            frames,
            width,
            height,
        });
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
        let png = validate(png_header(64, 32), ImageKind::Avatar).unwrap();
        assert_eq!(png.content_type, "image/png");
        assert!(png.etag.starts_with('"') && png.etag.len() == 34);
        let gif = validate(frames::tests::gif(16, 16, 1), ImageKind::Avatar).unwrap();
        assert_eq!(gif.content_type, "image/gif");
    }

    fn refused(bytes: Vec<u8>, kind: ImageKind) -> ImageError {
        validate(bytes, kind).unwrap_err()
    }

    #[test]
    fn svg_text_and_oversized_images_are_refused() {
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec();
        assert_eq!(refused(svg, ImageKind::Avatar), ImageError::NotAnImage);
        assert_eq!(
            refused(b"hello".to_vec(), ImageKind::Avatar),
            ImageError::NotAnImage
        );
        assert_eq!(
            refused(png_header(0, 10), ImageKind::Avatar),
            ImageError::NoPixels
        );
        let mut big = png_header(10, 10);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert_eq!(refused(big, ImageKind::Avatar), ImageError::TooLarge);
    }

    #[test]
    fn decoded_sizes_have_a_budget() {
        let too_many =
            |bytes, kind| matches!(refused(bytes, kind), ImageError::TooManyPixels { .. });
        assert!(too_many(png_header(65535, 65535), ImageKind::Background));
        assert!(
            too_many(png_header(8000, 5000), ImageKind::Background),
            "40 MP"
        );
        assert!(too_many(png_header(4097, 100), ImageKind::Avatar));
        assert!(validate(png_header(4096, 4096), ImageKind::Avatar).is_ok());
        assert!(validate(png_header(8192, 2048), ImageKind::Background).is_ok());
    }

    #[test]
    fn animations_have_a_budget() {
        let many = frames::tests::gif(16, 16, 1000);
        assert!(matches!(
            refused(many, ImageKind::Avatar),
            ImageError::TooManyFrames { frames: 1000, .. }
        ));
        let large = frames::tests::gif(2048, 2048, 20);
        assert!(matches!(
            refused(large, ImageKind::Background),
            ImageError::TooManyFrames { frames: 20, .. }
        ));
        assert!(validate(frames::tests::gif(256, 256, 100), ImageKind::Avatar).is_ok());
    }
}
