//! The SMTP relay of `--smtp-url`: `smtp://` with STARTTLS required, `smtps://` with implicit
//! TLS, or `smtp://…?tls=none` in the clear, only to a relay on this host. The password is never
//! shown: not by `Debug`, not in messages.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::error::Invalid;

/// How long one SMTP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain connection upgraded with STARTTLS; refused if the relay cannot.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp://…?tls=none`: no TLS (a relay on this host only).
    None,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub security: Security,
    username: Option<String>,
    password: Option<String>,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

impl fmt::Display for Relay {
    /// `host:port (STARTTLS)`, for messages: no credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let security = match self.security {
            Security::StartTls => "STARTTLS",
            Security::Tls => "TLS",
            Security::None => "no TLS",
        };
        write!(f, "{}:{} ({security})", self.host, self.port)
    }
}

fn invalid(message: &str) -> Invalid {
    Invalid::new(format!("--smtp-url: {message}"))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Relay {
    /// Parses `--smtp-url`. Errors never repeat the URL, which may hold the password.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let url = url::Url::parse(text.trim())
            .map_err(|_| invalid("not a URL such as smtp://user:password@host:587"))?;
        let mut security = match url.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::Tls,
            _ => return Err(invalid("the scheme must be smtp or smtps")),
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "none", Security::StartTls) => security = Security::None,
                ("tls", "required", Security::StartTls) => {}
                _ => {
                    return Err(invalid(
                        "the only query accepted is tls=none (smtp:// only)",
                    ));
                }
            }
        }
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| invalid("the relay host is missing"))?
            .to_owned();
        if security == Security::None && !is_loopback(&host) {
            return Err(invalid(
                "tls=none is only allowed for a relay on this host (127.0.0.1, ::1 or localhost)",
            ));
        }
        let decode = |part: &str| {
            percent_decode(part).ok_or_else(|| invalid("the user or password is not valid UTF-8"))
        };
        let username = Some(decode(url.username())?).filter(|user| !user.is_empty());
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && username.is_none() {
            return Err(invalid("a password needs a user name"));
        }
        let port = url.port().unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls | Security::None => 587,
        });
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            security,
            username,
            password,
        })
    }

    /// The transport that delivers through this relay.
    pub fn transport(
        &self,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
        let builder = match self.security {
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)?,
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)?,
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
        };
        let mut builder = builder.port(self.port).timeout(Some(COMMAND_TIMEOUT));
        if let Some(username) = &self.username {
            let password = self.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(builder.build())
    }
}

fn percent_decode(part: &str) -> Option<String> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_protection_and_default_port() {
        let starttls = Relay::parse("smtp://mail.example.com").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (Security::StartTls, 587)
        );
        let tls = Relay::parse("smtps://mail.example.com").unwrap();
        assert_eq!((tls.security, tls.port), (Security::Tls, 465));
        let local = Relay::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((local.security, local.port), (Security::None, 2525));
        assert_eq!(
            Relay::parse("smtp://[::1]:25?tls=none").unwrap().host,
            "::1"
        );
        assert!(Relay::parse("smtp://localhost?tls=none").is_ok());
    }

    #[test]
    fn no_tls_is_refused_for_a_remote_relay() {
        for bad in [
            "smtp://mail.example.com?tls=none",
            "smtp://10.0.0.1:25?tls=none",
            "smtps://127.0.0.1?tls=none",
            "smtp://mail.example.com?tls=opportunistic",
            "http://mail.example.com",
            "smtp://",
            "not a url",
        ] {
            assert!(Relay::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_kind_of_relay_gets_a_transport() {
        for url in [
            "smtp://user:pw@mail.example.com",
            "smtps://mail.example.com:2465",
            "smtp://127.0.0.1:25?tls=none",
        ] {
            assert!(Relay::parse(url).unwrap().transport().is_ok(), "{url}");
        }
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let relay =
            Relay::parse("smtp://me%40example.com:s3cr%2Ft+x@mail.example.com:587").unwrap();
        assert_eq!(relay.username.as_deref(), Some("me@example.com"));
        assert_eq!(relay.password.as_deref(), Some("s3cr/t+x"));
        let shown = format!("{relay:?} {relay}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(relay.to_string(), "mail.example.com:587 (STARTTLS)");
        let err = Relay::parse("smtp://me:hunter2@mail.example.com?tls=none").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
