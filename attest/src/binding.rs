//! What an attestation must have signed for citycode (SPEC.md §4.10.3): the one place
//! the binding of an issuer's challenge (and, for Apple, the device key) is computed.

use citycode::PublicKey;
use citycode::request::{MAX_CHALLENGE_LEN, MIN_CHALLENGE_LEN};
use sha2::{Digest, Sha256};

use crate::error::AttestationError;

/// Label of the Android attestation challenge.
pub const LABEL_ANDROID: &[u8] = b"citycode/v1/key-attestation/android\0";
/// Label of the Apple App Attest client data hash.
pub const LABEL_APPLE: &[u8] = b"citycode/v1/key-attestation/apple\0";

fn check_len(challenge: &[u8]) -> Result<(), AttestationError> {
    if (MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&challenge.len()) {
        Ok(())
    } else {
        Err(AttestationError::Malformed("an issuer challenge is 16 to 64 bytes"))
    }
}

/// The `attestationChallenge` an Android phone sets when it generates the device key
/// (`KeyGenParameterSpec.Builder.setAttestationChallenge`): SHA-256 of the label and
/// the issuer's challenge. The key does not exist yet when the challenge is set, so it
/// cannot be in it; the leaf certificate names the key.
pub fn android_challenge(challenge: &[u8]) -> Result<[u8; 32], AttestationError> {
    check_len(challenge)?;
    let mut h = Sha256::new();
    h.update(LABEL_ANDROID);
    h.update(challenge);
    Ok(h.finalize().into())
}

/// The `clientDataHash` an iOS app passes to `DCAppAttestService.attestKey`: SHA-256 of
/// the label, the issuer's challenge, and the device key (its algorithm id and wire
/// encoding, SPEC.md §4.1). App Attest attests the app's own App Attest key, not the
/// device key, so the device key must be in what it signs.
pub fn apple_client_data_hash(challenge: &[u8], device_key: &PublicKey) -> Result<[u8; 32], AttestationError> {
    check_len(challenge)?;
    let mut h = Sha256::new();
    h.update(LABEL_APPLE);
    h.update(challenge);
    h.update([device_key.algorithm().id()]);
    h.update(device_key.to_bytes());
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use citycode::{Algorithm, KeyPair};

    #[test]
    fn bindings_are_labelled_digests_of_the_challenge_and_the_key() {
        let challenge = [7u8; 32];
        let a = android_challenge(&challenge).unwrap();
        let expected: [u8; 32] = Sha256::digest([LABEL_ANDROID, &challenge[..]].concat()).into();
        assert_eq!(a, expected);
        assert_ne!(a, android_challenge(&[8u8; 32]).unwrap());
        let key = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[3u8; 32]).unwrap().public_key();
        let other = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[4u8; 32]).unwrap().public_key();
        let b = apple_client_data_hash(&challenge, &key).unwrap();
        assert_ne!(b, apple_client_data_hash(&challenge, &other).unwrap());
        assert_ne!(b, apple_client_data_hash(&[8u8; 32], &key).unwrap());
        assert_ne!(&b, &a, "the two labels separate the formats");
        for len in [15, 65] {
            assert!(android_challenge(&vec![0; len]).is_err());
            assert!(apple_client_data_hash(&vec![0; len], &key).is_err());
        }
    }
}
