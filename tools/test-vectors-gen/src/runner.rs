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

/// A published directory in memory (SPEC.md §8.4): a file it lacks is unreachable.
struct Directory<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl citycode::distribution::ListSource for Directory<'_> {
    fn fetch(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let text = self.0.get(name).and_then(serde_json::Value::as_str).ok_or("no such file")?;
        decode_base64url(text).map_err(|r| format!("{name} in the vector file: {r}"))
    }
}

/// Runs one case of publications.json: a verifier configured by `verifier`, holding no
/// list, polls each directory of `polls` in order. Returns each poll's outcome as the
/// file spells it (`accept`: applied or nothing new; otherwise the reason code), or the
/// configuration's refusal as the only outcome.
pub fn run_publication_case(case: &serde_json::Value) -> Vec<String> {
    let config = case.get("verifier").cloned().unwrap_or_default();
    let mut v = match serde_json::from_value::<VerifierConfig>(config).map(|c| c.build()) {
        Ok(Ok(v)) => v,
        Ok(Err(r)) => return vec![r.reason.code().into()],
        Err(_) => return vec!["invalid_argument".into()],
    };
    let polls = case.get("polls").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    let empty = serde_json::Map::new();
    polls
        .iter()
        .map(|poll| {
            let files = poll.get("files").and_then(serde_json::Value::as_object).unwrap_or(&empty);
            match v.update_from(&mut Directory(files)) {
                Ok(_) => "accept".into(),
                Err(r) => r.reason.code().into(),
            }
        })
        .collect()
}
