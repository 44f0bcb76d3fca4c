//! The delivery loop: one message at a time, in order; a message the relay refuses for now is
//! tried again with growing waits, and the `mailDelivery` alert tells the admins meanwhile.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{Address, AsyncTransport, Message};
use sqlx::SqlitePool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Email, Relay};
use crate::notifications::{self, MAIL_DELIVERY};

/// The wait before the second try; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(2);
const MAX_WAIT: Duration = Duration::from_secs(600);
/// Tries per message: about 40 minutes of waiting in all.
const TRIES: u32 = 12;
const ALERT_TITLE: &str = "Email cannot be sent";

pub(super) async fn run(
    relay: Relay,
    from: Address,
    db: SqlitePool,
    mut queue: mpsc::Receiver<Email>,
    shutdown: CancellationToken,
) {
    let transport = match relay.transport() {
        Ok(transport) => transport,
        Err(err) => {
            tracing::error!(error = %err, "cannot set up the mail relay {relay}: {err}");
            return;
        }
    };
    let mut delivery = Delivery {
        relay,
        db,
        // An alert an earlier run left raised is cleared by the first delivery.
        alerted: true,
    };
    loop {
        let email = tokio::select! {
            () = shutdown.cancelled() => break,
            next = queue.recv() => match next {
                Some(email) => email,
                None => break,
            },
        };
        let to = email.to.clone();
        let message = match compose(&from, email) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(error = %err, "cannot compose an email to {to}: {err}");
                continue;
            }
        };
        let sending = delivery.send(&transport, &message, &to);
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = sending => {}
        }
    }
    let left = queue.len();
    if left > 0 {
        tracing::warn!("{left} queued emails were not sent: the server is shutting down");
    }
}

fn compose(from: &Address, email: Email) -> Result<Message, lettre::error::Error> {
    Message::builder()
        .from(Mailbox::new(Some(email.sender_name), from.clone()))
        .to(Mailbox::new(None, email.to))
        .subject(email.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(email.body)
}

struct Delivery {
    relay: Relay,
    db: SqlitePool,
    alerted: bool,
}

impl Delivery {
    /// Tries until the relay takes the message, refuses it for good, or the tries run out.
    async fn send(
        &mut self,
        transport: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
        message: &Message,
        to: &Address,
    ) {
        let mut wait = FIRST_WAIT;
        for attempt in 1..=TRIES {
            let err = match transport.send(message.clone()).await {
                Ok(_) => {
                    tracing::info!(mail.to = %to, "email sent to {to}");
                    if self.alerted {
                        self.alert("").await;
                    }
                    return;
                }
                Err(err) => err,
            };
            let relay = self.relay.to_string();
            let alert = format!(
                "boxd could not send an email through the relay {relay}: {err}. It keeps trying \
                 for about 40 minutes; check the relay and --smtp-url."
            );
            self.alert(&alert).await;
            if err.is_permanent() || attempt == TRIES {
                tracing::error!(mail.to = %to, error = %err,
                    "gave up sending an email to {to} through {relay} after {attempt} tries: {err}");
                return;
            }
            tracing::warn!(mail.to = %to, error = %err,
                "sending an email to {to} through {relay} failed (try {attempt}), trying again in {wait:?}: {err}");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }

    /// Raises the alert with `message`, or clears it when `message` is empty.
    async fn alert(&mut self, message: &str) {
        match notifications::alert(&self.db, MAIL_DELIVERY, ALERT_TITLE, message).await {
            Ok(()) => self.alerted = !message.is_empty(),
            Err(err) => tracing::warn!(error = %err, "cannot update the mail alert: {err}"),
        }
    }
}
