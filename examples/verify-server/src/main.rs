//! `citycode-verify-server`: the HTTP verification service. Its configuration is core's
//! `VerifierConfig` with the transport settings beside it, from a TOML file
//! (`--config`), `CITYCODE_…` variables and the command line, in increasing order of
//! precedence; every value spelled as in core's JSON (`config` module).
//!
//! ```sh
//! citycode-verify-server --root-alg ed25519 --root-key HEX --scene metro_gate \
//!     --lists-url https://lists.example.gov/citycode/
//! citycode-verify-server --config /etc/citycode/verify-server.toml
//! ```

use std::sync::Arc;

use citycode::SystemClock;
use citycode_verify_server::config::Args;
use citycode_verify_server::{Limits, serve};
use clap::Parser;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Args::parse().config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let (refresh, listen) = (config.transport.refresh(), config.transport.listen());
    let service = match config.service(Arc::new(SystemClock), Box::new(std::io::stderr())) {
        Ok(service) => service,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let service = Arc::new(service);
    // A failed first load is logged; the service starts not ready and refuses every
    // code until a reload succeeds.
    let first = service.clone();
    let _ = tokio::task::spawn_blocking(move || first.reload()).await;

    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: listen on {listen}: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
    service.log("info", "listening", json!({"address": format!("http://{addr}")}));

    // Reloads: on schedule and on SIGHUP.
    let reloader = service.clone();
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        let mut tick = tokio::time::interval(refresh);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = hup.recv() => reloader.log("info", "SIGHUP: reloading lists", json!({})),
            }
            let s = reloader.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
        }
    });

    let limits = Limits::default();
    let shutdown = async {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    };
    serve(listener, service.clone().router(limits), limits, shutdown).await;
    service.log("info", "stopped", json!({}));
    std::process::ExitCode::SUCCESS
}
