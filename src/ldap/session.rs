//! One connection: messages are read one at a time and answered in order. The connection ends
//! on unbind, on a malformed or oversized message, after the idle timeout, when the directory
//! server is disabled or the peer leaves the allowlist, and at shutdown.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ldap3_proto::proto::{LdapBindResponse, LdapExtendedResponse, LdapOp, LdapResult, OID_WHOAMI};
use ldap3_proto::{DisconnectionNotice, LdapMsg, LdapResultCode};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::time::timeout;

use super::bind::{Binder, Bound};
use super::frame::{self, FrameError};
use super::{Context, admitted, search};
use crate::auth::secrets;
use crate::settings::DirectoryServerConfig;

/// Why a connection closes, told in a Notice of Disconnection; `None` closes without one.
type Notice = Option<(LdapResultCode, &'static str)>;

/// What ends the wait for the next message.
enum Next {
    Message(Vec<u8>),
    Close(Notice),
}

/// How long closing (a TLS close_notify) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn serve<S: AsyncRead + AsyncWrite>(stream: S, ip: IpAddr, ctx: Arc<Context>) {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    let mut config = ctx.config.clone();
    // The setting may have changed since the connection was accepted.
    if !admitted(&config.borrow_and_update(), ip) {
        return;
    }
    let mut session = Session {
        ip,
        ctx,
        config,
        bound: Bound::Anonymous,
    };
    let notice = loop {
        match session.next(&mut reader).await {
            Next::Message(bytes) => match frame::decode(&bytes) {
                Ok(message) => match session.answer(message).await {
                    Ok(replies) => {
                        if session.send(&mut writer, replies).await.is_err() {
                            return;
                        }
                    }
                    Err(notice) => break notice,
                },
                Err(_) => {
                    tracing::warn!(client.ip = %ip, "malformed LDAP message from {ip}; closing");
                    break Some((LdapResultCode::ProtocolError, "Malformed message"));
                }
            },
            Next::Close(notice) => break notice,
        }
    };
    if let Some((code, text)) = notice {
        let notice = DisconnectionNotice::gen_response(code, text);
        let _ = session.send(&mut writer, vec![notice]).await;
    }
    let _ = timeout(CLOSE_TIMEOUT, writer.shutdown()).await;
}

struct Session {
    ip: IpAddr,
    ctx: Arc<Context>,
    /// Changes of the setting, as this connection has seen them.
    config: watch::Receiver<DirectoryServerConfig>,
    bound: Bound,
}

impl Session {
    async fn next<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> Next {
        let ip = self.ip;
        let read = timeout(self.ctx.limits.idle_timeout, frame::read_message(reader));
        tokio::pin!(read);
        loop {
            // Biased: a change of the setting is seen before a message that arrived after it.
            tokio::select! {
                biased;
                () = self.ctx.shutdown.cancelled() => {
                    return Next::Close(Some((LdapResultCode::Unavailable, "The server is shutting down")));
                }
                changed = self.config.changed() => {
                    if changed.is_err() || !admitted(&self.config.borrow_and_update(), ip) {
                        tracing::info!(client.ip = %ip, "LDAP connection from {ip} closed: the directory server is off or the address is no longer allowed");
                        return Next::Close(Some((LdapResultCode::Unavailable, "The directory server is not available")));
                    }
                }
                read = &mut read => return match read {
                    Err(_) => {
                        tracing::debug!(client.ip = %ip, "idle LDAP connection from {ip} closed");
                        Next::Close(None)
                    }
                    Ok(Ok(Some(message))) => Next::Message(message),
                    Ok(Ok(None)) | Ok(Err(FrameError::Io(_))) => Next::Close(None),
                    Ok(Err(FrameError::TooLarge(size))) => {
                        tracing::warn!(client.ip = %ip, "LDAP message of {size} bytes from {ip} refused; closing");
                        Next::Close(Some((LdapResultCode::ProtocolError, "Message too large")))
                    }
                    Ok(Err(FrameError::Malformed)) => {
                        tracing::warn!(client.ip = %ip, "malformed LDAP message from {ip}; closing");
                        Next::Close(Some((LdapResultCode::ProtocolError, "Malformed message")))
                    }
                },
            }
        }
    }

    /// The replies to one message, or why the connection closes instead.
    async fn answer(&mut self, message: LdapMsg) -> Result<Vec<LdapMsg>, Notice> {
        let id = message.msgid;
        let reply = |op: LdapOp| {
            Ok(vec![LdapMsg {
                msgid: id,
                op,
                ctrl: Vec::new(),
            }])
        };
        let read_only = || {
            result(
                LdapResultCode::UnwillingToPerform,
                "The directory is read-only",
            )
        };
        match message.op {
            LdapOp::BindRequest(request) => {
                let secret = self.config.borrow().secret.clone();
                let binder = Binder {
                    db: &self.ctx.db,
                    throttle: &self.ctx.throttle,
                    external: &self.ctx.external,
                    ip: self.ip,
                    secret: &secret,
                };
                let outcome = binder.bind(request).await;
                self.bound = outcome.bound;
                reply(LdapOp::BindResponse(LdapBindResponse {
                    res: result(outcome.code, &outcome.message),
                    saslcreds: None,
                }))
            }
            LdapOp::SearchRequest(request) => {
                if self.is_admin() {
                    Ok(search::search(&self.ctx.db, id, &request, &message.ctrl).await)
                } else {
                    let code = LdapResultCode::InsufficentAccessRights;
                    let text = "Searching needs the directory server's bind DN";
                    Ok(vec![search::refused(id, code, text)])
                }
            }
            LdapOp::UnbindRequest => Err(None),
            LdapOp::AbandonRequest(_) => Ok(Vec::new()),
            LdapOp::ExtendedRequest(request) if request.name == OID_WHOAMI => {
                reply(LdapOp::ExtendedResponse(LdapExtendedResponse {
                    res: result(LdapResultCode::Success, ""),
                    name: None,
                    value: Some(self.bound.authz_id().into_bytes()),
                }))
            }
            // RFC 4511 §4.12: an unknown request name is a protocolError. StartTLS is one: use LDAPS.
            LdapOp::ExtendedRequest(_) => reply(LdapOp::ExtendedResponse(LdapExtendedResponse {
                res: result(
                    LdapResultCode::ProtocolError,
                    "Unsupported extended operation",
                ),
                name: None,
                value: None,
            })),
            LdapOp::AddRequest(_) => reply(LdapOp::AddResponse(read_only())),
            LdapOp::ModifyRequest(_) => reply(LdapOp::ModifyResponse(read_only())),
            LdapOp::DelRequest(_) => reply(LdapOp::DelResponse(read_only())),
            LdapOp::ModifyDNRequest(_) => reply(LdapOp::ModifyDNResponse(read_only())),
            LdapOp::CompareRequest(_) => reply(LdapOp::CompareResult(result(
                LdapResultCode::UnwillingToPerform,
                "Compare is not supported",
            ))),
            _ => {
                let ip = self.ip;
                tracing::warn!(client.ip = %ip, "LDAP client {ip} sent a server's message; closing");
                Err(Some((LdapResultCode::ProtocolError, "Unexpected message")))
            }
        }
    }

    /// Bound as the admin DN with the secret that is current now.
    fn is_admin(&self) -> bool {
        let current = secrets::token_hash(&self.config.borrow().secret);
        matches!(&self.bound, Bound::Admin { secret } if secrets::hashes_equal(secret, &current))
    }

    async fn send<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        replies: Vec<LdapMsg>,
    ) -> Result<(), FrameError> {
        let mut out = BytesMut::new();
        for reply in replies {
            frame::encode(reply, &mut out)?;
        }
        // A client that does not read its answers is cut like an idle one.
        timeout(self.ctx.limits.idle_timeout, writer.write_all(&out))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        Ok(())
    }
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_owned(),
        referral: Vec::new(),
    }
}
