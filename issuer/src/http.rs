//! The HTTP+JSON API (axum), a thin adapter over [`Issuing`]: every route authenticates,
//! runs the call on the blocking pool (the store and signing block), and answers JSON or,
//! on refusal, `{"error", "error_description", "reason"}` with the error's status
//! (OpenID4VCI §8.3.1, RFC 6750 §3 for tokens: `WWW-Authenticate` on 401). Header reads
//! and requests have deadlines, bodies a size cap; `/openapi.json` documents every route
//! and a test checks it against the running service.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::auth::Role;
use crate::error::Error;
use crate::issuing::Issuing;

/// The OpenAPI document, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Deadlines and caps of the HTTP layer.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A client must send a request's headers within this time.
    pub header_read: Duration,
    /// A whole request must finish within this time (408).
    pub request: Duration,
    /// Largest request body, bytes (413); imports are the largest.
    pub body_bytes: usize,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(5),
            request: Duration::from_secs(30),
            body_bytes: 16 << 20,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What a route answers.
enum Reply {
    Json(Value),
    Pdf(Vec<u8>),
}

fn error_response(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // OpenID4VCI: error_description is printable ASCII without '"' and '\'.
    let description: String = e
        .to_string()
        .chars()
        .map(|c| if (' '..='~').contains(&c) && c != '"' && c != '\\' { c } else { '?' })
        .collect();
    let mut resp =
        (status, Json(json!({"error": e.oauth_error(), "error_description": description, "reason": e.reason()})))
            .into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // RFC 6750 §3: a request without a token gets the bare challenge, no error code.
    let challenge = match e {
        Error::NoToken => Some("Bearer".to_string()),
        _ if status == StatusCode::UNAUTHORIZED => Some(format!("Bearer error=\"{}\"", e.oauth_error())),
        _ => None,
    };
    if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(String::from)
}

/// Runs `f` on the blocking pool; counts and logs a refusal (its reason, never its
/// input).
async fn run(
    s: Arc<Issuing>,
    route: &'static str,
    f: impl FnOnce(&Issuing) -> Result<Reply, Error> + Send + 'static,
) -> Response {
    let task = tokio::task::spawn_blocking(move || {
        let result = f(&s);
        if let Err(e) = &result {
            s.metrics.refused(e.reason());
            let level = if e.status() >= 500 { "error" } else { "info" };
            s.log(level, "refused", json!({"route": route, "reason": e.reason(), "status": e.status()}));
        }
        result
    });
    match task.await {
        Ok(Ok(Reply::Json(v))) => {
            let mut resp = Json(v).into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Ok(Ok(Reply::Pdf(bytes))) => ([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response(),
        Ok(Err(e)) => error_response(&e),
        Err(_) => error_response(&Error::Store("the request's task failed".into())),
    }
}

macro_rules! route {
    ($name:ident, $route:literal, $role:expr, |$s:ident, $caller:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        async fn $name(State(s): State<Arc<Issuing>>, headers: HeaderMap $(, Path($arg): Path<$ty>)*) -> Response {
            let auth = authorization(&headers);
            run(s, $route, move |$s| {
                let $caller = $s.caller(auth.as_deref(), $role)?;
                $body.map(Reply::Json)
            })
            .await
        }
    };
}

route!(nonce, "nonce", Role::Resident, |s, caller| s.nonce(&caller));
route!(me, "me", Role::Resident, |s, caller| s.me(&caller));
route!(revoke_own_device, "revoke_own_device", Role::Resident, |s, caller, device: String| s
    .revoke_own_device(&caller, &device));
route!(end_guardianship, "end_guardianship", Role::Resident, |s, caller, id: i64| s.end_guardianship(&caller, id));
route!(staff_end_guardianship, "staff_end_guardianship", Role::Staff, |s, caller, id: i64| s
    .staff_end_guardianship(&caller, id));
route!(printed, "printed", Role::Staff, |s, caller, reference: String| s.printed(&caller, &reference));
route!(revoke_resident, "revoke_resident", Role::Staff, |s, caller, reference: String| s
    .revoke_resident(&caller, &reference));
route!(revoke_instance, "revoke_instance", Role::Staff, |s, caller, subject: String| s
    .revoke_instance(&caller, &subject));

async fn staff_revoke_device(
    State(s): State<Arc<Issuing>>,
    headers: HeaderMap,
    Path((reference, device)): Path<(String, String)>,
) -> Response {
    let auth = authorization(&headers);
    run(s, "staff_revoke_device", move |s| {
        let caller = s.caller(auth.as_deref(), Role::Staff)?;
        s.staff_revoke_device(&caller, &reference, &device).map(Reply::Json)
    })
    .await
}

macro_rules! body_route {
    ($name:ident, $route:literal, $role:expr, $method:ident) => {
        async fn $name(State(s): State<Arc<Issuing>>, headers: HeaderMap, body: Bytes) -> Response {
            let auth = authorization(&headers);
            run(s, $route, move |s| {
                let caller = s.caller(auth.as_deref(), $role)?;
                s.$method(&caller, &body).map(Reply::Json)
            })
            .await
        }
    };
}

body_route!(credential, "credential", Role::Resident, credential);
body_route!(invite, "invite", Role::Resident, invite);
body_route!(accept, "accept", Role::Resident, accept);
body_route!(staff_guardianship, "staff_guardianship", Role::Staff, staff_guardianship);

async fn import(State(s): State<Arc<Issuing>>, headers: HeaderMap, body: Bytes) -> Response {
    let auth = authorization(&headers);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
    run(s, "import", move |s| {
        let caller = s.caller(auth.as_deref(), Role::Admin)?;
        s.import(&caller, content_type.as_deref(), &body).map(Reply::Json)
    })
    .await
}

async fn publish(State(s): State<Arc<Issuing>>, headers: HeaderMap) -> Response {
    let auth = authorization(&headers);
    run(s, "publish", move |s| {
        s.caller(auth.as_deref(), Role::Admin)?;
        s.publish("on demand").map(Reply::Json)
    })
    .await
}

async fn card(State(s): State<Arc<Issuing>>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let auth = authorization(&headers);
    run(s, "card", move |s| {
        s.caller(auth.as_deref(), Role::Staff)?;
        s.printed_card(id).map(Reply::Pdf)
    })
    .await
}

async fn ready(State(s): State<Arc<Issuing>>) -> Response {
    match tokio::task::spawn_blocking(move || s.readiness()).await {
        Ok(Ok(v)) => {
            let mut body = json!({"ready": true});
            if let (Some(b), Value::Object(m)) = (body.as_object_mut(), v) {
                b.extend(m);
            }
            Json(body).into_response()
        }
        Ok(Err(e)) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"ready": false, "reason": e.reason(), "detail": e.detail()})))
                .into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn metrics(State(s): State<Arc<Issuing>>) -> Response {
    let text = tokio::task::spawn_blocking(move || {
        let now = s.now();
        let mut out = s.metrics.render();
        let live = s.store.live_challenges(now).unwrap_or(-1);
        out.push_str(&format!("# HELP citycode_issuer_challenges Unexpired, unused challenges held.\n# TYPE citycode_issuer_challenges gauge\ncitycode_issuer_challenges {live}\n"));
        if let Ok(Some(p)) = s.store.last_publication() {
            out.push_str(&format!("# HELP citycode_issuer_publication_sequence Sequence of the last publication.\n# TYPE citycode_issuer_publication_sequence gauge\ncitycode_issuer_publication_sequence {}\n", p.sequence));
            out.push_str(&format!("# HELP citycode_issuer_publication_age_seconds Seconds since the last publication.\n# TYPE citycode_issuer_publication_age_seconds gauge\ncitycode_issuer_publication_age_seconds {}\n", now.saturating_sub(p.issued_at)));
        }
        out.push_str("# HELP citycode_issuer_signing_failures_total Signatures a key did not give, by key and code (a token's, or signer).\n# TYPE citycode_issuer_signing_failures_total counter\n");
        for (key, signer) in s.signing_keys() {
            for (code, n) in signer.failures() {
                out.push_str(&format!("citycode_issuer_signing_failures_total{{key=\"{key}\",code=\"{code}\"}} {n}\n"));
            }
        }
        let attestation = s.attestation();
        out.push_str(&format!("# HELP citycode_issuer_attestation_status_list_entries Serials on the attestation revocation status list in force.\n# TYPE citycode_issuer_attestation_status_list_entries gauge\ncitycode_issuer_attestation_status_list_entries {}\n", attestation.status_list_len()));
        if let Some(age) = attestation.status_list_written().and_then(|t| t.elapsed().ok()) {
            out.push_str(&format!("# HELP citycode_issuer_attestation_status_list_age_seconds Seconds since the status list in force was written (refresh it daily).\n# TYPE citycode_issuer_attestation_status_list_age_seconds gauge\ncitycode_issuer_attestation_status_list_age_seconds {}\n", age.as_secs()));
        }
        let ready = u8::from(s.readiness().is_ok());
        out.push_str(&format!("# HELP citycode_issuer_ready Whether the service can issue now.\n# TYPE citycode_issuer_ready gauge\ncitycode_issuer_ready {ready}\n"));
        out
    })
    .await
    .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The credential issuer metadata (OpenID4VCI §12.2): where the endpoints are, the
/// batch size, the proof type and its algorithms, and (OpenID4VCI Appendix D) under a
/// `require` attestation policy, that key attestations are required.
pub fn metadata(public_url: &str, attestation: &citycode_attest::AttestationPolicy) -> Value {
    let base = public_url.trim_end_matches('/');
    let mut proof_type = json!({
        "proof_signing_alg_values_supported": citycode::Algorithm::ALL.iter().map(|a| a.name()).collect::<Vec<_>>()
    });
    if attestation.mode == citycode_attest::AttestationMode::Require
        && let Some(p) = proof_type.as_object_mut()
    {
        p.insert("key_attestations_required".into(), json!({}));
    }
    let configuration = json!({
        "format": "citycode",
        "cryptographic_binding_methods_supported": ["citycode_device_key"],
        "proof_types_supported": { crate::issuing::PROOF_TYPE: proof_type }
    });
    json!({
        "credential_issuer": base,
        "nonce_endpoint": format!("{base}/v1/nonce"),
        "credential_endpoint": format!("{base}/v1/credential"),
        "batch_credential_issuance": {"batch_size": citycode::MAX_BATCH},
        "credential_configurations_supported": {
            crate::issuing::CONFIG_OWN: configuration.clone(),
            crate::issuing::CONFIG_GUARDIAN: configuration,
        }
    })
}

async fn request_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            Json(json!({"error": "temporarily_unavailable", "reason": "timeout", "error_description": "request took too long"})),
        )
            .into_response(),
    }
}

/// The routes (`openapi.json` lists them all).
pub fn router(s: Arc<Issuing>, limits: Limits, public_url: &str) -> Router {
    let meta = metadata(public_url, s.attestation().policy());
    Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .route("/.well-known/openid-credential-issuer", get(move || async move { Json(meta) }))
        .route("/v1/nonce", post(nonce))
        .route("/v1/credential", post(credential))
        .route("/v1/me", get(me))
        .route("/v1/me/devices/{device}/revoke", post(revoke_own_device))
        .route("/v1/guardianships/invitations", post(invite))
        .route("/v1/guardianships", post(accept))
        .route("/v1/guardianships/{id}", delete(end_guardianship))
        .route("/v1/staff/guardianships", post(staff_guardianship))
        .route("/v1/staff/guardianships/{id}", delete(staff_end_guardianship))
        .route("/v1/staff/residents/{ref}/printed", post(printed))
        .route("/v1/staff/printed/{id}/card.pdf", get(card))
        .route("/v1/staff/residents/{ref}/revoke", post(revoke_resident))
        .route("/v1/staff/residents/{ref}/devices/{device}/revoke", post(staff_revoke_device))
        .route("/v1/staff/instances/{subject}/revoke", post(revoke_instance))
        .route("/v1/admin/residents", post(import))
        .route("/v1/admin/publish", post(publish))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(middleware::from_fn_with_state(limits.request, request_deadline))
        .with_state(s)
}

/// Serves `app` on `listener` until `shutdown` resolves: HTTP/1.1 with a deadline on
/// each request's headers, then a graceful drain of in-flight requests for at most
/// `limits.shutdown_grace` (the loop the verify server shares, `citycode_http::serve`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    citycode_http::serve(listener, app, limits.header_read, limits.shutdown_grace, shutdown).await;
}
