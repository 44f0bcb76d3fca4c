//! Reading LDAP messages off a stream. A message is one BER SEQUENCE; its length is read from
//! the header and a message over the limit is refused before any of its body is read. The body
//! is read as it arrives, so a client announcing a large message holds no memory it did not send.

use bytes::BytesMut;
use ldap3_proto::LdapCodec;
use ldap3_proto::LdapMsg;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::codec::{Decoder, Encoder};

/// The largest message accepted, header excluded.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// BER SEQUENCE, the tag of every LDAPMessage.
const SEQUENCE: u8 = 0x30;
/// A BER header is the tag, a length byte and at most this many length bytes.
const MAX_LENGTH_BYTES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("a message of {0} bytes is over the limit of {MAX_MESSAGE_BYTES}")]
    TooLarge(u64),
    #[error("not an LDAP message")]
    Malformed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The length a BER header announces, from its bytes after the tag: `None` while more bytes
/// are needed, an error for the indefinite form (not allowed in LDAP) or an impossible length.
fn announced_length(header: &[u8]) -> Result<Option<u64>, FrameError> {
    let Some(&first) = header.first() else {
        return Ok(None);
    };
    if first < 0x80 {
        return Ok(Some(u64::from(first)));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > MAX_LENGTH_BYTES {
        return Err(FrameError::Malformed);
    }
    match header.get(1..=count) {
        Some(bytes) => {
            Ok(Some(bytes.iter().fold(0u64, |length, byte| {
                (length << 8) | u64::from(*byte)
            })))
        }
        None => Ok(None),
    }
}

/// Reads one whole message (header and body); `None` at a clean end of the stream.
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<Option<Vec<u8>>, FrameError> {
    let tag = match reader.read_u8().await {
        Ok(tag) => tag,
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    if tag != SEQUENCE {
        return Err(FrameError::Malformed);
    }
    let mut message = vec![tag];
    let length = loop {
        if let Some(length) = announced_length(&message[1..])? {
            break length;
        }
        message.push(reader.read_u8().await?);
    };
    if length > MAX_MESSAGE_BYTES as u64 {
        return Err(FrameError::TooLarge(length));
    }
    let body = (&mut *reader)
        .take(length)
        .read_to_end(&mut message)
        .await?;
    if body as u64 != length {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    Ok(Some(message))
}

fn codec() -> LdapCodec {
    LdapCodec::new(Some(MAX_MESSAGE_BYTES + 1 + 1 + MAX_LENGTH_BYTES), None)
}

/// Decodes one whole message.
pub fn decode(message: &[u8]) -> Result<LdapMsg, FrameError> {
    let mut buffer = BytesMut::from(message);
    match codec().decode(&mut buffer) {
        Ok(Some(msg)) if buffer.is_empty() => Ok(msg),
        _ => Err(FrameError::Malformed),
    }
}

/// Appends the encoding of `msg` to `out`.
pub fn encode(msg: LdapMsg, out: &mut BytesMut) -> Result<(), FrameError> {
    codec().encode(msg, out).map_err(FrameError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3_proto::proto::{LdapBindCred, LdapBindRequest, LdapOp};

    fn bind(password: &str) -> Vec<u8> {
        let msg = LdapMsg {
            msgid: 7,
            op: LdapOp::BindRequest(LdapBindRequest {
                version: 3,
                dn: "cn=admin,ou=system,dc=cloudron".into(),
                cred: LdapBindCred::Simple(password.into()),
            }),
            ctrl: vec![],
        };
        let mut out = BytesMut::new();
        encode(msg, &mut out).unwrap();
        out.to_vec()
    }

    #[tokio::test]
    async fn messages_are_read_one_at_a_time_whatever_their_length_form() {
        let short = bind("x");
        let long = bind(&"p".repeat(300));
        assert_eq!(long[1], 0x82, "a two-byte long-form length");
        let stream = [short.clone(), long.clone()].concat();
        let mut reader = stream.as_slice();

        let first = read_message(&mut reader).await.unwrap().unwrap();
        let second = read_message(&mut reader).await.unwrap().unwrap();

        assert_eq!((first, second.clone()), (short, long));
        assert!(read_message(&mut reader).await.unwrap().is_none());
        assert_eq!(decode(&second).unwrap().msgid, 7);
    }

    #[tokio::test]
    async fn an_oversized_message_is_refused_from_its_header() {
        // The header announces 2 MiB; no body follows, and none is waited for.
        let header = [SEQUENCE, 0x83, 0x20, 0x00, 0x00];
        let mut reader = header.as_slice();
        let err = read_message(&mut reader).await.unwrap_err();
        assert!(matches!(err, FrameError::TooLarge(2_097_152)), "{err}");
        let mut limit = vec![SEQUENCE, 0x83, 0x10, 0x00, 0x00];
        limit.resize(5 + MAX_MESSAGE_BYTES, 0);
        assert!(matches!(
            read_message(&mut limit.as_slice()).await,
            Ok(Some(_))
        ));
        limit[4] = 1;
        assert!(matches!(
            read_message(&mut limit.as_slice()).await,
            Err(FrameError::TooLarge(_))
        ));
    }

    #[tokio::test]
    async fn garbage_is_malformed() {
        for bytes in [
            &[0x04u8, 0x01, 0x00][..],
            &[SEQUENCE, 0x80],
            &[SEQUENCE, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        ] {
            let err = read_message(&mut &bytes[..]).await.unwrap_err();
            assert!(matches!(err, FrameError::Malformed), "{bytes:?}: {err}");
        }
        let truncated = [SEQUENCE, 0x05, 0x02, 0x01];
        assert!(matches!(
            read_message(&mut truncated.as_slice()).await,
            Err(FrameError::Io(_))
        ));
        assert!(decode(&[SEQUENCE, 0x03, 0x02, 0x01, 0x01]).is_err());
        let mut two = bind("a");
        two.extend(bind("b"));
        assert!(decode(&two).is_err(), "one message at a time");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Any header bytes give a length within the limit, "more bytes", or a refusal.
            #[test]
            fn any_header_is_judged_without_panic(header in proptest::collection::vec(any::<u8>(), 0..12)) {
                if let Ok(Some(length)) = announced_length(&header) {
                    prop_assert!(header.first().is_some_and(|first| *first < 0x80) || header.len() > 1, "{:?}", length);
                }
            }

            /// Arbitrary bytes never crash the decoder.
            #[test]
            fn any_message_decodes_or_is_refused(message in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = decode(&message);
            }
        }
    }
}
