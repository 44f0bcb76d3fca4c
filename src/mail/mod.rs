//! Email through the operator's SMTP relay (`--smtp-url`, see [`relay`]). Requests only queue a
//! message ([`Mailer::send`]); a background loop ([`start`]) delivers it, retrying while the
//! relay is down, and raises the `mailDelivery` alert when it cannot. The queue is bounded:
//! beyond [`QUEUE_CAPACITY`] waiting messages, sending is refused rather than piling up.

mod deliver;
pub mod relay;

pub use relay::Relay;

use std::sync::{Arc, Mutex};

use lettre::Address;
use sqlx::SqlitePool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::Invalid;

/// Messages waiting for delivery, the one being retried included.
pub const QUEUE_CAPACITY: usize = 100;

/// Where mail goes out and whom it comes from.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// None: mail cannot be sent, and the routes that send say how to configure a relay.
    pub relay: Option<Relay>,
    /// The sender address (`--mail-from`); the Cloudron name is its display name.
    pub from: Address,
}

impl MailConfig {
    /// `--smtp-url` and `--mail-from` (default `no-reply@<domain>`), validated.
    pub fn new(smtp_url: Option<&str>, from: Option<&str>, domain: &str) -> Result<Self, Invalid> {
        let relay = smtp_url
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(Relay::parse)
            .transpose()?;
        let from = match from.map(str::trim).filter(|from| !from.is_empty()) {
            Some(from) => from.parse(),
            None => format!("no-reply@{domain}").parse(),
        }
        .map_err(|_| {
            Invalid::new("--mail-from must be an email address such as no-reply@example.com")
        })?;
        Ok(Self { relay, from })
    }
}

/// One message to send, plain text.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: Address,
    /// The display name of the sender (the Cloudron name).
    pub sender_name: String,
    pub subject: String,
    pub body: String,
}

/// Why a message was not queued.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(
        "No mail relay is configured: start boxd with --smtp-url (BOXD_SMTP_URL), \
         e.g. smtps://user:password@smtp.example.com:465"
    )]
    NotConfigured,
    #[error("Too many emails are waiting to be sent; try again in a minute")]
    Busy,
}

/// The queue of outgoing mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    config: MailConfig,
    queue: mpsc::Sender<Email>,
    /// Taken by [`start`].
    waiting: Mutex<Option<mpsc::Receiver<Email>>>,
}

impl Mailer {
    pub fn new(config: MailConfig) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                config,
                queue,
                waiting: Mutex::new(Some(waiting)),
            }),
        }
    }

    /// Refuses when no relay is configured: check before making what a message would carry.
    pub fn ensure_configured(&self) -> Result<(), MailError> {
        match self.inner.config.relay {
            Some(_) => Ok(()),
            None => Err(MailError::NotConfigured),
        }
    }

    /// Queues `email`; it goes out in the background.
    pub fn send(&self, email: Email) -> Result<(), MailError> {
        self.ensure_configured()?;
        self.inner
            .queue
            .try_send(email)
            .map_err(|_| MailError::Busy)
    }
}

/// Starts delivering what is queued, until `shutdown`; nothing without a relay.
pub fn start(
    mailer: &Mailer,
    db: SqlitePool,
    shutdown: CancellationToken,
) -> Option<JoinHandle<()>> {
    let relay = mailer.inner.config.relay.clone()?;
    let queue = mailer
        .inner
        .waiting
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()?;
    let from = mailer.inner.config.from.clone();
    Some(tokio::spawn(deliver::run(relay, from, db, queue, shutdown)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_defaults_to_no_reply_at_the_domain() {
        let config = MailConfig::new(None, None, "my.example.com").unwrap();
        assert_eq!(config.from.to_string(), "no-reply@my.example.com");
        assert!(config.relay.is_none());
        assert!(MailConfig::new(None, Some("not an address"), "x").is_err());
        assert!(MailConfig::new(Some("smtp://x?tls=none"), None, "x").is_err());
    }

    #[test]
    fn without_a_relay_nothing_is_queued() {
        let mailer = Mailer::new(MailConfig::new(None, None, "example.com").unwrap());
        let email = Email {
            to: "bob@example.com".parse().unwrap(),
            sender_name: "Cloudron".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        assert!(matches!(mailer.send(email), Err(MailError::NotConfigured)));
    }

    #[test]
    fn a_full_queue_refuses_more() {
        let config = MailConfig::new(Some("smtp://127.0.0.1:9?tls=none"), None, "x").unwrap();
        let mailer = Mailer::new(config);
        let email = Email {
            to: "bob@example.com".parse().unwrap(),
            sender_name: "Cloudron".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        for _ in 0..QUEUE_CAPACITY {
            mailer.send(email.clone()).unwrap();
        }
        assert!(matches!(mailer.send(email), Err(MailError::Busy)));
    }
}
