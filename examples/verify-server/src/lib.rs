//! An HTTP verification service: `POST /verify` and `POST /verify/batch`, JSON in and
//! out, on one shared [`citycode::Verifier`] (batch verification, credential cache, and
//! an in-memory or Redis replay store).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use citycode::{Accepted, Rejection, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most codes in one batch request.
pub const MAX_BATCH: usize = 1024;

/// `POST /verify` body.
#[derive(Deserialize)]
pub struct VerifyRequest {
    /// The scanned text.
    pub text: String,
    /// Verification time (Unix seconds); default now. For replaying logs and tests.
    pub now: Option<u64>,
}

/// `POST /verify/batch` body.
#[derive(Deserialize)]
pub struct BatchRequest {
    /// The scanned texts.
    pub texts: Vec<String>,
    /// Verification time (Unix seconds); default now.
    pub now: Option<u64>,
}

fn now() -> u64 {
    use citycode::Clock as _;
    citycode::SystemClock.now()
}

fn decision(r: &Result<Accepted, Rejection>) -> Value {
    match r {
        Ok(a) => json!({"decision": "accept", "policy": a.policy, "claims": a.claims, "subject": a.subject.to_hex(),
                        "issued_at": a.issued_at, "issuers": a.issuers}),
        Err(e) => json!({"decision": "reject", "reason": e.reason.code(), "detail": e.detail}),
    }
}

async fn verify(State(v): State<Arc<Verifier>>, Json(req): Json<VerifyRequest>) -> Json<Value> {
    let result = tokio::task::spawn_blocking(move || decision(&v.verify_at(&req.text, req.now.unwrap_or_else(now))))
        .await
        .unwrap_or_else(|_| json!({"decision": "reject", "reason": "internal", "detail": "verification task failed"}));
    Json(result)
}

async fn verify_batch(State(v): State<Arc<Verifier>>, Json(req): Json<BatchRequest>) -> (StatusCode, Json<Value>) {
    if req.texts.len() > MAX_BATCH {
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({"error": format!("at most {MAX_BATCH} codes per batch")})));
    }
    let results = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = req.texts.iter().map(String::as_str).collect();
        v.verify_batch_at(&refs, req.now.unwrap_or_else(now)).iter().map(decision).collect::<Vec<_>>()
    })
    .await;
    match results {
        Ok(results) => (StatusCode::OK, Json(json!({"results": results}))),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "verification task failed"}))),
    }
}

/// The routes: `GET /health`, `POST /verify`, `POST /verify/batch`.
pub fn router(verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/verify", post(verify))
        .route("/verify/batch", post(verify_batch))
        .with_state(verifier)
}
