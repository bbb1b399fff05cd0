//! The case runner: how every Rust test reads a case of codes.json.

use crate::prelude::*;

/// The file every implementation reads.
#[derive(Serialize, Deserialize)]
pub struct VectorFile {
    /// What the file is.
    pub description: String,
    /// Format version of the codes.
    pub format_version: u8,
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case: a verifier's whole configuration, the scanned text and the result.
#[derive(Serialize, Deserialize, Clone)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// What it proves.
    pub description: String,
    /// The exact text a QR carries.
    pub input: String,
    /// `"accept"` or a reason code.
    pub expected: String,
    /// Verification time, Unix seconds.
    pub now: u64,
    /// Everything the verifier is configured with.
    pub verifier: VerifierSetup,
    /// Codes accepted earlier by the same verifier, in order (replay state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// For accepted cases: exactly the disclosed claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// For accepted cases: the subject, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For accepted cases of a verifier running without a revocation list: `false`
    /// (the verdict says revocation was not checked). Absent means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_checked: Option<bool>,
    /// For accepted printed codes (SPEC.md §5.1): `true`; the staff must check the
    /// identity document. Absent means `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed: Option<bool>,
    /// For accepted codes that were not checked for replay (a printed code, SPEC.md
    /// §9.2): `false`. Absent means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_checked: Option<bool>,
    /// Binary length of the code, when the text decodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// QR version at error correction level M (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_version: Option<u8>,
}

/// A verifier configuration: core's [`VerifierConfig`] and the lists to load.
#[derive(Serialize, Deserialize, Clone)]
pub struct VerifierSetup {
    /// Root key, skew, validity limit, local offset, scene.
    #[serde(flatten)]
    pub config: VerifierConfig,
    /// Signed trust lists (base64url), loaded in order; a load failure is the result.
    pub trust_lists: Vec<String>,
    /// Signed revocation lists (base64url), loaded in order after the trust lists.
    pub revocation_lists: Vec<String>,
}

/// A code accepted earlier.
#[derive(Serialize, Deserialize, Clone)]
pub struct Seen {
    /// Its text.
    pub input: String,
    /// When it was accepted.
    pub now: u64,
}

/// Runs one case through the Rust verifier: loads lists, replays `seen`, verifies.
pub fn run_case(case: &Case) -> Result<Accepted, Rejection> {
    prepared_verifier(case)?.verify_at(&case.input, case.now)
}

/// The verifier of a case, ready for its `input`: configured, lists loaded in order at
/// the case's `now` (a load failure is the case's result), `seen` codes accepted.
pub fn prepared_verifier(case: &Case) -> Result<Verifier, Rejection> {
    let setup = &case.verifier;
    let bad = |what: &str| Rejection::new(citycode::Reason::Malformed, format!("vector file: {what}"));
    let mut v = setup.config.build()?;
    for list in &setup.trust_lists {
        v.load_trust_list(&decode_base64url(list).map_err(|_| bad("trust list"))?)?;
    }
    for list in &setup.revocation_lists {
        v.load_revocation_list_at(&decode_base64url(list).map_err(|_| bad("revocation list"))?, case.now)?;
    }
    for s in &case.seen {
        v.verify_at(&s.input, s.now).map_err(|r| bad(&format!("seen code rejected: {r}")))?;
    }
    Ok(v)
}

/// The outcome as the vectors spell it.
pub fn outcome(r: &Result<Accepted, Rejection>) -> String {
    match r {
        Ok(_) => "accept".into(),
        Err(e) => e.reason.code().into(),
    }
}

/// What building a verifier from a configuration object gives: `accept` or the reason
/// code of the refusal (SPEC.md §14.1).
pub fn config_outcome(verifier: &serde_json::Value) -> String {
    match serde_json::from_value::<VerifierConfig>(verifier.clone()) {
        Err(_) => "invalid_argument".into(),
        Ok(config) => config.build().map_or_else(|r| r.reason.code().to_string(), |_| "accept".into()),
    }
}
