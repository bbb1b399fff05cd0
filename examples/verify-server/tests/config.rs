//! The server's configuration is core's `VerifierConfig` with the transport beside it:
//! every scene in core's spelling, from the command line and from TOML, builds a
//! service that accepts that scene's code and refuses another's; old spellings, unknown
//! keys and what core refuses stop it before it starts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use citycode::claims::Claims;
use citycode::demo::{self, DemoCity};
use citycode::{
    CardLayout, Credential, CredentialRequest, FixedClock, KeyPair, Policy, PresentOptions, ProvenKey, Scene, Subject,
    Verdict, present,
};
use citycode_verify_server::Service;
use citycode_verify_server::config::{Args, ServerConfig};
use clap::Parser;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("citycode-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo city's lists as files, and a resident whose credential also carries
/// identity (for hotel check-in).
struct City {
    city: DemoCity,
    device: KeyPair,
    credential: Credential,
    dir: PathBuf,
}

impl City {
    fn new(name: &str) -> City {
        let city = DemoCity::new().unwrap();
        let dir = temp_dir(name);
        std::fs::write(dir.join("trust.bin"), &city.trust_list).unwrap();
        std::fs::write(dir.join("rev.bin"), &city.revocation_list).unwrap();
        let device = demo::key(citycode::Algorithm::Ed25519, 0x51).unwrap();
        let claims = Claims { identity: Some(demo::resident_identity().unwrap()), ..demo::resident_claims() };
        let credential = city
            .issuer
            .issue(&CredentialRequest {
                device_key: ProvenKey::by_signing(&device).unwrap(),
                subject: Subject(*b"guest-01"),
                valid_from_day: demo::TODAY,
                valid_days: 1,
                claims,
                layout: CardLayout::Standard,
            })
            .unwrap();
        City { city, device, credential, dir }
    }

    fn root_hex(&self) -> String {
        citycode::text::hex(&self.city.root.public_key().to_bytes())
    }

    /// The command line of a server on these lists, without its scene.
    fn args(&self) -> Vec<String> {
        [
            "citycode-verify-server",
            "--root-alg",
            "ed25519",
            "--root-key",
            &self.root_hex(),
            "--trust-list",
            &self.dir.join("trust.bin").to_string_lossy(),
            "--revocation-list",
            &self.dir.join("rev.bin").to_string_lossy(),
            "--no-list-state",
        ]
        .map(String::from)
        .to_vec()
    }

    fn toml(&self, scene: &str) -> String {
        format!(
            "root_alg = \"ed25519\"\nroot_key = \"{}\"\ntrust_list = \"{}\"\nrevocation_list = [\"{}\"]\nno_list_state = true\n{scene}\n",
            self.root_hex(),
            self.dir.join("trust.bin").display(),
            self.dir.join("rev.bin").display(),
        )
    }

    fn code(&self, scene: &Scene, nonce: u8) -> String {
        let options = PresentOptions { validity_secs: 60, nonce: Some([nonce, 1, 2, 3]) };
        present(&self.credential, &self.device, scene, demo::NOW, options).unwrap().to_text()
    }

    fn service(&self, config: &ServerConfig) -> Service {
        let service = config.service(Arc::new(FixedClock(demo::NOW)), Box::new(std::io::sink())).unwrap();
        service.reload().unwrap();
        service
    }
}

fn parse(args: &[String]) -> Result<ServerConfig, String> {
    Args::try_parse_from(args).map_err(|e| e.to_string())?.config()
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

fn verdict(service: &Service, text: &str) -> serde_json::Value {
    let verdict: Verdict = service.verify(text);
    serde_json::to_value(verdict).unwrap()
}

#[test]
fn every_scene_in_cores_spelling_configures_the_server_from_flags_json_and_toml() {
    let c = City::new("scenes");
    let site = Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: demo::UTC_OFFSET_MINUTES };
    let scenes: [(Scene, &[&str], &str); 5] = [
        (Scene::Hospital, &["--scene", "hospital"], "scene = { kind = \"hospital\" }"),
        (
            site.clone(),
            &["--scene", "scenic_spot", "--site", "1024"],
            "[scene]\nkind = \"scenic_spot\"\nsite = 1024\nutc_offset_minutes = 480",
        ),
        (Scene::Parking, &["--scene", "parking"], "scene = { kind = \"parking\" }"),
        (Scene::MetroGate, &["--scene", "metro_gate"], "scene = { kind = \"metro_gate\" }"),
        (Scene::HotelCheckIn, &["--scene", "hotel_check_in"], "scene = { kind = \"hotel_check_in\" }"),
    ];
    let mut nonce = 0;
    for (i, (scene, flags, toml)) in scenes.iter().enumerate() {
        let json = serde_json::to_string(scene).unwrap();
        let file = c.dir.join(format!("scene-{i}.toml"));
        std::fs::write(&file, c.toml(toml)).unwrap();
        let from_flags = parse(&with(c.args(), flags)).unwrap();
        let from_json = parse(&with(c.args(), &["--scene", &json])).unwrap();
        let from_file = parse(&["x".into(), "--config".into(), file.to_string_lossy().into_owned()]).unwrap();
        for config in [&from_flags, &from_json, &from_file] {
            assert_eq!(&config.verifier.scene, scene, "{flags:?} {toml}");
            let service = c.service(config);
            nonce += 1;
            let accepted = verdict(&service, &c.code(scene, nonce));
            assert_eq!(accepted["decision"], "accept", "{scene:?}: {accepted}");
            assert_eq!(accepted["policy"], scene.name());
            // Another scene's code (whose card carries other claims) is refused here.
            let other = &scenes[(i + 1) % scenes.len()].0;
            nonce += 1;
            let refused = verdict(&service, &c.code(other, nonce));
            assert_eq!(refused["reason"], "policy_unmet", "{other:?} at {scene:?}: {refused}");
        }
    }
}

#[test]
fn only_cores_spelling_is_accepted_and_unknown_keys_are_refused() {
    let c = City::new("spelling");
    // The old spelling of the server's own scene list, and a scene core does not know.
    for old in ["metro-gate", "hotel-check-in", "gate"] {
        let e = parse(&with(c.args(), &["--scene", old])).unwrap_err();
        assert!(e.contains("unknown variant") && e.contains("metro_gate"), "{old}: {e}");
    }
    // An algorithm spelt otherwise, and none at all (never guessed from the key's length).
    let mut args = c.args();
    args[2] = "sm2".into();
    assert!(parse(&with(args, &["--scene", "parking"])).unwrap_err().contains("unknown variant `sm2`"));
    let no_alg: Vec<String> = c.args().into_iter().filter(|a| a != "--root-alg" && a != "ed25519").collect();
    assert!(parse(&with(no_alg, &["--scene", "parking"])).unwrap_err().contains("root_alg"));
    assert!(parse(&c.args()).unwrap_err().contains("scene"), "a scene is required");
    // A scene as a bare string in the file is not core's shape.
    assert!(ServerConfig::from_toml(&c.toml("scene = \"metro_gate\"")).is_err());
    // Misspelt and retired keys are refused, not ignored: `gm-only` would leave a GM
    // city's server accepting every algorithm.
    for key in ["gm-only = true", "gmonly = true", "no_revocation = true", "now = 5"] {
        let e = ServerConfig::from_toml(&c.toml(&format!("scene = {{ kind = \"parking\" }}\n{key}"))).unwrap_err();
        assert!(e.starts_with("unknown field"), "{key}: {e}");
    }
    // --site belongs to a scenic spot.
    assert!(parse(&with(c.args(), &["--site", "5"])).unwrap_err().contains("--scene scenic_spot"));
    assert!(parse(&with(c.args(), &["--scene", "scenic_spot"])).unwrap_err().contains("site"));
}

#[test]
fn the_command_line_overrides_the_file_key_by_key() {
    let c = City::new("precedence");
    let file = c.dir.join("server.toml");
    std::fs::write(
        &file,
        c.toml(
            "scene = { kind = \"hospital\" }\nskew_secs = 5\nmax_code_validity_secs = 60\nutc_offset_minutes = -300",
        ),
    )
    .unwrap();
    let f = file.to_string_lossy().into_owned();
    let config = parse(&["x".into(), "--config".into(), f.clone(), "--skew-secs".into(), "10".into()]).unwrap();
    assert_eq!(
        (config.verifier.skew_secs, config.verifier.max_code_validity_secs, config.verifier.utc_offset_minutes),
        (10, 60, -300)
    );
    assert_eq!(config.verifier.scene, Scene::Hospital);
    let config = parse(&["x".into(), "--config".into(), f, "--scene".into(), "parking".into()]).unwrap();
    assert_eq!(config.verifier.scene, Scene::Parking);
    assert!(!config.verifier.gm_only && !config.verifier.allow_missing_revocation_list);
    // The file's limits reach the verifier: a 61-second code is too long here.
    let service = c.service(
        &ServerConfig::from_toml(&c.toml("scene = { kind = \"parking\" }\nmax_code_validity_secs = 60")).unwrap(),
    );
    let options = PresentOptions { validity_secs: 61, nonce: None };
    let long = present(&c.credential, &c.device, &Scene::Parking, demo::NOW, options).unwrap().to_text();
    assert_eq!(verdict(&service, &long)["reason"], "code_validity_too_long");
}

#[test]
fn what_core_refuses_stops_the_service_before_it_starts() {
    let c = City::new("refused");
    let service = |args: Vec<String>| {
        parse(&args).unwrap().service(Arc::new(FixedClock(demo::NOW)), Box::new(std::io::sink())).map(|_| ())
    };
    // GM-only with an Ed25519 root.
    let e = service(with(c.args(), &["--scene", "parking", "--gm-only"])).unwrap_err();
    assert!(e.contains("unsupported_algorithm") && e.contains("SM2 root"), "{e}");
    // A root key that is not a key of its algorithm: 32 Ed25519 bytes read as P-256.
    let mut args = c.args();
    args[2] = "ecdsa_p256_sha256".into();
    let e = service(with(args, &["--scene", "parking"])).unwrap_err();
    assert!(e.contains("configuration"), "{e}");
    // Transport: no list state and no opt-out, or both; two list sources.
    let no_state: Vec<String> = c.args().into_iter().filter(|a| a != "--no-list-state").collect();
    let e = service(with(no_state.clone(), &["--scene", "parking"])).unwrap_err();
    assert!(e.contains("--list-state-file") && e.contains("--no-list-state"), "{e}");
    let both = with(c.args(), &["--scene", "parking", "--list-state-file", "s.json"]);
    assert!(service(both).unwrap_err().contains("not both"));
    // A list-state file that cannot be written (its directory does not exist): the
    // verifier saves at once, so the server does not start.
    let nowhere = c.dir.join("no-such-dir").join("state.json");
    let e = service(with(no_state.clone(), &["--scene", "parking", "--list-state-file", &nowhere.to_string_lossy()]))
        .unwrap_err();
    assert!(e.contains("list_state_unavailable"), "{e}");
    // One of another root: refused too (its floors mean nothing under this root).
    let other =
        citycode::ListState::from_json(&format!(r#"{{"version":1,"root_key_id":"{}"}}"#, "00".repeat(16))).unwrap();
    let foreign = c.dir.join("foreign.json");
    std::fs::write(&foreign, other.to_json()).unwrap();
    let e =
        service(with(no_state, &["--scene", "parking", "--list-state-file", &foreign.to_string_lossy()])).unwrap_err();
    assert!(e.contains("list_state_unavailable") && e.contains("root key"), "{e}");
    let e = service(with(c.args(), &["--scene", "parking", "--lists-dir", "/nonexistent"])).unwrap_err();
    assert!(e.contains("exactly one"), "{e}");
}
