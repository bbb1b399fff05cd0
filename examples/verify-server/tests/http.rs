//! The service on loopback, driven by a real HTTP client (ureq).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;

use citycode::demo::{self, DemoCity};
use citycode::{PresentOptions, Scene, Verifier, present};
use serde_json::{Value, json};

fn serve(city: &DemoCity) -> String {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    v.load_trust_list(&city.trust_list).unwrap();
    let app = citycode_verify_server::router(Arc::new(v));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

fn post(url: &str, body: Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut resp = agent.post(url).send_json(body).unwrap();
    (resp.status().as_u16(), resp.body_mut().read_json().unwrap())
}

#[test]
fn verify_and_batch_over_http() {
    let city = DemoCity::new().unwrap();
    let base = serve(&city);
    let health = ureq::get(&format!("{base}/health")).call().unwrap().body_mut().read_to_string().unwrap();
    assert_eq!(health, "ok");

    let code = |n: u8| {
        let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 0, 0, 0]) };
        present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
    };
    let (status, one) = post(&format!("{base}/verify"), json!({"text": code(1), "now": demo::NOW}));
    assert_eq!(status, 200);
    assert_eq!(one["decision"], "accept");
    assert_eq!(one["claims"]["transit"]["fare_class"], "senior_free");
    let (_, again) = post(&format!("{base}/verify"), json!({"text": code(1), "now": demo::NOW + 1}));
    assert_eq!(again["reason"], "replayed");
    let (_, junk) = post(&format!("{base}/verify"), json!({"text": "HC1:xyz", "now": demo::NOW}));
    assert_eq!(junk["reason"], "text_prefix");

    let texts = vec![code(2), code(3), "CC1:123".to_string(), code(2)];
    let (status, batch) = post(&format!("{base}/verify/batch"), json!({"texts": texts, "now": demo::NOW}));
    assert_eq!(status, 200);
    let reasons: Vec<Value> = batch["results"].as_array().unwrap().iter().map(|r| r.get("reason").cloned().unwrap_or(r["decision"].clone())).collect();
    assert_eq!(reasons, vec![json!("accept"), json!("accept"), json!("unsupported_version"), json!("replayed")]);

    let (status, _) = post(&format!("{base}/verify/batch"), json!({"texts": vec!["x"; 2000]}));
    assert_eq!(status, 413);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let bad = agent.post(&format!("{base}/verify")).header("content-type", "application/json").send("{not json").unwrap();
    assert!(bad.status().is_client_error());
}
