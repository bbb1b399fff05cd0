//! `test-vectors/configs.json`: verifier configurations (SPEC.md §14.1).

use crate::prelude::*;

/// `test-vectors/configs.json`: verifier configurations (SPEC.md §14.1) a verifier
/// accepts or refuses, with the reason: the root key checks of §4.2 and GM-only's SM2
/// root (§4.6), which no case of codes.json can reach.
pub(crate) fn config_vectors() -> Res<serde_json::Value> {
    use serde_json::json;
    let city = DemoCity::new()?;
    let gm = DemoCity::gm()?;
    let demo_root = hex(&city.root.public_key().to_bytes());
    let sm2_root = hex(&gm.root.public_key().to_bytes());
    let sm2_p = "fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff";
    let p256_p = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
    let list: Vec<(&str, &str, &str, String, bool, &str)> = vec![
        ("accept_ed25519_root", "The demo city's Ed25519 root key.", "ed25519", demo_root.clone(), false, "accept"),
        (
            "accept_gm_only_sm2_root",
            "A GM-only verifier with the GM city's SM2 root.",
            "sm2_sm3",
            sm2_root,
            true,
            "accept",
        ),
        (
            "gm_only_ed25519_root",
            "A GM-only verifier configured with an Ed25519 root: refused (SPEC.md §4.6).",
            "ed25519",
            demo_root.clone(),
            true,
            "unsupported_algorithm",
        ),
        (
            "root_key_small_order",
            "The Ed25519 identity point as the root key: under the cofactored equation it verifies forged lists (SPEC.md §4.2).",
            "ed25519",
            format!("01{}", "00".repeat(31)),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_ed25519_off_curve",
            "An Ed25519 root key whose y has no x on the curve.",
            "ed25519",
            hex(&off_curve_point()?),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_p256_x_is_p",
            "A P-256 root key 02 || p: x must be below p (SPEC.md §4.2).",
            "ecdsa_p256_sha256",
            format!("02{p256_p}"),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_sm2_x_is_p",
            "An SM2 root key 02 || p: x = 0 is on the SM2 curve, but x must be below p.",
            "sm2_sm3",
            format!("02{sm2_p}"),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_sm2_off_curve",
            "An SM2 root key 02 || x with no point on the SM2 curve.",
            "sm2_sm3",
            hex(&sm2_off_curve_point()?),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_wrong_length",
            "An Ed25519 root key of 31 bytes.",
            "ed25519",
            demo_root.get(..62).ok_or("root")?.to_string(),
            false,
            "malformed",
        ),
        (
            "root_key_not_hex",
            "A root key that is not hex.",
            "ed25519",
            format!("zz{}", demo_root.get(2..).ok_or("root")?),
            false,
            "text_encoding",
        ),
    ];
    let mut cases = Vec::new();
    for (name, description, alg, root_key, gm_only, expected) in list {
        let verifier = if gm_only {
            json!({"root_alg": alg, "root_key": root_key, "scene": {"kind": "metro_gate"}, "gm_only": true})
        } else {
            json!({"root_alg": alg, "root_key": root_key, "scene": {"kind": "metro_gate"}})
        };
        let got = config_outcome(&verifier);
        if got != expected {
            return Err(format!("config case {name}: expected {expected}, the verifier says {got}").into());
        }
        cases.push(json!({"name": name, "description": description, "verifier": verifier, "expected": expected}));
    }
    Ok(json!({
        "description": "Verifier configurations (SPEC.md §14.1): building a verifier from `verifier` succeeds (`accept`) or is refused with `expected`, before any list is loaded.",
        "cases": cases,
    }))
}
