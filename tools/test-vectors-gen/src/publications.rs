//! Publications (SPEC.md §8.4): the good ones as directories (`lists/1/`, `lists/2/`),
//! and `publications.json`, polls a verifier must refuse or accept, with the reason.

use crate::prelude::*;

/// Two publications of the demo city's lists (SPEC.md §8.4), as `citycode publish`
/// writes them: `lists/1/` (sequence 1, nothing revoked) and `lists/2/` (sequence 2,
/// the demo device key revoked), for distribution tests in every language.
pub(crate) fn publications(city: &DemoCity) -> Res<Vec<(String, Vec<u8>)>> {
    let now = NOW as u32;
    let revoked = RevocationList {
        signer: ListSigner::Root,
        sequence: 2,
        issued_at: now,
        expires_at: now + DAY as u32,
        entries: vec![Revoked::DeviceKey(city.device.public_key().key_id())],
    }
    .sign(&city.root)?;
    let mut files = Vec::new();
    for (n, revocations) in [(1u64, city.revocation_list.clone()), (2, revoked)] {
        let status =
            ListStatus::describe(n, now, now + 3600, &city.root.public_key(), &city.trust_list, &[&revocations])?;
        files.push((format!("lists/{n}/trust-list.bin"), city.trust_list.clone()));
        files.push((format!("lists/{n}/revocation-root.bin"), revocations));
        files.push((format!("lists/{n}/status.json"), status.index_json().into_bytes()));
        files.push((format!("lists/{n}/status.bin"), status.sign(&city.root)?));
    }
    Ok(files)
}

/// A status body (SPEC.md §8.4) with `entries` already encoded, then `root_alg`.
fn status_body(version: u8, sequence: u64, count: &[u8], entries: &[u8], root_alg: u8) -> Vec<u8> {
    let now = NOW as u32;
    let mut b = vec![version];
    b.extend_from_slice(&sequence.to_be_bytes());
    b.extend_from_slice(&now.to_be_bytes());
    b.extend_from_slice(&(now + 3600).to_be_bytes());
    b.extend_from_slice(count);
    b.extend_from_slice(entries);
    b.push(root_alg);
    b
}

/// One status entry: kind, kid (kind 3 only), the list's sequence and expiry, the digest
/// of `file` under the root's algorithm.
fn status_entry(kind: u8, kid: Option<u8>, sequence: u64, file: &[u8]) -> Res<Vec<u8>> {
    let mut e = vec![kind];
    e.extend(kid);
    e.extend_from_slice(&sequence.to_be_bytes());
    e.extend_from_slice(&(NOW as u32 + DAY as u32).to_be_bytes());
    e.extend_from_slice(&citycode::digest::digest(Algorithm::Ed25519, file).ok_or("no digest")?);
    Ok(e)
}

/// `body` signed by `root` as a status.
fn signed_status(body: Vec<u8>, root: &KeyPair) -> Vec<u8> {
    let mut tbs = citycode::digest::LABEL_LIST_STATUS.to_vec();
    tbs.extend_from_slice(&body);
    let mut out = body;
    out.extend_from_slice(&root.sign(&tbs));
    out
}

/// The polls of one case: each directory and the outcome it must give.
type Polls = Vec<(serde_json::Value, &'static str)>;

/// `test-vectors/publications.json`: a verifier holding no list polls published
/// directories in order; each poll applies (`accept`) or is refused with a reason.
pub(crate) fn publication_vectors(setup: &VerifierSetup) -> Res<serde_json::Value> {
    use serde_json::json;
    let city = DemoCity::new()?;
    let root = &city.root;
    let good = publications(&city)?;
    let file = |dir: u8, name: &str| -> Res<Vec<u8>> {
        let path = format!("lists/{dir}/{name}");
        Ok(good.iter().find(|(p, _)| *p == path).ok_or(format!("no {path}"))?.1.clone())
    };
    let (trust, rev_1, rev_2) =
        (file(1, "trust-list.bin")?, file(1, "revocation-root.bin")?, file(2, "revocation-root.bin")?);
    let dir = |status: &[u8], lists: &[(&str, &[u8])]| -> serde_json::Value {
        let mut files = serde_json::Map::new();
        files.insert("status.bin".into(), json!(encode_base64url(status)));
        for (name, bytes) in lists {
            files.insert((*name).into(), json!(encode_base64url(bytes)));
        }
        serde_json::Value::Object(files)
    };
    let both: Vec<(&str, &[u8])> = vec![("trust-list.bin", &trust), ("revocation-root.bin", &rev_1)];
    let whole = |n: u8| -> Res<serde_json::Value> {
        let rev = if n == 1 { &rev_1 } else { &rev_2 };
        Ok(dir(&file(n, "status.bin")?, &[("trust-list.bin", &trust), ("revocation-root.bin", rev)]))
    };
    let ed = Algorithm::Ed25519.id();
    let trust_entry = status_entry(1, None, 1, &trust)?;
    let root_entry = status_entry(2, None, 1, &rev_1)?;
    let pair = [trust_entry.clone(), root_entry.clone()].concat();
    let status_2 = file(2, "status.bin")?;
    let mut flipped = file(1, "status.bin")?;
    *flipped.last_mut().ok_or("empty status")? ^= 1;
    let mut trailing = file(1, "status.bin")?;
    trailing.push(0);
    let mut resigned_2 =
        status_body(1, 2, &[2], &[trust_entry.clone(), status_entry(2, None, 2, &rev_2)?].concat(), ed);
    // The same sequence 2 and lists, another issued_at: other bytes.
    resigned_2.splice(9..13, (NOW as u32 + 1).to_be_bytes());
    let resigned_2 = signed_status(resigned_2, root);
    let unsigned_1026 = {
        let mut b = status_body(1, 2, &[0x82, 0x08], &[], ed);
        b.pop();
        b
    };
    // (name, description, polls: (directory, expected))
    let cases: Vec<(&str, &str, Polls)> = vec![
        (
            "lists_1_then_2",
            "The two good publications in order: both apply.",
            vec![(whole(1)?, "accept"), (whole(2)?, "accept")],
        ),
        (
            "first_entry_not_trust_list",
            "A validly signed status whose only entry is the root revocation list: the first entry MUST be the trust list (malformed, SPEC.md §8.4).",
            vec![(dir(&signed_status(status_body(1, 2, &[1], &root_entry, ed), root), &both), "malformed")],
        ),
        (
            "entries_unsorted",
            "A validly signed status: the trust list, then issuer 2's revocation list, then issuer 1's: entries MUST be strictly increasing by (kind, kid) (non_canonical).",
            vec![(
                dir(
                    &signed_status(
                        status_body(
                            1,
                            2,
                            &[3],
                            &[
                                trust_entry.clone(),
                                status_entry(3, Some(2), 1, &rev_1)?,
                                status_entry(3, Some(1), 1, &rev_1)?,
                            ]
                            .concat(),
                            ed,
                        ),
                        root,
                    ),
                    &both,
                ),
                "non_canonical",
            )],
        ),
        (
            "entry_count_1026",
            "A status whose entry count is 1,026 and nothing after the count: refused when the count is read (malformed, not truncated).",
            vec![(dir(&unsigned_1026, &both), "malformed")],
        ),
        (
            "no_entry",
            "A validly signed status of no entry: at least one (malformed).",
            vec![(dir(&signed_status(status_body(1, 2, &[0], &[], ed), root), &both), "malformed")],
        ),
        (
            "entry_kind_4",
            "A validly signed status whose second entry is of kind 4: kinds are 1 to 3 (malformed).",
            vec![(
                dir(
                    &signed_status(
                        status_body(1, 2, &[2], &[trust_entry.clone(), status_entry(4, None, 1, &rev_1)?].concat(), ed),
                        root,
                    ),
                    &both,
                ),
                "malformed",
            )],
        ),
        (
            "trust_list_alone",
            "A validly signed status of one entry, the trust list: it applies (1 to 1,025 entries).",
            vec![(dir(&signed_status(status_body(1, 2, &[1], &trust_entry, ed), root), &both), "accept")],
        ),
        (
            "version_2",
            "A validly signed status of version 2 (unsupported_version, SPEC.md §8.3).",
            vec![(dir(&signed_status(status_body(2, 2, &[2], &pair, ed), root), &both), "unsupported_version")],
        ),
        (
            "root_alg_4",
            "A validly signed status whose root_alg is 4 (unassigned): refused as it is read.",
            vec![(dir(&signed_status(status_body(1, 2, &[2], &pair, 4), root), &both), "unsupported_algorithm")],
        ),
        (
            "root_alg_p256_signed_by_ed25519_root",
            "A status whose root_alg names ECDSA P-256, signed by the (Ed25519) root: root_alg MUST be the root's algorithm (bad_list_status_signature).",
            vec![(
                dir(&signed_status(status_body(1, 2, &[2], &pair, Algorithm::EcdsaP256Sha256.id()), root), &both),
                "bad_list_status_signature",
            )],
        ),
        (
            "trailing_byte",
            "lists/1's status with one byte after its signature (trailing_bytes, SPEC.md §8.3).",
            vec![(dir(&trailing, &both), "trailing_bytes")],
        ),
        (
            "signature_flipped",
            "lists/1's status with one bit of its signature flipped.",
            vec![(dir(&flipped, &both), "bad_list_status_signature")],
        ),
        (
            "lower_sequence",
            "lists/2, then lists/1: a status of a lower sequence than the last applied (a stale mirror).",
            vec![(whole(2)?, "accept"), (whole(1)?, "list_status_rollback")],
        ),
        (
            "equal_sequence_other_bytes",
            "lists/2, then another root-signed status of sequence 2 (another issued_at): equal sequence with other bytes.",
            vec![
                (whole(2)?, "accept"),
                (
                    dir(&resigned_2, &[("trust-list.bin", &trust), ("revocation-root.bin", &rev_2)]),
                    "list_status_rollback",
                ),
            ],
        ),
        (
            "same_status_again",
            "lists/1 twice: the second poll finds nothing new and applies nothing (accept).",
            vec![(whole(1)?, "accept"), (whole(1)?, "accept")],
        ),
        (
            "mixed_publication",
            "lists/2's status beside lists/1's revocation-root.bin: the digest differs (list_digest_mismatch).",
            vec![(dir(&status_2, &both), "list_digest_mismatch")],
        ),
        (
            "missing_file",
            "lists/2 without its revocation-root.bin (list_unavailable).",
            vec![(dir(&status_2, &[("trust-list.bin", &trust)]), "list_unavailable")],
        ),
    ];
    let config = serde_json::to_value(&setup.config)?;
    let mut out = Vec::new();
    for (name, description, polls) in cases {
        let case = json!({
            "name": name,
            "description": description,
            "verifier": config,
            "polls": polls.iter().map(|(files, expected)| json!({"files": files, "expected": expected})).collect::<Vec<_>>(),
        });
        let got = run_publication_case(&case);
        let want: Vec<&str> = polls.iter().map(|(_, e)| *e).collect();
        if got != want {
            return Err(format!("publication case {name}: expected {want:?}, verifier says {got:?}").into());
        }
        out.push(case);
    }
    Ok(json!({
        "description": "Publications (SPEC.md §8.4): a verifier configured by `verifier`, holding no list, polls each directory of `polls` in order (`files`: file name to base64url bytes; a file not named is unreachable). Each poll applies or finds nothing new (`accept`) or is refused with `expected`.",
        "cases": out,
    }))
}
