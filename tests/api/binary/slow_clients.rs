//! Slow clients cannot hold the server: connections that never finish their request headers
//! are closed at the header deadline, the server keeps answering meanwhile, and a shutdown does
//! not wait for them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{Served, client};

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Raises this test process's own soft limit of open files: it holds a thousand sockets.
fn allow_many_sockets() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
}

/// A connection from `from` (a loopback address other than the legitimate client's) that
/// sends half a request and stops.
async fn half_a_request(addr: SocketAddr, from: [u8; 4]) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let mut socket = socket.connect(addr).await.unwrap().into_std().unwrap();
    socket.set_nonblocking(false).unwrap();
    socket
        .write_all(b"GET /api/v1/cloudron/status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    socket
}

/// Whether the server closed (or reset) the connection.
fn is_closed(socket: &TcpStream) -> bool {
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut byte = [0u8; 1];
    match (&*socket).read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(err) => !matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[tokio::test]
async fn a_thousand_half_sent_requests_are_cut_at_the_header_deadline() {
    allow_many_sockets();
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let addr: SocketAddr = served.base.trim_start_matches("http://").parse().unwrap();
    let status = served.url("/api/v1/cloudron/status");
    assert_eq!(
        client().get(&status).send().await.unwrap().status(),
        StatusCode::OK
    );
    let baseline = open_files(served.pid());

    let mut sockets = Vec::new();
    for _ in 0..1000 {
        sockets.push(half_a_request(addr, [127, 0, 0, 3]).await);
    }
    // The deadline runs from each connection's start: 10 s, and 2 s of slack past the last one.
    let opened = Instant::now();
    let mut slowest = Duration::ZERO;
    while opened.elapsed() < Duration::from_secs(12) {
        let asked = Instant::now();
        let answer = client().get(&status).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let open = sockets.iter().filter(|s| !is_closed(s)).count();
    assert_eq!(open, 0, "{open} half-sent requests still open after 12 s");
    assert!(slowest < Duration::from_secs(1), "status took {slowest:?}");
    drop(sockets);
    let settled = Instant::now();
    while open_files(served.pid()) > baseline {
        assert!(
            settled.elapsed() < Duration::from_secs(5),
            "{} open files, {baseline} before",
            open_files(served.pid())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_shutdown_does_not_wait_for_half_sent_requests() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let addr: SocketAddr = served.base.trim_start_matches("http://").parse().unwrap();
    let mut sockets = Vec::new();
    for _ in 0..50 {
        sockets.push(half_a_request(addr, [127, 0, 0, 4]).await);
    }

    let (status, took, _) = served.terminate();

    assert!(status.success());
    assert!(took < Duration::from_secs(2), "the shutdown took {took:?}");
}
