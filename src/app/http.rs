//! Serving HTTP/1.1 connections with limits a daemon needs without a proxy in front: a cap on
//! connections in total and per client address, a deadline for request headers (which also
//! ends idle keep-alive connections), a minimum rate for request bodies, and `Connection: close`
//! on a response whose request body was never read. At shutdown, idle and half-read connections
//! close at once; requests in flight get a bounded time.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::network::Network;

/// A client gets this long to send a request's headers. hyper starts this clock whenever it
/// waits for a request, so it is also how long an idle keep-alive connection stays open.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request body must keep coming: after this grace, at least [`BODY_MIN_RATE`] on average.
const BODY_GRACE: Duration = Duration::from_secs(10);
/// Bytes per second; a 5 MiB upload may take ten minutes, a stalled one is cut.
const BODY_MIN_RATE: u64 = 8 * 1024;
/// How often the "connection limit reached" warning may repeat.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The caps on open connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub total: usize,
    /// Per client address; trusted proxies (whose connections carry many clients) are exempt.
    pub per_address: usize,
}

/// Serves `app` on `listener` until `shutdown`; then stops accepting, closes idle connections,
/// and waits at most `grace` for requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: super::App,
    network: Arc<Network>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    // Cancelled at shutdown: connections with no request in flight close at once.
    let closing = CancellationToken::new();
    let open = Arc::new(Semaphore::new(limits.total));
    let per_address = PerAddress::new(limits.per_address);
    let mut warned: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, most likely: let some close.
                    tracing::warn!(error = %err, "cannot accept a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = open.clone().try_acquire_owned() else {
            if warned.is_none_or(|at| at.elapsed() > WARN_EVERY) {
                tracing::warn!(
                    "{} connections are open, the limit (--max-connections); new ones are closed",
                    limits.total
                );
                warned = Some(Instant::now());
            }
            continue;
        };
        let exempt = network.is_trusted_proxy(peer.ip());
        let Some(address_slot) = per_address.acquire(peer.ip(), exempt) else {
            tracing::debug!(client.ip = %peer.ip(), "too many connections from {}", peer.ip());
            continue;
        };
        let activity = Arc::new(Activity::default());
        let service = TowerToHyperService::new(per_request(app.clone(), peer, activity.clone()));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let closing = closing.clone();
        tokio::spawn(async move {
            run_connection(connection, &activity, &closing).await;
            drop((slot, address_slot));
        });
    }
    drop(listener);
    closing.cancel();
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish in {grace:?}; closing them");
    }
}

/// Drives a connection to its end; at shutdown, drops it (closing the socket) unless a request
/// is in flight on it (hyper then ends it after that response).
async fn run_connection(connection: impl Future, activity: &Activity, closing: &CancellationToken) {
    tokio::pin!(connection);
    tokio::select! {
        _ = &mut connection => {}
        () = closing.cancelled() => {
            if activity.in_flight.load(Ordering::Acquire) > 0 {
                connection.await;
            }
        }
    }
}

/// Requests in flight on a connection, until their response body is sent.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
}

impl Activity {
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// A request in flight; dropped with its response body.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The service of one connection: the peer address for the extractors, the guarded body, and
/// `Connection: close` when the body was left unread.
fn per_request(
    app: super::App,
    peer: SocketAddr,
    activity: Arc<Activity>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    tower::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let in_flight = activity.begin();
        async move {
            let read = Arc::new(AtomicBool::new(false));
            let mut req = req.map(|body| Body::new(Guarded::new(body, read.clone())));
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut response = app.oneshot(req).await?;
            if !read.load(Ordering::Acquire) {
                // The client may still be sending it: a silent close would surprise it.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| {
                Body::new(Finishing {
                    inner: body,
                    _in_flight: in_flight,
                })
            }))
        }
    })
}

/// Open connections per client address.
#[derive(Clone)]
struct PerAddress {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection of an address; released on drop.
struct AddressSlot {
    ip: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    fn acquire(&self, ip: IpAddr, exempt: bool) -> Option<AddressSlot> {
        if exempt {
            return Some(AddressSlot {
                ip: None,
                open: self.open.clone(),
            });
        }
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            ip: Some(ip),
            open: self.open.clone(),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// A request body that must keep a minimum rate, and that says when it was read to the end.
struct Guarded {
    inner: Incoming,
    read: Arc<AtomicBool>,
    received: u64,
    started: Option<Instant>,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Guarded {
    fn new(inner: Incoming, read: Arc<AtomicBool>) -> Self {
        if inner.is_end_stream() {
            read.store(true, Ordering::Release);
        }
        Self {
            inner,
            read,
            received: 0,
            started: None,
            deadline: None,
        }
    }
}

/// When a body that started at `started` and has brought `received` bytes must bring more.
fn body_deadline(started: Instant, received: u64) -> Instant {
    started + BODY_GRACE + Duration::from_secs(received / BODY_MIN_RATE)
}

/// The body came too slowly.
#[derive(Debug, thiserror::Error)]
#[error("the request body came too slowly")]
struct TooSlow;

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let started = *this.started.get_or_insert_with(Instant::now);
        let due = body_deadline(started, this.received);
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due.into())));
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += u64::try_from(data.len()).unwrap_or(u64::MAX);
                    deadline
                        .as_mut()
                        .reset(body_deadline(started, this.received).into());
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.read.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Pending => match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(TooSlow.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request in flight until it is sent (or dropped).
struct Finishing {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Finishing {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Raises the soft limit of open files to the hard one: each connection is a file.
pub fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(error = %err, "cannot raise the open files limit to {hard}: {err}");
            }
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "cannot read the open files limit: {err}"),
    }
}
