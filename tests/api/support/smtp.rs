//! `SmtpSink`: a small SMTP server on loopback that keeps what it is sent, for tests of boxd's
//! mail. It speaks enough SMTP for lettre over a plain connection (EHLO/HELO, AUTH PLAIN, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT), so boxd reaches it as `smtp://127.0.0.1:<port>?tls=none`.
//! While `down`, it answers every connection `421` and hangs up, as a relay out of service does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Notify};

/// One message as received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message (headers and body), dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl Mail {
    /// The body as a mail client shows it: decoded from quoted-printable when it is so encoded.
    pub fn body(&self) -> String {
        let (_, body) = self.data.split_once("\r\n\r\n").unwrap_or_default();
        let encoding = self.header("Content-Transfer-Encoding").unwrap_or_default();
        if !encoding.eq_ignore_ascii_case("quoted-printable") {
            return body.to_owned();
        }
        let decoded = quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap();
        String::from_utf8(decoded).unwrap()
    }

    /// The first `https://…` link in the body that goes to `page` (e.g. `setupaccount.html`).
    pub fn link(&self, page: &str) -> String {
        let body = self.body();
        body.split_whitespace()
            .find(|word| word.starts_with("https://") && word.contains(page))
            .unwrap_or_else(|| panic!("no link to {page} in {body}"))
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        self.data
            .split("\r\n")
            .take_while(|line| !line.is_empty())
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].to_owned())
    }
}

#[derive(Default)]
struct Shared {
    mails: Mutex<Vec<Mail>>,
    /// The `user:password` of each AUTH PLAIN.
    logins: Mutex<Vec<String>>,
    arrived: Notify,
    down: AtomicBool,
    /// Connections turned away while down.
    refused: std::sync::atomic::AtomicUsize,
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    serving: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let serving = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(session(stream, shared.clone()));
                }
            }
        });
        Self {
            port,
            shared,
            serving,
        }
    }

    /// The `--smtp-url` that reaches this sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The relay of a server's config that reaches this sink.
    pub fn relay(&self) -> Option<boxd::mail::Relay> {
        Some(boxd::mail::Relay::parse(&self.url()).unwrap())
    }

    /// While down, connections are answered `421` and closed.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// How many connections were turned away while down.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    pub async fn mails(&self) -> Vec<Mail> {
        self.shared.mails.lock().await.clone()
    }

    /// The `user:password` of every AUTH PLAIN so far.
    pub async fn logins(&self) -> Vec<String> {
        self.shared.logins.lock().await.clone()
    }

    /// Waits (10 s at most) until `count` messages have arrived; answers them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let waiting = async {
            loop {
                let arrived = self.shared.arrived.notified();
                let mails = self.mails().await;
                if mails.len() >= count {
                    return mails;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| panic!("{count} mails did not arrive within 10 s"))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if shared.down.load(Ordering::SeqCst) {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        let _ = write
            .write_all(b"421 4.3.2 sink: service not available\r\n")
            .await;
        return;
    }
    let reply = async |write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
        write.write_all(format!("{text}\r\n").as_bytes()).await
    };
    if reply(&mut write, "220 sink ESMTP").await.is_err() {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let answer = if command.starts_with("EHLO") {
            "250-sink\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8".to_owned()
        } else if command.starts_with("AUTH PLAIN") {
            let mut response = line.get(11..).unwrap_or_default().trim().to_owned();
            if response.is_empty() {
                if reply(&mut write, "334 ").await.is_err() {
                    return;
                }
                response = lines.next_line().await.ok().flatten().unwrap_or_default();
            }
            shared.logins.lock().await.push(plain_login(&response));
            "235 2.7.0 authenticated".to_owned()
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            "250 ok".to_owned()
        } else if command.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            "250 ok".to_owned()
        } else if command.starts_with("RCPT TO:") {
            to.push(address(&line));
            "250 ok".to_owned()
        } else if command.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            "250 ok".to_owned()
        } else if command.starts_with("DATA") {
            if reply(&mut write, "354 go ahead").await.is_err() {
                return;
            }
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            let mail = Mail {
                from: from.clone(),
                to: to.clone(),
                data,
            };
            shared.mails.lock().await.push(mail);
            shared.arrived.notify_waiters();
            "250 ok: queued".to_owned()
        } else if command.starts_with("QUIT") {
            let _ = reply(&mut write, "221 bye").await;
            return;
        } else {
            "502 not implemented".to_owned()
        };
        if reply(&mut write, &answer).await.is_err() {
            return;
        }
    }
}

/// `user:password` from an AUTH PLAIN response (base64 of `\0user\0password`).
fn plain_login(response: &str) -> String {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&decoded).into_owned();
    let mut parts = text.split('\0').skip(1);
    format!(
        "{}:{}",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    )
}

/// The address of `MAIL FROM:<a@b> …` or `RCPT TO:<a@b>`.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |at| at + 1);
    let end = line[start..].find('>').map_or(line.len(), |at| start + at);
    line[start..end].to_owned()
}
