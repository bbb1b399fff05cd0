//! Generates test-vectors/ from fixed seeds and a fixed clock, and runs their cases.
//!
//! `cargo run -p citycode --example gen_vectors` rewrites the files; regenerating yields
//! identical bytes (core/tests/vectors.rs checks it). Every case is run through the Rust
//! verifier as it is made, and generation fails if a case does not give its intended
//! result.
//!
//! The crate also holds the case runner ([`run_case`]) that the Rust tests use, so the
//! generator and the tests read cases the same way. codes.json is built section by
//! section (module `codes`), then the cases of `conformance` and `gm`.

mod codes;
mod configs;
mod conformance;
mod crafted;
mod generator;
mod gm;
mod key_requests;
mod publications;
mod refusals;
mod runner;
mod sm2_primitives;

pub use runner::{
    Case, Seen, VectorFile, VerifierSetup, config_outcome, outcome, prepared_verifier, run_case, run_publication_case,
};

/// What every module of the generator uses.
mod prelude {
    pub(crate) use crate::crafted::*;
    pub(crate) use crate::generator::*;
    pub(crate) use crate::runner::*;
    pub(crate) use citycode::claims::{AccountStatus, Claims, Domain, OtherClaim, Relation};
    pub(crate) use citycode::credential::{CardLayout, Credential, CredentialRequest, Issuer, Subject};
    pub(crate) use citycode::demo::{self, DemoCity, key};
    pub(crate) use citycode::distribution::ListStatus;
    pub(crate) use citycode::keys::{Algorithm, DeviceSigner, KeyPair, PublicKey};
    pub(crate) use citycode::text::{
        MAX_TEXT_LEN, decode_base64url, decode_text, encode_base64url, encode_text, hex, unhex,
    };
    pub(crate) use citycode::trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
    pub(crate) use citycode::{
        Accepted, Error, PresentOptions, Qr, Rejection, Scene, UnverifiedCode, Verifier, VerifierConfig, present,
    };
    pub(crate) use serde::{Deserialize, Serialize};

    /// Seconds in a day.
    pub(crate) const DAY: u64 = 86_400;

    /// What the generator's steps return.
    pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error>>;
}

use prelude::*;

/// The files of test-vectors/: each its path under that directory and its bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// Builds every case of codes.json.
pub fn generate() -> Result<VectorFile, Box<dyn std::error::Error>> {
    let city = DemoCity::new()?;
    let mut g = Gen { city, cases: Vec::new() };
    let scenes = codes::scenes::cases(&mut g)?;
    codes::time::cases(&mut g)?;
    let rogue_issuer = codes::keys::cases(&mut g)?;
    codes::revocation::cases(&mut g)?;
    codes::replay_policy::cases(&mut g, &scenes.metro_code)?;
    codes::tampering::cases(&mut g)?;
    codes::lists::cases(&mut g, &scenes.tl_future, &rogue_issuer)?;
    let tl_wide = codes::claims::cases(&mut g)?;
    codes::guardian::cases(&mut g)?;
    let (printed, union_bytes) = codes::printed::cases(&mut g, &tl_wide)?;
    codes::windows::cases(&mut g)?;
    codes::text_bounds::cases(&mut g)?;
    codes::replay_ids::cases(&mut g)?;
    codes::list_parsing::cases(&mut g)?;
    codes::revocation_signer_issued::cases(&mut g)?;
    codes::revocation_signer_now::cases(&mut g)?;
    let p256_code = codes::p256::cases(&mut g, &scenes.p256, &scenes.cred_p256)?;
    codes::ed25519::cases(&mut g)?;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    conformance::conformance_cases(&mut g, &cred, &device, &printed, &union_bytes, &p256_code)?;
    refusals::cases(&mut g)?;
    g.cases.extend(gm::gm_cases(&g)?);
    refusals::gm_cases(&mut g)?;
    Ok(VectorFile {
        description: "citycode v1 verification vectors: see test-vectors/README.md".into(),
        format_version: citycode::credential::FORMAT_VERSION,
        cases: g.cases,
    })
}

/// The files, as written to test-vectors/.
pub fn render() -> Result<Files, Box<dyn std::error::Error>> {
    let file = generate()?;
    let mut json = serde_json::to_string_pretty(&file)?;
    json.push('\n');
    let city = DemoCity::new()?;
    // Instances of one holder's batch (SPEC.md §13) as `Issuer::issue_batch` makes them:
    // each its own device key and subject, the same claims. Fixed subjects keep the file
    // reproducible.
    let batch = (1..=3u8)
        .map(|n| {
            let (device, credential) = city.resident(n)?;
            Ok(serde_json::json!({
                "credential": credential.to_base64url()?,
                "device_secret": hex(&device.secret_bytes()),
                "subject": credential.subject.to_hex(),
            }))
        })
        .collect::<Res<Vec<_>>>()?;
    let holder = serde_json::json!({
        "description": "The demo resident's credential and device key, for holder tests in every language. The secret is a public test constant: never use it outside tests.",
        "credential": city.credential.to_base64url()?,
        "device_alg": Algorithm::Ed25519,
        "device_secret": hex(&city.device.secret_bytes()),
        "now": NOW,
        "root_key": hex(&city.root.public_key().to_bytes()),
        "trust_list": encode_base64url(&city.trust_list),
        "batch": batch,
        "identity": {
            "description": "The demo resident's identity claim and the document number it commits to (SPEC.md §4.3); a wrong number must not match.",
            "claim": demo::resident_identity()?,
            "number": demo::ID_NUMBER,
            "wrong_number": "110105194912310011",
        },
    });
    let mut holder_json = serde_json::to_string_pretty(&holder)?;
    holder_json.push('\n');
    let mut sm2_json = serde_json::to_string_pretty(&sm2_primitives::sm2_primitives()?)?;
    sm2_json.push('\n');
    let mut key_requests_json = serde_json::to_string_pretty(&key_requests::key_request_vectors()?)?;
    key_requests_json.push('\n');
    let mut configs_json = serde_json::to_string_pretty(&configs::config_vectors()?)?;
    configs_json.push('\n');
    // The configuration of the first case of codes.json (a hospital verifier).
    let setup = file.cases.first().ok_or("no case")?.verifier.clone();
    let mut publications_json = serde_json::to_string_pretty(&publications::publication_vectors(&setup)?)?;
    publications_json.push('\n');
    let mut files = vec![
        ("codes.json".to_string(), json.into_bytes()),
        ("holder.json".to_string(), holder_json.into_bytes()),
        ("sm2.json".to_string(), sm2_json.into_bytes()),
        ("key-requests.json".to_string(), key_requests_json.into_bytes()),
        ("configs.json".to_string(), configs_json.into_bytes()),
        ("publications.json".to_string(), publications_json.into_bytes()),
    ];
    files.extend(publications::publications(&city)?);
    Ok(files)
}
