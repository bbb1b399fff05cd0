//! Why an attestation was refused: one variant per reason, each with a stable code
//! (SPEC.md §4.10.6).

/// A refused device key attestation. [`AttestationError::code`] is the stable reason
/// code an issuer records and returns; the payload says where, for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// The policy requires an attestation and the key request came without one.
    #[error("attestation_required: no attestation for this key, and the policy requires one")]
    Required,
    /// The message, a certificate, the attestation extension or the App Attest object is
    /// not what the schema allows (bad base64, DER that is not strict, a wrong type, a
    /// value out of range, a duplicate or misordered field, trailing bytes).
    #[error("attestation_malformed: {0}")]
    Malformed(&'static str),
    /// The format names no attestation this verifier knows, or a certificate uses a
    /// signature or key algorithm it does not support (ML-DSA, RSA below 2048 bits).
    #[error("attestation_unsupported: {0}")]
    Unsupported(&'static str),
    /// The certificates do not form a path: too few or too many, names that do not
    /// chain, a chain cut short before any root, an issuer that is no CA, a path length
    /// exceeded, an unknown critical extension, or the attestation extension missing
    /// from the leaf or present in any other certificate (a chain extended below the
    /// attested key).
    #[error("attestation_chain: {0}")]
    Chain(&'static str),
    /// The chain ends at a root whose key is not in the configured root set.
    #[error("attestation_root_unknown: the chain's root is not a configured attestation root")]
    RootUnknown,
    /// A certificate's signature does not verify under its issuer's key.
    #[error("attestation_signature: certificate {0} (0 = leaf) is not signed by its issuer")]
    Signature(usize),
    /// A certificate, or the root it chains to, has expired at the verifier's time.
    #[error("attestation_expired: certificate {0} (0 = leaf) has expired")]
    Expired(usize),
    /// A certificate, or the root it chains to, is not yet valid at the verifier's time.
    #[error("attestation_not_yet_valid: certificate {0} (0 = leaf) is not yet valid")]
    NotYetValid(usize),
    /// A certificate's serial number is on the revocation status list.
    #[error("attestation_revoked: certificate {0} (0 = leaf) is on the revocation status list")]
    Revoked(usize),
    /// The attested challenge (Android `attestationChallenge`, Apple nonce) is not the
    /// one this issuer's challenge gives (SPEC.md §4.10.3).
    #[error("attestation_challenge: the attestation was not made for this issuer's challenge")]
    Challenge,
    /// The attestation or KeyMint security level is below the policy's minimum
    /// (software, or TEE where StrongBox is required).
    #[error("attestation_security_level: the key is not in hardware of the required level")]
    SecurityLevel,
    /// The attested key is not the requested device key (another key, another curve,
    /// or a device key that no attestation format can carry).
    #[error("attestation_key_mismatch: the attested key is not the requested device key")]
    KeyMismatch,
    /// The hardware-enforced purposes of the attested key do not include signing.
    #[error("attestation_purpose: the attested key may not sign")]
    Purpose,
    /// The attested key was not generated in the secure hardware (imported, derived).
    #[error("attestation_origin: the attested key was not generated in the secure hardware")]
    Origin,
    /// The root of trust reports an unlocked bootloader or an unverified boot, and the
    /// policy requires a locked, verified device.
    #[error("attestation_boot_state: {0}")]
    BootState(&'static str),
    /// The attestation is for an app this issuer does not accept (Apple: the App ID;
    /// Android, where the policy names apps: the package and its signing certificate).
    #[error("attestation_app_id: the attestation is for another app")]
    AppId,
    /// Apple: a development-environment attestation, which the policy refuses.
    #[error("attestation_environment: a development attestation, and the policy requires production")]
    Environment,
}

impl AttestationError {
    /// The stable reason code (SPEC.md §4.10.6). Never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            AttestationError::Required => "attestation_required",
            AttestationError::Malformed(_) => "attestation_malformed",
            AttestationError::Unsupported(_) => "attestation_unsupported",
            AttestationError::Chain(_) => "attestation_chain",
            AttestationError::RootUnknown => "attestation_root_unknown",
            AttestationError::Signature(_) => "attestation_signature",
            AttestationError::Expired(_) => "attestation_expired",
            AttestationError::NotYetValid(_) => "attestation_not_yet_valid",
            AttestationError::Revoked(_) => "attestation_revoked",
            AttestationError::Challenge => "attestation_challenge",
            AttestationError::SecurityLevel => "attestation_security_level",
            AttestationError::KeyMismatch => "attestation_key_mismatch",
            AttestationError::Purpose => "attestation_purpose",
            AttestationError::Origin => "attestation_origin",
            AttestationError::BootState(_) => "attestation_boot_state",
            AttestationError::AppId => "attestation_app_id",
            AttestationError::Environment => "attestation_environment",
        }
    }

    /// Every code, in the order of SPEC.md's table (for adapters and documentation
    /// checks).
    pub const CODES: [&'static str; 17] = [
        "attestation_required",
        "attestation_malformed",
        "attestation_unsupported",
        "attestation_chain",
        "attestation_root_unknown",
        "attestation_signature",
        "attestation_expired",
        "attestation_not_yet_valid",
        "attestation_revoked",
        "attestation_challenge",
        "attestation_security_level",
        "attestation_key_mismatch",
        "attestation_purpose",
        "attestation_origin",
        "attestation_boot_state",
        "attestation_app_id",
        "attestation_environment",
    ];
}

impl From<der::Error> for AttestationError {
    fn from(_: der::Error) -> Self {
        AttestationError::Malformed("not strict DER of the expected structure")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_displayed_first() {
        let all = [
            AttestationError::Required,
            AttestationError::Malformed("x"),
            AttestationError::Unsupported("x"),
            AttestationError::Chain("x"),
            AttestationError::RootUnknown,
            AttestationError::Signature(0),
            AttestationError::Expired(0),
            AttestationError::NotYetValid(0),
            AttestationError::Revoked(0),
            AttestationError::Challenge,
            AttestationError::SecurityLevel,
            AttestationError::KeyMismatch,
            AttestationError::Purpose,
            AttestationError::Origin,
            AttestationError::BootState("x"),
            AttestationError::AppId,
            AttestationError::Environment,
        ];
        let codes: Vec<_> = all.iter().map(AttestationError::code).collect();
        assert_eq!(codes, AttestationError::CODES);
        for e in &all {
            assert!(e.to_string().starts_with(e.code()), "{e}");
        }
    }
}
