//! The HTTP/1.1 serve loop of citycode's services (the verify server and the issuing
//! service): one task per connection, a deadline on each request's headers, and on
//! shutdown a graceful drain of in-flight requests bounded in time.
//!
//! What a service answers, and in what error shape, stays the service's own (its
//! router and its request-deadline middleware); this crate only runs connections.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish for at most `shutdown_grace`, and returns.
///
/// Each connection is HTTP/1.1; a client that has not sent a request's headers within
/// `header_read` of the connection (or of the previous response, on a kept-alive
/// connection) is disconnected, so a slow client cannot hold a task forever. During the
/// drain a connection finishes the request it is serving and then closes; an idle one
/// closes at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    header_read: Duration,
    shutdown_grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_read)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(shutdown_grace, async { while connections.join_next().await.is_some() {} }).await;
}
