//! Counting the frames of animated images without decoding them: GIF image descriptors, WebP
//! `ANMF` chunks, APNG's `acTL`. Every read is bounds-checked. A file cut short counts the
//! frames it has (browsers show those); one with an unknown GIF block is damaged.

/// The number of frames, or `None` when the structure is damaged.
pub fn count(bytes: &[u8], content_type: &str) -> Option<u64> {
    match content_type {
        "image/gif" => gif_frames(bytes),
        "image/webp" => webp_frames(bytes),
        "image/png" => png_frames(bytes),
        _ => Some(1),
    }
}

/// GIF: after the header and the global color table, blocks until the trailer: extensions
/// (`!`) and images (`,`), each followed by data sub-blocks.
fn gif_frames(bytes: &[u8]) -> Option<u64> {
    let Some(&flags) = bytes.get(10) else {
        return Some(1);
    };
    let mut at = 13 + color_table_len(flags);
    let mut frames = 0u64;
    loop {
        let Some(&block) = bytes.get(at) else {
            return Some(frames.max(1));
        };
        let next = match block {
            b';' => return Some(frames.max(1)),
            b'!' => skip_sub_blocks(bytes, at + 2),
            b',' => {
                frames += 1;
                let Some(&flags) = bytes.get(at + 9) else {
                    return Some(frames);
                };
                // The descriptor, the local color table, the LZW code size, then the data.
                skip_sub_blocks(bytes, at + 10 + color_table_len(flags) + 1)
            }
            _ => return None,
        };
        match next {
            Some(next) => at = next,
            None => return Some(frames.max(1)),
        }
    }
}

fn color_table_len(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 0x07) + 1)
    }
}

/// The offset after a run of sub-blocks (each a length byte and its bytes; 0 ends the run).
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = usize::from(*bytes.get(at)?);
        at += 1;
        if len == 0 {
            return Some(at);
        }
        at += len;
        if at > bytes.len() {
            return None;
        }
    }
}

/// WebP: a RIFF file of chunks; an animation has one `ANMF` chunk per frame.
fn webp_frames(bytes: &[u8]) -> Option<u64> {
    let mut at = 12;
    let mut frames = 0u64;
    let mut animated = false;
    while at < bytes.len() {
        let fourcc = bytes.get(at..at + 4)?;
        let size = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?);
        let size = usize::try_from(size).ok()?;
        match fourcc {
            b"ANMF" => frames += 1,
            b"ANIM" => animated = true,
            _ => {}
        }
        // Chunks are padded to an even size.
        at = at
            .checked_add(8)?
            .checked_add(size)?
            .checked_add(size % 2)?;
    }
    Some(if animated { frames } else { frames.max(1) })
}

/// PNG: an APNG names its frame count in `acTL`, before the image data.
fn png_frames(bytes: &[u8]) -> Option<u64> {
    let mut at = 8;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        let kind = bytes.get(at + 4..at + 8)?;
        match kind {
            b"acTL" => {
                let frames = bytes.get(at + 8..at + 12)?;
                return Some(u32::from_be_bytes(frames.try_into().ok()?).into());
            }
            b"IDAT" | b"IEND" => return Some(1),
            _ => {}
        }
        at = at
            .checked_add(12)?
            .checked_add(usize::try_from(len).ok()?)?;
    }
    Some(1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A GIF of `frames` 1x1 frames, `width` x `height` on screen.
    pub(crate) fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&width.to_le_bytes());
        gif.extend_from_slice(&height.to_le_bytes());
        gif.extend_from_slice(&[0x80, 0, 0]);
        gif.extend_from_slice(&[0; 6]);
        // A looping animation: the NETSCAPE2.0 application extension.
        gif.extend_from_slice(b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00");
        for _ in 0..frames {
            gif.extend_from_slice(b"!\xf9\x04\x00\x0a\x00\x00\x00");
            gif.extend_from_slice(b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00");
        }
        gif.push(b';');
        gif
    }

    #[test]
    fn gif_frames_are_counted() {
        assert_eq!(count(&gif(10, 10, 1), "image/gif"), Some(1));
        assert_eq!(count(&gif(10, 10, 250), "image/gif"), Some(250));
        let mut cut = gif(10, 10, 3);
        cut.truncate(cut.len() - 5);
        assert_eq!(
            count(&cut, "image/gif"),
            Some(3),
            "cut short: the frames it has"
        );
        let mut garbage = gif(10, 10, 1);
        garbage.insert(garbage.len() - 1, b'x');
        assert_eq!(count(&garbage, "image/gif"), None);
    }

    #[test]
    fn webp_and_apng_frames_are_counted() {
        let mut webp =
            b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x02\0\0\0\0\0\0\0\0\0ANIM\x06\0\0\0\0\0\0\0\0\0"
                .to_vec();
        for _ in 0..7 {
            webp.extend_from_slice(b"ANMF\x01\0\0\0\0\0");
        }
        assert_eq!(count(&webp, "image/webp"), Some(7));
        let mut apng = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        apng.extend_from_slice(&[0; 17]);
        apng.extend_from_slice(b"\0\0\0\x08acTL\0\0\x03\xe8\0\0\0\0");
        assert_eq!(count(&apng, "image/png"), Some(1000));
    }

    #[test]
    fn garbage_never_panics() {
        for bytes in [
            &b""[..],
            b"GIF89a",
            b"RIFF\0\0\0\0WEBPANMF",
            b"\x89PNG\r\n\x1a\n\xff\xff\xff\xff",
        ] {
            for kind in ["image/gif", "image/webp", "image/png"] {
                let _ = count(bytes, kind);
            }
        }
    }
}
