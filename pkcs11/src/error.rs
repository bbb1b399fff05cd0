//! What can go wrong between citycode and a token. Every variant signs nothing.

/// A token key could not be opened, generated or used. Each variant has a stable code
/// ([`TokenError::code`], listed in SPEC.md §4.6) for logs and the CLI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The configuration is incomplete or contradictory (both a token label and a URI,
    /// no PIN source, an unknown `pkcs11:` URI attribute, a PIN in the URI, ...).
    #[error("token key configuration: {0}")]
    Config(String),
    /// The PIN source could not be read: the file is missing, unreadable or readable by
    /// others, or the environment variable is unset or empty.
    #[error("token PIN: {0}")]
    PinSource(String),
    /// The PKCS#11 library could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {message}")]
    Module {
        /// The library path from the configuration.
        module: String,
        /// What the loader or `C_Initialize` said.
        message: String,
    },
    /// No slot holds a token with this label (and serial, manufacturer, model if the URI
    /// names them).
    #[error("token not found: no slot holds a token labelled {0:?}")]
    TokenNotFound(String),
    /// The token refused the PIN (`CKR_PIN_INCORRECT`, `CKR_PIN_LEN_RANGE`,
    /// `CKR_PIN_INVALID`).
    #[error("the token refused the PIN")]
    WrongPin,
    /// The token's user PIN is locked (`CKR_PIN_LOCKED`): too many wrong PINs. The
    /// security officer must unlock it.
    #[error("the token's user PIN is locked")]
    PinLocked,
    /// No private key (or no public key beside it) with this label or id on the token.
    #[error("key not found on the token: {0}")]
    KeyNotFound(String),
    /// More than one private key matches the label or id.
    #[error("{0} keys match on the token: give a key id as well")]
    AmbiguousKey(usize),
    /// A key of another type or curve than the configuration's algorithm, or one the
    /// token does not allow to sign.
    #[error("key of the wrong type: expected {expected}, found {found}")]
    WrongKeyType {
        /// The configured algorithm.
        expected: String,
        /// What the token says the key is.
        found: String,
    },
    /// The private key may leave the token (`CKA_EXTRACTABLE` true or `CKA_SENSITIVE`
    /// false), so it is no better kept than a key file. Refused unless the configuration
    /// says `allow_extractable = true`.
    #[error("the token key is extractable or not sensitive: refused (allow_extractable = true to accept)")]
    KeyExtractable,
    /// The token's private and public key objects do not pair: the start-up probe
    /// signature does not verify under the public key.
    #[error("the token's public key does not verify the private key's signature")]
    KeyMismatch,
    /// After a lost session, the token found under the same label holds another key than
    /// the one this signer was opened with.
    #[error("the token key changed while in use: expected {expected}")]
    KeyReplaced {
        /// The key this signer was opened with (hex).
        expected: String,
    },
    /// The token does not offer the signing mechanism (`CKM_EDDSA`, `CKM_ECDSA`, or the
    /// configured SM2 mechanism) for signing.
    #[error("mechanism not supported by the token: {0}")]
    MechanismNotSupported(String),
    /// The token went away while in use (`CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`,
    /// or its slot or key vanished) and could not be found again.
    #[error("token removed while in use: {0}")]
    TokenRemoved(String),
    /// Key generation: a key with this label or id already exists on the token.
    #[error("a key with this label or id already exists on the token: {0}")]
    KeyExists(String),
    /// Any other refusal by the token or the library.
    #[error("PKCS#11: {0}")]
    Device(String),
}

impl TokenError {
    /// The stable code: `config`, `pin_source`, `module`, `token_not_found`,
    /// `wrong_pin`, `pin_locked`, `key_not_found`, `ambiguous_key`, `wrong_key_type`,
    /// `key_extractable`, `key_mismatch`, `key_replaced`, `mechanism_not_supported`,
    /// `token_removed`, `key_exists`, `device`.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Config(_) => "config",
            TokenError::PinSource(_) => "pin_source",
            TokenError::Module { .. } => "module",
            TokenError::TokenNotFound(_) => "token_not_found",
            TokenError::WrongPin => "wrong_pin",
            TokenError::PinLocked => "pin_locked",
            TokenError::KeyNotFound(_) => "key_not_found",
            TokenError::AmbiguousKey(_) => "ambiguous_key",
            TokenError::WrongKeyType { .. } => "wrong_key_type",
            TokenError::KeyExtractable => "key_extractable",
            TokenError::KeyMismatch => "key_mismatch",
            TokenError::KeyReplaced { .. } => "key_replaced",
            TokenError::MechanismNotSupported(_) => "mechanism_not_supported",
            TokenError::TokenRemoved(_) => "token_removed",
            TokenError::KeyExists(_) => "key_exists",
            TokenError::Device(_) => "device",
        }
    }

    /// Every code [`TokenError::code`] gives, in the order of the enum.
    pub const CODES: [&'static str; 16] = [
        "config",
        "pin_source",
        "module",
        "token_not_found",
        "wrong_pin",
        "pin_locked",
        "key_not_found",
        "ambiguous_key",
        "wrong_key_type",
        "key_extractable",
        "key_mismatch",
        "key_replaced",
        "mechanism_not_supported",
        "token_removed",
        "key_exists",
        "device",
    ];

    /// The code of a token error that reached a caller as core's `signer` error (through
    /// [`citycode::DeviceSigner`], which carries no typed error): the inverse of the
    /// conversion below, for a service that counts signing failures by code. `None` for
    /// any other error.
    pub fn code_in(e: &citycode::Error) -> Option<&'static str> {
        let citycode::Error::Signer(message) = e else { return None };
        let (head, _) = message.split_once(": ")?;
        TokenError::CODES.iter().copied().find(|code| *code == head)
    }
}

/// A signing failure as core carries it (`signer` error), with the code in front so an
/// operator reading a log or the CLI's message knows which case it was.
impl From<TokenError> for citycode::Error {
    fn from(e: TokenError) -> Self {
        citycode::Error::Signer(format!("{}: {e}", e.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_and_read_back_from_a_signer_error() {
        let all = [
            TokenError::Config("x".into()),
            TokenError::PinSource("x".into()),
            TokenError::Module { module: "m".into(), message: "x".into() },
            TokenError::TokenNotFound("t".into()),
            TokenError::WrongPin,
            TokenError::PinLocked,
            TokenError::KeyNotFound("k".into()),
            TokenError::AmbiguousKey(2),
            TokenError::WrongKeyType { expected: "a".into(), found: "b".into() },
            TokenError::KeyExtractable,
            TokenError::KeyMismatch,
            TokenError::KeyReplaced { expected: "00".into() },
            TokenError::MechanismNotSupported("x".into()),
            TokenError::TokenRemoved("x".into()),
            TokenError::KeyExists("x".into()),
            TokenError::Device("x".into()),
        ];
        let codes: Vec<&str> = all.iter().map(TokenError::code).collect();
        assert_eq!(codes, TokenError::CODES);
        for e in all {
            let code = e.code();
            assert_eq!(TokenError::code_in(&citycode::Error::from(e)), Some(code));
        }
        // Core's own signer errors, and other errors, carry no token code.
        for e in [
            citycode::Error::Signer("the signature does not verify under the signer's public key".into()),
            citycode::Error::Signer("wrong_pin".into()),
            citycode::Error::Signer("keystore: locked".into()),
            citycode::Error::Random,
        ] {
            assert_eq!(TokenError::code_in(&e), None, "{e:?}");
        }
    }
}
