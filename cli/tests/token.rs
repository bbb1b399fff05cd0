//! The CLI with root and issuer keys in a PKCS#11 token (SoftHSM2, Debian `softhsm2`, in
//! a temporary token directory): `keygen --token`, and `token:CONFIG` wherever a signing
//! command takes a key file; what the ordinary verifier makes of the results; and the
//! token's refusals, which sign and write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use citycode_pkcs11::softhsm::{CONF_ENV, SoftHsm};
use serde_json::Value;

const NOW: u64 = 1_795_593_600;
const TODAY: u64 = NOW / 86_400;
const PIN: &str = "246810";

struct Token {
    dir: tempfile::TempDir,
    hsm: SoftHsm,
}

impl Token {
    /// A SoftHSM with the tokens `root` and `issuer`, a PIN file, and a configuration
    /// file per (name, token, key label, algorithm).
    fn new(configs: &[(&str, &str, &str, &str)]) -> Token {
        let dir = tempfile::tempdir().unwrap();
        let hsm = SoftHsm::create(&dir.path().join("hsm"))
            .expect("SoftHSM2 not found: install softhsm2 (bash scripts/test-pkcs11.sh does)");
        hsm.init_token("root", "1111", PIN).unwrap();
        hsm.init_token("issuer", "1111", PIN).unwrap();
        let token = Token { dir, hsm };
        token.pin_file("token.pin", PIN);
        for (name, label, key, alg) in configs {
            token.write(
                name,
                &format!(
                    "module = {:?}\ntoken = {label:?}\nkey_label = {key:?}\npin_file = {:?}\nalgorithm = {alg:?}\n",
                    token.hsm.module.display().to_string(),
                    token.path("token.pin")
                ),
            );
        }
        token
    }

    fn path(&self, f: &str) -> String {
        self.dir.path().join(f).display().to_string()
    }

    fn write(&self, f: &str, text: &str) {
        std::fs::write(self.dir.path().join(f), text).unwrap();
    }

    fn pin_file(&self, f: &str, pin: &str) {
        self.write(f, &format!("{pin}\n"));
        std::fs::set_permissions(self.dir.path().join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_citycode"))
            .current_dir(self.dir.path())
            .env(CONF_ENV, &self.hsm.conf)
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .args(args)
            .output()
            .unwrap()
    }

    fn ok_json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A command that must fail with exit code 2, naming `code`, and leave `out` unwritten.
    fn refused(&self, args: &[&str], code: &str, out: &str) {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(code), "{args:?}: expected {code}, got {stderr}");
        assert!(!Path::new(&self.path(out)).exists(), "{args:?} wrote {out}");
    }
}

#[test]
fn token_keys_sign_lists_credentials_and_printed_codes_that_the_cli_verifier_accepts() {
    for alg in ["ed25519", "ecdsa_p256_sha256"] {
        let t = Token::new(&[("root.toml", "root", "root-key", alg), ("issuer.toml", "issuer", "issuer-key", alg)]);
        // keygen in the token prints the public key as a file keygen does, and no secret.
        let root = t.ok_json(&["keygen", "--kind", "root", "--token", "root.toml"]);
        let issuer = t.ok_json(&["keygen", "--kind", "issuer", "--token", "issuer.toml", "--alg", alg]);
        for shown in [&root, &issuer] {
            assert_eq!(shown["algorithm"], alg);
            assert_eq!(shown["public_key"].as_str().unwrap().len(), if alg == "ed25519" { 64 } else { 66 });
            assert_eq!(shown["key_id"].as_str().unwrap().len(), 32);
            assert!(shown.get("secret").is_none() && shown.get("file").is_none(), "{shown}");
        }
        assert_eq!(root["kind"], "root");
        // A second keygen under the same label refuses rather than shadow the key.
        let again = t.run(&["keygen", "--kind", "root", "--token", "root.toml"]);
        assert_eq!(again.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&again.stderr).contains("key_exists"));

        // A device key stays a file: it belongs to the holder's phone.
        t.ok_json(&["keygen", "--kind", "device", "--alg", "ecdsa_p256_sha256", "--out", "device.json"]);
        let spec = serde_json::json!({
            "sequence": 1, "issued_at": NOW - 60, "expires_at": NOW + 86_400,
            "issuers": [{"kid": 1, "algorithm": alg, "public_key": issuer["public_key"], "not_before": NOW - 86_400,
                         "not_after": NOW + 864_000, "domains": [1, 2, 3, 4, 5, 6, 7]}]
        });
        t.write("trust.json", &spec.to_string());
        t.ok_json(&["trust-list", "sign", "--root", "token:root.toml", "--spec", "trust.json", "--out", "trust.bin"]);
        let root_key = root["public_key"].as_str().unwrap();
        let listed = t.ok_json(&["trust-list", "inspect", "--root-key", root_key, "--root-alg", alg, "trust.bin"]);
        assert_eq!(listed["signature"], "valid");
        let rev = serde_json::json!({"sequence": 1, "issued_at": NOW - 10, "expires_at": NOW + 3600});
        t.write("rev.json", &rev.to_string());
        t.ok_json(&["revoke", "--key", "token:root.toml", "--spec", "rev.json", "--out", "rev.bin"]);
        t.ok_json(&[
            "revoke",
            "--key",
            "token:issuer.toml",
            "--issuer-kid",
            "1",
            "--spec",
            "rev.json",
            "--out",
            "rev1.bin",
        ]);
        let published = t.ok_json(&[
            "publish",
            "--root",
            "token:root.toml",
            "--trust-list",
            "trust.bin",
            "--revocation-list",
            "rev.bin",
            "--sequence",
            "9",
            "--out",
            "public",
        ]);
        assert_eq!(published["status_sequence"], 9);
        let root_public = citycode::PublicKey::from_bytes(
            citycode::Algorithm::from_name(alg).unwrap(),
            &citycode::text::unhex(root_key).unwrap(),
        )
        .unwrap();
        let status = std::fs::read(t.path("public/status.bin")).unwrap();
        assert_eq!(citycode::distribution::ListStatus::verify(&status, &root_public).unwrap().sequence, 9);

        let claims = serde_json::json!({
            "transit": {"account": "active", "fare_class": "student", "vehicle_payment": false},
            "health": {"status": "green", "valid_until_day": TODAY + 3},
            "medical_insurance": {"region": 310000, "status": "active"}
        });
        t.write("claims.json", &claims.to_string());
        let day = TODAY.to_string();
        let issue = [
            "issue",
            "--issuer",
            "token:issuer.toml",
            "--kid",
            "1",
            "--device",
            "device.json",
            "--claims",
            "claims.json",
            "--valid-from-day",
            &day,
            "--out",
            "credential.txt",
        ];
        t.ok_json(&issue);
        let now = NOW.to_string();
        let code = t.ok_json(&[
            "present",
            "--credential",
            "credential.txt",
            "--device",
            "device.json",
            "--scene",
            "hospital",
            "--now",
            &now,
            "--json",
        ]);
        let text = code["text"].as_str().unwrap();
        let verify = |text: &str, revs: &[&str], scene: &str| {
            let mut args = vec!["verify", "--root-key", root_key, "--root-alg", alg, "--trust-list", "trust.bin"];
            for rev in revs {
                args.extend(["--revocation-list", rev]);
            }
            // The same code is verified twice: no replay store.
            args.extend(["--scene", scene, "--insecure-test-now", &now, "--no-replay-store", text]);
            t.run(&args)
        };
        // The root's list alone, and with the token issuer's beside it (an issuer's list
        // is never enough on its own: SPEC.md §9 step 2).
        for revs in [&["rev.bin"][..], &["rev.bin", "rev1.bin"]] {
            let out = verify(text, revs, "hospital");
            assert!(out.status.success(), "{alg}: {}", String::from_utf8_lossy(&out.stdout));
            let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(verdict["decision"], "accept");
        }
        // The issuer's list alone does not stand in for the root's (SPEC §8.2).
        let out = verify(text, &["rev1.bin"], "hospital");
        let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(verdict["reason"], "no_revocation_list", "{alg}: {verdict}");

        // A printed code signed in the token, accepted at the hospital desk.
        let identity = t.ok_json(&["identity", "--name", "王秀英", "--number", "11010519491231002X"]);
        let paper = serde_json::json!({"identity": identity, "health": {"status": "green", "valid_until_day": TODAY + 179},
                                      "medical_insurance": {"status": "active"}});
        t.write("paper.json", &paper.to_string());
        t.ok_json(&[
            "issue-printed",
            "--issuer",
            "token:issuer.toml",
            "--kid",
            "1",
            "--claims",
            "paper.json",
            "--valid-from-day",
            &day,
            "--out",
            "paper.txt",
        ]);
        let paper_text = std::fs::read_to_string(t.path("paper.txt")).unwrap();
        let desk = verify(paper_text.trim(), &["rev.bin"], "hospital");
        assert!(desk.status.success(), "{alg}: {}", String::from_utf8_lossy(&desk.stdout));
    }
}

#[test]
fn token_refusals_sign_nothing_and_name_their_reason() {
    let t = Token::new(&[
        ("root.toml", "root", "root-key", "ed25519"),
        ("p256.toml", "root", "p256-key", "ecdsa_p256_sha256"),
        ("as-p256.toml", "root", "root-key", "ecdsa_p256_sha256"),
        ("missing-key.toml", "root", "no-such-key", "ed25519"),
        ("missing-token.toml", "no-such-token", "root-key", "ed25519"),
    ]);
    t.ok_json(&["keygen", "--kind", "root", "--token", "root.toml"]);
    t.ok_json(&["keygen", "--kind", "root", "--token", "p256.toml"]);
    let spec = serde_json::json!({"sequence": 1, "issued_at": NOW - 60, "expires_at": NOW + 86_400, "issuers": []});
    t.write("trust.json", &spec.to_string());
    let refused = |config: &str, code: &str| {
        let key = format!("token:{config}");
        t.refused(
            &["trust-list", "sign", "--root", &key, "--spec", "trust.json", "--out", "trust.bin"],
            code,
            "trust.bin",
        );
    };
    refused("missing-key.toml", "key_not_found");
    refused("missing-token.toml", "token_not_found");
    refused("as-p256.toml", "wrong_key_type");
    // A wrong PIN.
    t.pin_file("token.pin", "999999");
    refused("root.toml", "wrong_pin");
    // A PIN file others can read.
    t.pin_file("token.pin", PIN);
    std::fs::set_permissions(t.path("token.pin"), std::fs::Permissions::from_mode(0o644)).unwrap();
    refused("root.toml", "pin_source");
    std::fs::set_permissions(t.path("token.pin"), std::fs::Permissions::from_mode(0o600)).unwrap();
    // A configuration that is not one.
    t.write(
        "bad.toml",
        "module = \"/nowhere.so\"\ntoken = \"root\"\nkey_label = \"root-key\"\nalgorithm = \"ed25519\"\n",
    );
    refused("bad.toml", "config");
    // Publishing with a key that cannot sign writes no file at all.
    t.ok_json(&["trust-list", "sign", "--root", "token:root.toml", "--spec", "trust.json", "--out", "trust.bin"]);
    t.pin_file("token.pin", "999999");
    t.refused(
        &["publish", "--root", "token:root.toml", "--trust-list", "trust.bin", "--out", "public"],
        "wrong_pin",
        "public",
    );
    // Every refusal above left the token as it was: the right PIN signs again.
    t.pin_file("token.pin", PIN);
    std::fs::remove_file(t.path("trust.bin")).unwrap();
    t.ok_json(&["trust-list", "sign", "--root", "token:root.toml", "--spec", "trust.json", "--out", "trust.bin"]);
}
