//! The serve loop on loopback: the header-read deadline, the graceful drain and its bound.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use citycode_http::serve;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// `serve` on a port the OS picks; dropping or sending on the sender shuts it down.
async fn start(
    app: Router,
    header_read: Duration,
    grace: Duration,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, header_read, grace, async {
        let _ = rx.await;
    }));
    (addr, tx, server)
}

/// Sends `request` and reads until the server closes the connection (or resets it).
async fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

const CLOSE: &str = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn a_client_slow_to_send_its_headers_is_disconnected_at_the_deadline() {
    let app = Router::new().route("/", get(|| async { "ok" }));
    let (addr, _stop, _server) = start(app, Duration::from_millis(300), Duration::from_secs(1)).await;

    // A whole request is answered.
    let answer = exchange(addr, CLOSE).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer}");

    // Half the headers, then nothing: the server hangs up at its deadline (hyper's own
    // default would wait 30 s), without answering the partial request.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let connected = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a slow client still held its connection after 10 s");
    assert!(connected.elapsed() >= Duration::from_millis(200), "closed before the deadline: {:?}", connected.elapsed());
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "the partial request was answered");

    // The server goes on serving others.
    assert!(exchange(addr, CLOSE).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_then_stops_accepting() {
    let started = Arc::new(Notify::new());
    let app = Router::new().route(
        "/slow",
        get({
            let started = started.clone();
            move || async move {
                started.notify_one();
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }
        }),
    );
    let (addr, stop, server) = start(app, Duration::from_secs(5), Duration::from_secs(10)).await;
    // Kept alive (no `Connection: close`): the answer ends only when the drain closes it.
    let client = tokio::spawn(exchange(addr, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
    started.notified().await;
    stop.send(()).unwrap();

    let answer = tokio::time::timeout(Duration::from_secs(10), client).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"), "in-flight request cut off: {answer:?}");
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting after shutdown");
}

#[tokio::test]
async fn the_drain_ends_at_the_grace_period() {
    let started = Arc::new(Notify::new());
    let app = Router::new().route(
        "/stuck",
        get({
            let started = started.clone();
            move || async move {
                started.notify_one();
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }
        }),
    );
    let (addr, stop, server) = start(app, Duration::from_secs(5), Duration::from_millis(300)).await;
    let client = tokio::spawn(exchange(addr, "GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n"));
    started.notified().await;
    let stopping = Instant::now();
    stop.send(()).unwrap();

    tokio::time::timeout(Duration::from_secs(10), server).await.expect("serve outlived its grace period").unwrap();
    assert!(stopping.elapsed() >= Duration::from_millis(250), "returned before the grace period");
    let answer = tokio::time::timeout(Duration::from_secs(10), client).await.unwrap().unwrap();
    assert!(!answer.contains("never"), "{answer}");
}
