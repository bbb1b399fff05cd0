//! The service on token keys: the issuer key and the root key inside SoftHSM2 (Debian's
//! `softhsm2`), named in the configuration file as an operator writes it (`kind =
//! "token"`), the service built by the same code `citycode-issuer serve` runs. A batch
//! issued and a publication signed by the tokens verify with the ordinary verifier; a
//! wrong PIN (or a key of another type) refuses to start with the setting named; a
//! token removed while serving makes the service not ready and refuses issuance and
//! publication with a JSON error, recording nothing.
//!
//! SoftHSM reads its configuration once per process, so each run happens in a child
//! process of this test binary with `SOFTHSM2_CONF` pointing at its own token directory
//! (as `citycode-pkcs11`'s tests do), once per database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use citycode::distribution::DirectorySource;
use citycode::trust::{IssuerKey, TrustList};
use citycode::{Algorithm, Credential, PresentOptions, PublicKey, Scene, Verifier};
use citycode_issuer::config::Config;
use citycode_issuer::http::router;
use citycode_pkcs11::softhsm::{CONF_ENV, SoftHsm};
use citycode_pkcs11::{TokenKeyConfig, TokenSigner, generate_key};
use common::*;
use serde_json::Value;

const CHILD_DIR: &str = "CITYCODE_ISSUER_TOKEN_TEST_DIR";
const CHILD_DB: &str = "CITYCODE_ISSUER_TOKEN_TEST_DB";
const PIN: &str = "5678";
const SO_PIN: &str = "1234";

/// A PostgreSQL connection string as the configuration takes it (a URL).
fn database_url(db: &Db) -> String {
    match db {
        Db::Sqlite(path) => format!("sqlite:{}", path.display()),
        Db::Postgres(url) if url.starts_with("postgres") => url.clone(),
        Db::Postgres(kv) => {
            let field = |name: &str| {
                kv.split_whitespace().find_map(|f| f.strip_prefix(&format!("{name}="))).unwrap_or_default().to_string()
            };
            format!("postgres://{}@{}:{}/{}", field("user"), field("host"), field("port"), field("dbname"))
        }
    }
}

/// Runs `body` in a child process per database, each with a SoftHSM of its own holding
/// the tokens `city-root` and `city-issuer` (user PIN [`PIN`]); `body` gets the
/// SoftHSM, a directory for the city's files and the database (`sqlite:` or a URL).
fn in_softhsm(test: &str, body: impl FnOnce(&SoftHsm, &Path, &str)) {
    if let (Ok(dir), Ok(database)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_DB)) {
        let dir = PathBuf::from(dir);
        let hsm = SoftHsm::create(&dir.join("hsm")).unwrap();
        assert_eq!(std::env::var_os(CONF_ENV).as_deref(), Some(hsm.conf.as_os_str()));
        body(&hsm, &dir, &database);
        return;
    }
    for db in databases(test) {
        let dir = temp_dir(&format!("{test}-{}", db.name()));
        let hsm = SoftHsm::create(&dir.join("hsm"))
            .expect("SoftHSM2 not found: install softhsm2 (bash scripts/test-issuer.sh does)");
        for label in ["city-root", "city-issuer"] {
            hsm.init_token(label, SO_PIN, PIN).unwrap();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, &dir)
            .env(CHILD_DB, database_url(&db))
            .env(CONF_ENV, &hsm.conf)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{test} on {} failed in its SoftHSM process:\n{stdout}\n{stderr}", db.name());
        assert!(stdout.contains("1 passed"), "{test} did not run in its child process:\n{stdout}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The key `label` in token `token`, as the configuration file names it (`pin_file`
/// relative to the file's folder).
fn token_key(hsm: &SoftHsm, token: &str, label: &str, pin_file: &str, alg: Algorithm) -> String {
    format!(
        "{{ kind = \"token\", pkcs11 = {{ module = \"{}\", token = \"{token}\", key_label = \"{label}\", \
         pin_file = \"{pin_file}\", algorithm = \"{}\" }} }}",
        hsm.module.display(),
        alg.name()
    )
}

/// The configuration file of a city whose issuer and root keys are `issuer` and
/// `root` (each a `KeyConfig` in TOML).
fn config_file(dir: &Path, name: &str, database: &str, idp: &Idp, issuer: &str, root: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "database = \"{database}\"\nid_number_key_file = \"id-number.key\"\n\n\
             [issuer]\nkid = 1\nkey = {issuer}\n\n\
             [auth]\nissuer = \"{IDP}\"\naudience = \"{AUDIENCE}\"\njwks = {{ url = \"{}/jwks\" }}\n\n\
             [limits]\nkey_probe_secs = 1\n\n\
             [publication]\ndirectory = \"public\"\ntrust_list = \"trust.bin\"\nroot_key = {root}\n",
            idp.server.base
        ),
    )
    .unwrap();
    path
}

/// The city's keys made inside its tokens (only the public halves come out) and its
/// trust list signed by the root in its token.
fn city_in_tokens(hsm: &SoftHsm, dir: &Path) -> (PublicKey, PublicKey) {
    let config = |token: &str, label: &str, alg| TokenKeyConfig {
        module: Some(hsm.module.clone()),
        token: Some(token.into()),
        uri: None,
        key_label: Some(label.into()),
        key_id: None,
        pin_file: Some(dir.join("token.pin")),
        pin_env: None,
        algorithm: alg,
        sessions: 4,
        allow_extractable: false,
        sm2: None,
    };
    let root_config = config("city-root", "root-2026", Algorithm::Ed25519);
    let root = generate_key(&root_config).unwrap();
    let issuer = generate_key(&config("city-issuer", "issuer-2026", Algorithm::EcdsaP256Sha256)).unwrap();
    let now = START as u32;
    let all: Vec<u32> = citycode::Domain::ALL.iter().map(|d| d.id()).collect();
    let trust = TrustList::new(
        1,
        now - 60,
        now + 90 * 86_400,
        vec![IssuerKey {
            kid: 1,
            key: issuer.clone(),
            not_before: now - 60,
            not_after: now + 90 * 86_400,
            domains: all,
        }],
    )
    .unwrap()
    .sign_with(&TokenSigner::open(&root_config).unwrap())
    .unwrap();
    std::fs::write(dir.join("trust.bin"), trust).unwrap();
    (root, issuer)
}

fn credentials(body: &Value) -> Vec<Credential> {
    body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Credential::from_base64url(c["credential"].as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_service_signs_with_token_keys_and_stops_issuing_when_the_token_goes() {
    in_softhsm("the_service_signs_with_token_keys_and_stops_issuing_when_the_token_goes", |hsm, dir, database| {
        private_file(&dir.join("token.pin"), &format!("{PIN}\n"));
        private_file(&dir.join("wrong.pin"), "0000\n");
        private_file(&dir.join("id-number.key"), &"ab".repeat(32));
        let (root_public, issuer_public) = city_in_tokens(hsm, dir);
        let idp = Idp::new();
        let issuer_key = token_key(hsm, "city-issuer", "issuer-2026", "token.pin", Algorithm::EcdsaP256Sha256);
        let root_key = token_key(hsm, "city-root", "root-2026", "token.pin", Algorithm::Ed25519);
        let clock = TestClock::at(START);
        let start = |config: &Path| {
            let config = Config::load(config)?;
            citycode_issuer::build(&config, clock.clone(), Box::new(Buf::default()))
        };

        // At start: a wrong PIN for either key, or a key of another type, is a
        // configuration error that names the setting and the token's code.
        let wrong_pin = token_key(hsm, "city-issuer", "issuer-2026", "wrong.pin", Algorithm::EcdsaP256Sha256);
        let wrong_root_pin = token_key(hsm, "city-root", "root-2026", "wrong.pin", Algorithm::Ed25519);
        let wrong_type = token_key(hsm, "city-issuer", "issuer-2026", "token.pin", Algorithm::Ed25519);
        for (name, issuer, root, setting, code) in [
            ("wrong-pin.toml", &wrong_pin, &root_key, "issuer.key", "wrong_pin"),
            ("wrong-root-pin.toml", &issuer_key, &wrong_root_pin, "publication.root_key", "wrong_pin"),
            ("wrong-type.toml", &wrong_type, &root_key, "issuer.key", "wrong_key_type"),
        ] {
            let path = config_file(dir, name, database, &idp, issuer, root);
            match start(&path) {
                Err(citycode_issuer::Error::Config(m)) => {
                    assert!(m.starts_with(&format!("{setting}: token key")) && m.contains(code), "{name}: {m}");
                    assert!(!m.contains(PIN) && !m.contains("0000"), "{name}: the PIN in {m}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // The binary says so and exits 2 (a configuration error), before listening.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_citycode-issuer"))
            .args(["serve", "--config"])
            .arg(dir.join("wrong-pin.toml"))
            .env("CITYCODE_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("issuer.key: token key") && stderr.contains("wrong_pin"), "{stderr}");

        // The city on its tokens.
        let config = config_file(dir, "issuer.toml", database, &idp, &issuer_key, &root_key);
        let log = Buf::default();
        let service =
            citycode_issuer::build(&Config::load(&config).unwrap(), clock.clone(), Box::new(log.clone())).unwrap();
        let service = Arc::new(service);
        import(&service, 1);
        let server = run(router(service.clone(), Default::default(), "http://issuer.test"));
        let url = |path: &str| format!("{}{path}", server.base);
        let (status, ready) = call("GET", &url("/readyz"), None, None);
        assert_eq!((status, &ready["ready"]), (200, &Value::Bool(true)), "{ready}");

        // A batch signed by the issuer key and lists signed by the root key, in their
        // tokens, accepted by the ordinary verifier.
        let resident = idp.token("login-0", START, &[]);
        let admin = idp.token("admin", START, &["citycode:admin"]);
        let challenge = nonce(&server.base, &resident);
        let (keys, requests) = key_requests(3, &challenge);
        let (status, body) =
            call("POST", &url("/v1/credential"), Some(&resident), Some(credential_body(&challenge, &requests)));
        assert_eq!(status, 200, "{body}");
        let issued = credentials(&body);
        assert_eq!(issued.len(), 3);
        let (status, published) = call("POST", &url("/v1/admin/publish"), Some(&admin), None);
        assert_eq!(status, 200, "{published}");
        let mut verifier = Verifier::new(root_public.clone(), Scene::MetroGate);
        verifier.update_from(&mut DirectorySource(dir.join("public"))).unwrap();
        assert_eq!(verifier.trust_list().unwrap().keys[0].key, issuer_public);
        for (credential, key) in issued.iter().zip(&keys) {
            let code = citycode::present(credential, key, &Scene::MetroGate, START, PresentOptions::default()).unwrap();
            let accepted = verifier.verify_at(&code.to_text(), START).unwrap();
            assert_eq!(accepted.subject, credential.subject);
        }
        let metrics = agent().get(&url("/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
        assert!(!metrics.contains("citycode_issuer_signing_failures_total{"), "{metrics}");
        assert!(metrics.contains("citycode_issuer_ready 1"), "{metrics}");

        // The tokens are pulled out while the service runs.
        let challenge = nonce(&server.base, &resident);
        let status_before = std::fs::read(dir.join("public/status.bin")).unwrap();
        hsm.remove_tokens().unwrap();
        // Readiness signs a probe once its last signature is older than
        // `key_probe_secs` (1 s here), and says which key and why.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (status, ready) = call("GET", &url("/readyz"), None, None);
        assert_eq!(
            (status, ready["ready"].as_bool(), ready["reason"].as_str()),
            (503, Some(false), Some("signing_key_unavailable")),
            "{ready}"
        );
        let detail = ready["detail"].as_str().unwrap();
        assert!(detail.contains("issuer key") && detail.contains("token_removed"), "{detail}");

        // Issuance is refused with a JSON error; nothing is recorded, the challenge is
        // not consumed.
        let (_, requests) = key_requests(2, &challenge);
        let body = credential_body(&challenge, &requests);
        let (status, refused) = call("POST", &url("/v1/credential"), Some(&resident), Some(body));
        assert_eq!(status, 503, "{refused}");
        assert_eq!(refused["error"], "temporarily_unavailable");
        assert_eq!(refused["reason"], "signing_key_unavailable");
        let description = refused["error_description"].as_str().unwrap();
        assert!(description.contains("token_removed"), "{description}");
        assert!(!description.contains(&hsm.module.display().to_string()), "the module's path in {description}");
        let now = START as i64;
        assert_eq!(service.store.outstanding(1, None, now).unwrap(), 3);
        assert_eq!(service.store.live_challenges(now).unwrap(), 1, "the challenge was consumed");

        // Publication too, and the sequence stays where it was.
        let (status, refused) = call("POST", &url("/v1/admin/publish"), Some(&admin), None);
        assert_eq!((status, refused["reason"].as_str()), (503, Some("signing_key_unavailable")), "{refused}");
        assert_eq!(
            service.store.last_publication().unwrap().unwrap().sequence,
            published["sequence"].as_u64().unwrap()
        );
        assert_eq!(std::fs::read(dir.join("public/status.bin")).unwrap(), status_before);

        // Metrics count the failures by key and code; the log says what the token said.
        let metrics = agent().get(&url("/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
        for line in [
            "citycode_issuer_ready 0",
            "citycode_issuer_refusals_total{reason=\"signing_key_unavailable\"} 2",
            "citycode_issuer_signing_failures_total{key=\"issuer\",code=\"token_removed\"}",
            "citycode_issuer_signing_failures_total{key=\"root\",code=\"token_removed\"}",
        ] {
            assert!(metrics.contains(line), "no {line} in\n{metrics}");
        }
        let logs = log.text();
        assert!(logs.contains("\"signing failed\"") && logs.contains("\"code\":\"token_removed\""), "{logs}");
        assert!(!logs.contains(PIN), "{logs}");
    });
}
