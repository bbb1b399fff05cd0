//! SM2 in a build without it (feature `sm2` off, as the default WASM scanner): no SM2
//! key parses and nothing SM2 signs or verifies. The types are uninhabited, so the key
//! layer matches on SM2 without `cfg` and the compiler proves those arms unreachable.

use zeroize::Zeroizing;

use super::{Algorithm, SIGNATURE_LEN, Scheme};
use crate::error::{Error, Reason};

/// SM2 with SM3, absent from this build.
pub(crate) enum Sm2Sm3 {}

/// No SM2 key exists in this build.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Sm2Key {}

/// No SM2 secret exists in this build.
pub(crate) enum Sm2Secret {}

/// No SM2 point can be read in this build.
pub(crate) fn compress(_: &[u8]) -> Result<[u8; 33], Reason> {
    Err(Reason::UnsupportedAlgorithm)
}

impl Scheme for Sm2Sm3 {
    const ALGORITHM: Algorithm = Algorithm::Sm2Sm3;
    type PublicKey = Sm2Key;
    type SecretKey = Sm2Secret;

    fn parse_public(_: &[u8]) -> Result<Sm2Key, Reason> {
        Err(Reason::UnsupportedAlgorithm)
    }
    fn encode_public(key: &Sm2Key) -> Vec<u8> {
        match *key {}
    }
    fn verify(key: &Sm2Key, _: &[u8], _: &[u8]) -> bool {
        match *key {}
    }
    fn digest(_: &[u8]) -> Option<[u8; 32]> {
        None
    }
    fn secret_from_bytes(_: &[u8; 32]) -> Result<Sm2Secret, Error> {
        Err(Error::OutOfRange("this build has no SM2 (feature sm2)".into()))
    }
    fn public_of(secret: &Sm2Secret) -> Result<Sm2Key, Reason> {
        match *secret {}
    }
    fn secret_bytes(secret: &Sm2Secret) -> Zeroizing<Vec<u8>> {
        match *secret {}
    }
    fn sign(secret: &Sm2Secret, _: &[u8]) -> [u8; SIGNATURE_LEN] {
        match *secret {}
    }
    fn signature_from_der(_: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
        Err(Error::Signer("this build has no SM2 (feature sm2)".into()))
    }
}
