//! Token keys against a real PKCS#11 module, SoftHSM2 (Debian `softhsm2`). Each test runs
//! in a child process of its own, with `SOFTHSM2_CONF` pointing at a fresh token
//! directory: SoftHSM reads its configuration once per process, and a test that removes
//! its token must not take another test's with it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use citycode::demo;
use citycode::distribution::ListStatus;
use citycode::trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
use citycode::{
    Algorithm, CardLayout, CredentialRequest, DeviceSigner, Domain, FixedClock, Issuer, KeyPair, KeyRequest,
    PresentOptions, Scene, Subject, Verifier, present,
};
use citycode_pkcs11::softhsm::{CONF_ENV, SoftHsm};
use citycode_pkcs11::{TokenError, TokenKeyConfig, TokenSigner, generate_key};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

const CHILD: &str = "CITYCODE_PKCS11_TEST_DIR";
const PIN: &str = "5678";
const SO_PIN: &str = "1234";

/// Runs `body` in a child process with a SoftHSM of its own holding the tokens
/// `labels` (user PIN [`PIN`]); `body` gets the SoftHSM and a directory for files.
fn in_softhsm(test: &str, labels: &[&str], body: impl FnOnce(&SoftHsm, &Path)) {
    if let Ok(dir) = std::env::var(CHILD) {
        let dir = PathBuf::from(dir);
        let hsm = SoftHsm::create(&dir.join("hsm")).unwrap();
        assert_eq!(std::env::var_os(CONF_ENV).as_deref(), Some(hsm.conf.as_os_str()));
        body(&hsm, &dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hsm = SoftHsm::create(&dir.path().join("hsm"))
        .expect("SoftHSM2 not found: install softhsm2 (bash scripts/test-pkcs11.sh does)");
    for label in labels {
        hsm.init_token(label, SO_PIN, PIN).unwrap();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .env(CONF_ENV, &hsm.conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{test} failed in its SoftHSM process:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{test} did not run in its child process:\n{stdout}");
}

/// A PIN file readable by its owner only.
fn pin_file(dir: &Path, name: &str, pin: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, format!("{pin}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn config(hsm: &SoftHsm, dir: &Path, token: &str, key: &str, alg: Algorithm) -> TokenKeyConfig {
    TokenKeyConfig {
        module: Some(hsm.module.clone()),
        token: Some(token.into()),
        uri: None,
        key_label: Some(key.into()),
        key_id: None,
        pin_file: Some(pin_file(dir, "pin", PIN)),
        pin_env: None,
        algorithm: alg,
        sessions: 4,
        allow_extractable: false,
        sm2: None,
    }
}

/// A logged-in read-write session on the token, for what the tests do behind the
/// signer's back.
fn admin(hsm: &SoftHsm, token: &str) -> (Pkcs11, Session) {
    let ctx = Pkcs11::new(&hsm.module).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == token)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&AuthPin::from(PIN)));
    (ctx, session)
}

const NOW: u64 = demo::NOW;

/// Every signed artefact of a city, each signed by token keys, accepted by the ordinary
/// verifier: a trust list, a revocation list, a list status and a batch.
fn city_on_tokens(alg: Algorithm) {
    let test = format!("{}_token_keys_sign_what_the_ordinary_verifier_accepts", alg.name());
    in_softhsm(&test, &["root", "issuer"], |hsm, dir| {
        let root_config = config(hsm, dir, "root", "root-key", alg);
        let issuer_config = config(hsm, dir, "issuer", "issuer-key", alg);
        let root_public = generate_key(&root_config).unwrap();
        let issuer_public = generate_key(&issuer_config).unwrap();
        assert_eq!(root_public.algorithm(), alg);
        let root = TokenSigner::open(&root_config).unwrap();
        assert_eq!(root.public_key(), root_public);
        let issuer = Issuer::new(7, TokenSigner::open(&issuer_config).unwrap(), Domain::ALL.map(|d| d.id()).to_vec());
        assert_eq!(issuer.public_key(), issuer_public);

        let now = NOW as u32;
        let trust = TrustList::new(
            1,
            now - 60,
            now + 86_400,
            vec![IssuerKey {
                kid: 7,
                key: issuer_public.clone(),
                not_before: now - 86_400,
                not_after: now + 86_400 * 30,
                domains: Domain::ALL.map(|d| d.id()).to_vec(),
            }],
        )
        .unwrap()
        .sign_with(&root)
        .unwrap();
        // A revocation list signed by the issuer key in its token, revoking a stranger.
        let revoked_device = KeyPair::generate(Algorithm::Ed25519).unwrap();
        let revocations = RevocationList::new(
            ListSigner::Issuer(7),
            1,
            now - 60,
            now + 3600,
            vec![Revoked::DeviceKey(revoked_device.public_key().key_id())],
        )
        .unwrap();
        let revocations_bytes = revocations.sign_with(&TokenSigner::open(&issuer_config).unwrap()).unwrap();
        // The root-signed list every verifier must hold beside it (SPEC §8.2), signed in the root's token.
        let root_revocations =
            RevocationList::new(ListSigner::Root, 1, now - 60, now + 3600, vec![]).unwrap().sign_with(&root).unwrap();
        let status = ListStatus::describe(2, now - 60, now + 3600, &root_public, &trust, &[&revocations_bytes])
            .unwrap()
            .sign_with(&root)
            .unwrap();
        let status = ListStatus::verify(&status, &root_public).unwrap();
        assert_eq!(status.sequence, 2);
        assert_eq!(status.entries.len(), 2);

        // A batch of ten instances, each on its own proven device key.
        let devices: Vec<KeyPair> = (0..10).map(|i| demo::key(Algorithm::Ed25519, 0x40 + i).unwrap()).collect();
        let challenge = citycode::request::random_challenge().unwrap();
        let proven: Vec<_> =
            devices.iter().map(|d| KeyRequest::sign(d, &challenge).unwrap().verify(&challenge).unwrap()).collect();
        let template = CredentialRequest {
            device_key: proven[0].clone(),
            subject: Subject::random().unwrap(),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: CardLayout::Standard,
        };
        let batch = issuer.issue_batch(&template, None, &proven).unwrap();
        assert_eq!(batch.len(), 10);

        for scene in [Scene::Hospital, Scene::MetroGate] {
            let mut verifier = Verifier::new(root_public.clone(), scene.clone()).with_clock(FixedClock(NOW));
            verifier.load_trust_list(&trust).unwrap();
            verifier.load_revocation_list(&root_revocations).unwrap();
            verifier.load_revocation_list(&revocations_bytes).unwrap();
            for (credential, device) in batch.iter().zip(&devices) {
                let code =
                    present(credential, device, &verifier.required_domains(), NOW, PresentOptions::default()).unwrap();
                let accepted = verifier.verify(&code.to_text());
                assert!(accepted.is_ok(), "{scene:?}: {accepted:?}");
            }
        }
        // The token's signatures are what the verifier checks: the list does not
        // verify under another key.
        assert!(TrustList::verify(&trust, &issuer_public).is_err());
    });
}

#[test]
fn ed25519_token_keys_sign_what_the_ordinary_verifier_accepts() {
    city_on_tokens(Algorithm::Ed25519);
}

#[test]
fn ecdsa_p256_sha256_token_keys_sign_what_the_ordinary_verifier_accepts() {
    city_on_tokens(Algorithm::EcdsaP256Sha256);
}

#[test]
fn keygen_makes_a_sensitive_non_extractable_key_and_never_shadows_one() {
    in_softhsm("keygen_makes_a_sensitive_non_extractable_key_and_never_shadows_one", &["root"], |hsm, dir| {
        let mut config = config(hsm, dir, "root", "root-key", Algorithm::Ed25519);
        config.key_id = Some("c1c2".into());
        let public = generate_key(&config).unwrap();
        assert!(matches!(generate_key(&config), Err(TokenError::KeyExists(_))));
        config.key_label = Some("other".into());
        assert!(matches!(generate_key(&config), Err(TokenError::KeyExists(_))), "same id, another label");
        let (_ctx, session) = admin(hsm, "root");
        let private = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"root-key".to_vec())])
            .unwrap();
        assert_eq!(private.len(), 1);
        let attributes = session
            .get_attributes(
                private[0],
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                    AttributeType::Sign,
                    AttributeType::Decrypt,
                    AttributeType::Derive,
                    AttributeType::Token,
                    AttributeType::Id,
                ],
            )
            .unwrap();
        for expected in [
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::AlwaysSensitive(true),
            Attribute::NeverExtractable(true),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Derive(false),
            Attribute::Token(true),
            Attribute::Id(vec![0xc1, 0xc2]),
        ] {
            assert!(attributes.contains(&expected), "{expected:?} in {attributes:?}");
        }
        // The secret cannot be read out.
        assert!(session.get_attributes(private[0], &[AttributeType::Value]).unwrap().is_empty());
        // The key is the one a signer opens, by label or by id.
        config.key_label = None;
        assert_eq!(TokenSigner::open(&config).unwrap().public_key(), public);
    });
}

#[test]
fn a_uri_or_an_environment_pin_opens_the_same_key() {
    in_softhsm("a_uri_or_an_environment_pin_opens_the_same_key", &["city root"], |hsm, dir| {
        let by_label = config(hsm, dir, "city root", "root-key", Algorithm::EcdsaP256Sha256);
        let public = generate_key(&by_label).unwrap();
        let by_uri = TokenKeyConfig {
            token: None,
            key_label: None,
            module: None,
            pin_file: None,
            uri: Some(format!(
                "pkcs11:token=city%20root;object=root-key;type=private?module-path={}&pin-source=file:{}",
                hsm.module.display(),
                pin_file(dir, "uri-pin", PIN).display()
            )),
            ..by_label.clone()
        };
        assert_eq!(TokenSigner::open(&by_uri).unwrap().public_key(), public);
        // The PIN from the environment: this process's own variable, set by the parent.
        let by_env = TokenKeyConfig { pin_file: None, pin_env: Some(CONF_ENV.into()), ..by_label.clone() };
        // SOFTHSM2_CONF holds a path, not the PIN: the token refuses it.
        assert!(matches!(TokenSigner::open(&by_env), Err(TokenError::WrongPin)));
        let unset = TokenKeyConfig { pin_env: Some("CITYCODE_TEST_UNSET_PIN".into()), ..by_env };
        assert!(matches!(TokenSigner::open(&unset), Err(TokenError::PinSource(_))));
        // A JSON and a TOML file give the same configuration.
        let json = dir.join("root.json");
        std::fs::write(&json, serde_json::to_string(&by_label).unwrap()).unwrap();
        assert_eq!(TokenKeyConfig::from_file(&json).unwrap(), by_label);
    });
}

#[test]
fn a_wrong_pin_a_missing_token_or_key_and_a_wrong_key_type_each_sign_nothing() {
    in_softhsm("a_wrong_pin_a_missing_token_or_key_and_a_wrong_key_type_each_sign_nothing", &["root"], |hsm, dir| {
        let good = config(hsm, dir, "root", "root-key", Algorithm::Ed25519);
        generate_key(&good).unwrap();
        let p256 = config(hsm, dir, "root", "p256-key", Algorithm::EcdsaP256Sha256);
        generate_key(&p256).unwrap();
        let list = TrustList { sequence: 1, issued_at: 0, expires_at: 1, keys: Vec::new() };

        let wrong_pin = TokenKeyConfig { pin_file: Some(pin_file(dir, "wrong", "0000")), ..good.clone() };
        let e = TokenSigner::open(&wrong_pin).unwrap_err();
        assert!(matches!(e, TokenError::WrongPin), "{e}");
        assert_eq!(e.code(), "wrong_pin");

        let no_token = TokenKeyConfig { token: Some("no such token".into()), ..good.clone() };
        assert!(matches!(TokenSigner::open(&no_token), Err(TokenError::TokenNotFound(_))));

        let no_key = TokenKeyConfig { key_label: Some("no such key".into()), ..good.clone() };
        assert!(matches!(TokenSigner::open(&no_key), Err(TokenError::KeyNotFound(_))));

        // An Ed25519 key configured as P-256 and the other way round.
        let as_p256 = TokenKeyConfig { algorithm: Algorithm::EcdsaP256Sha256, ..good.clone() };
        assert!(matches!(TokenSigner::open(&as_p256), Err(TokenError::WrongKeyType { .. })));
        let as_ed = TokenKeyConfig { algorithm: Algorithm::Ed25519, ..p256.clone() };
        let e = TokenSigner::open(&as_ed).unwrap_err();
        assert!(matches!(e, TokenError::WrongKeyType { .. }), "{e}");
        assert!(e.to_string().contains("P-256"), "{e}");

        // SM2 through a vendor mechanism SoftHSM does not have.
        let sm2 = TokenKeyConfig {
            algorithm: Algorithm::Sm2Sm3,
            sm2: Some(citycode_pkcs11::Sm2Mechanisms { sign: 0x8000_0001, generate: None, key_type: None }),
            ..good.clone()
        };
        let e = TokenSigner::open(&sm2).unwrap_err();
        assert!(matches!(e, TokenError::MechanismNotSupported(_)), "{e}");

        // None of them produced a signer, so nothing was signed; the good key signs.
        assert!(list.sign_with(&TokenSigner::open(&good).unwrap()).is_ok());
    });
}

#[test]
fn keys_that_could_leave_the_token_or_do_not_pair_are_refused() {
    in_softhsm("keys_that_could_leave_the_token_or_do_not_pair_are_refused", &["root"], |hsm, dir| {
        let (_ctx, session) = admin(hsm, "root");
        let generate = |public: &[Attribute], private: &[Attribute]| {
            let mut public_template = vec![
                Attribute::Token(true),
                Attribute::Verify(true),
                Attribute::EcParams(vec![0x06, 0x03, 0x2b, 0x65, 0x70]),
            ];
            public_template.extend_from_slice(public);
            let mut private_template = vec![Attribute::Token(true), Attribute::Private(true), Attribute::Sign(true)];
            private_template.extend_from_slice(private);
            session.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public_template, &private_template).unwrap();
        };
        // An extractable key.
        generate(
            &[Attribute::Label(b"loose".to_vec())],
            &[Attribute::Label(b"loose".to_vec()), Attribute::Sensitive(false), Attribute::Extractable(true)],
        );
        // Two pairs crossed: the private key with id 01 beside the other pair's public key.
        let sensitive = [Attribute::Sensitive(true), Attribute::Extractable(false)];
        generate(
            &[Attribute::Label(b"first-public".to_vec())],
            &[&[Attribute::Label(b"crossed".to_vec()), Attribute::Id(vec![1])][..], &sensitive].concat(),
        );
        generate(
            &[Attribute::Label(b"second-public".to_vec()), Attribute::Id(vec![1])],
            &[&[Attribute::Label(b"second".to_vec()), Attribute::Id(vec![2])][..], &sensitive].concat(),
        );
        let loose = config(hsm, dir, "root", "loose", Algorithm::Ed25519);
        assert!(matches!(TokenSigner::open(&loose), Err(TokenError::KeyExtractable)));
        let allowed = TokenKeyConfig { allow_extractable: true, ..loose };
        assert!(TokenSigner::open(&allowed).is_ok());
        let crossed = config(hsm, dir, "root", "crossed", Algorithm::Ed25519);
        assert!(matches!(TokenSigner::open(&crossed), Err(TokenError::KeyMismatch)));
    });
}

#[test]
fn a_lost_session_is_replaced_and_logged_in_again_but_never_with_another_key() {
    in_softhsm("a_lost_session_is_replaced_and_logged_in_again_but_never_with_another_key", &["root"], |hsm, dir| {
        let config = config(hsm, dir, "root", "root-key", Algorithm::Ed25519);
        let public = generate_key(&config).unwrap();
        let signer = TokenSigner::open(&config).unwrap();
        // Logged out behind the signer's back (login state is the application's, shared
        // by every session), as an HSM restart would leave it: the signer logs in again.
        let (_ctx, session) = admin(hsm, "root");
        session.logout().unwrap();
        drop(session);
        let signature = citycode::keys::signature_by(&signer, b"after the loss").unwrap();
        assert!(public.verify(b"after the loss", &signature));

        // The key under the label replaced behind the signer's back: refused.
        let (_ctx, session) = admin(hsm, "root");
        for object in session.find_objects(&[Attribute::Label(b"root-key".to_vec())]).unwrap() {
            session.destroy_object(object).unwrap();
        }
        drop(session);
        let replacement = generate_key(&config).unwrap();
        assert_ne!(replacement, public);
        let e = signer.sign_raw(b"m").unwrap_err();
        assert!(matches!(e, TokenError::KeyReplaced { .. }), "{e}");
    });
}

#[test]
fn a_token_removed_while_in_use_signs_nothing() {
    in_softhsm("a_token_removed_while_in_use_signs_nothing", &["root"], |hsm, dir| {
        let config = config(hsm, dir, "root", "root-key", Algorithm::Ed25519);
        generate_key(&config).unwrap();
        let signer = TokenSigner::open(&config).unwrap();
        let list = TrustList { sequence: 1, issued_at: 0, expires_at: 1, keys: Vec::new() };
        assert!(list.sign_with(&signer).is_ok());
        hsm.remove_tokens().unwrap();
        let e = signer.sign_raw(b"m").unwrap_err();
        assert!(matches!(e, TokenError::TokenRemoved(_)), "{e}");
        let e = list.sign_with(&signer).unwrap_err();
        assert!(e.to_string().contains("token_removed"), "{e}");
        // And it stays refused: no session comes back from a token that is gone.
        assert!(matches!(signer.sign_raw(b"m"), Err(TokenError::TokenRemoved(_))));
    });
}

#[test]
fn concurrent_signatures_run_on_several_sessions() {
    in_softhsm("concurrent_signatures_run_on_several_sessions", &["issuer"], |hsm, dir| {
        for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256] {
            let config = config(hsm, dir, "issuer", alg.name(), alg);
            let public = generate_key(&config).unwrap();
            let signer = TokenSigner::open(&config).unwrap();
            assert_eq!(signer.open_sessions(), 1);
            let messages: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let signatures = citycode::keys::signatures_by(&signer, &refs).unwrap();
            assert_eq!(signatures.len(), 64);
            for (m, s) in refs.iter().zip(&signatures) {
                assert!(public.verify(m, s));
            }
            assert_eq!(signer.open_sessions(), 4, "{alg}: a session for each of four threads");
            // From several threads at once too.
            std::thread::scope(|scope| {
                for t in 0..8u8 {
                    let signer = &signer;
                    let public = &public;
                    scope.spawn(move || {
                        for i in 0..8u8 {
                            let m = [t, i];
                            let s = citycode::keys::signature_by(signer, &m).unwrap();
                            assert!(public.verify(&m, &s));
                        }
                    });
                }
            });
            assert!(signer.open_sessions() <= 4);
        }
    });
}
