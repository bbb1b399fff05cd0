//! Creating a root or issuer key pair inside the token: sensitive, never extractable,
//! for signing only. Only its public key ever leaves.

use citycode::{Algorithm, PublicKey};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use crate::config::TokenKeyConfig;
use crate::error::TokenError;
use crate::signer::{TokenSigner, curves, load_module, rv, token_matches};

/// Generates the key pair a configuration names inside its token and returns the public
/// key, read back through [`TokenSigner::open`] (so the new key has passed every check a
/// signer makes, the probe signature included).
///
/// The private key is `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`, not
/// `CKA_EXTRACTABLE`, `CKA_SIGN` only (no decrypt, derive, unwrap); both halves carry
/// the configured `CKA_LABEL` and, if given, `CKA_ID`. Refuses (`key_exists`) when an
/// object with that label or id is already on the token, so an existing key is never
/// shadowed.
pub fn generate_key(config: &TokenKeyConfig) -> Result<PublicKey, TokenError> {
    let selection = config.selection()?;
    let pin = selection.pin.read()?;
    let ctx = load_module(&selection.module)?;
    let slots = ctx.get_slots_with_token().map_err(|e| TokenError::Device(e.to_string()))?;
    let slot = slots
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s).is_ok_and(|i| {
                token_matches(&selection.token, i.label(), i.serial_number(), i.manufacturer_id(), i.model())
            })
        })
        .ok_or_else(|| TokenError::TokenNotFound(selection.token.label.clone()))?;
    let session = ctx.open_rw_session(slot).map_err(|e| TokenError::Device(e.to_string()))?;
    match session.login(UserType::User, Some(&AuthPin::from(pin.0.as_str()))) {
        Ok(()) => {}
        Err(e) => match rv(&e) {
            Some(cryptoki::error::RvError::UserAlreadyLoggedIn) => {}
            Some(
                cryptoki::error::RvError::PinIncorrect
                | cryptoki::error::RvError::PinLenRange
                | cryptoki::error::RvError::PinInvalid,
            ) => return Err(TokenError::WrongPin),
            Some(cryptoki::error::RvError::PinLocked) => return Err(TokenError::PinLocked),
            _ => return Err(TokenError::Device(e.to_string())),
        },
    }
    let mut naming = Vec::new();
    if let Some(label) = &selection.key_label {
        naming.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &selection.key_id {
        naming.push(Attribute::Id(id.clone()));
    }
    // Any object with the label, or with the id: either would make the key ambiguous.
    for attribute in &naming {
        let existing =
            session.find_objects(std::slice::from_ref(attribute)).map_err(|e| TokenError::Device(e.to_string()))?;
        if !existing.is_empty() {
            return Err(TokenError::KeyExists(config.describe()));
        }
    }
    let (mechanism, params) = match config.algorithm {
        Algorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, curves::ED25519.to_vec()),
        Algorithm::EcdsaP256Sha256 => (Mechanism::EccKeyPairGen, curves::P256.to_vec()),
        Algorithm::Sm2Sm3 => {
            let id = config.sm2.and_then(|m| m.generate).ok_or_else(|| {
                TokenError::Config("generating an SM2 key needs the vendor's sm2.generate mechanism".into())
            })?;
            let ulong = std::os::raw::c_ulong::try_from(id)
                .map_err(|_| TokenError::Config(format!("sm2.generate {id:#x} does not fit a CK_ULONG")))?;
            let mechanism = MechanismType::new_vendor_defined(ulong)
                .map_err(|_| TokenError::Config(format!("sm2.generate {id:#x} is below CKM_VENDOR_DEFINED")))?;
            (
                Mechanism::VendorDefined(cryptoki::mechanism::vendor_defined::VendorDefinedMechanism::new::<()>(
                    mechanism, None,
                )),
                curves::SM2.to_vec(),
            )
        }
    };
    let mut public_template =
        vec![Attribute::Token(true), Attribute::Private(false), Attribute::Verify(true), Attribute::EcParams(params)];
    public_template.extend(naming.iter().cloned());
    let mut private_template = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
        Attribute::Unwrap(false),
    ];
    private_template.extend(naming);
    let (public, private) =
        session.generate_key_pair(&mechanism, &public_template, &private_template).map_err(|e| match rv(&e) {
            Some(cryptoki::error::RvError::MechanismInvalid) => TokenError::MechanismNotSupported(e.to_string()),
            _ => TokenError::Device(e.to_string()),
        })?;
    // A token that ignored the template must not leave a weaker key behind.
    let attributes = session
        .get_attributes(
            private,
            &[cryptoki::object::AttributeType::Sensitive, cryptoki::object::AttributeType::Extractable],
        )
        .map_err(|e| TokenError::Device(e.to_string()))?;
    let kept = attributes.contains(&Attribute::Sensitive(true)) && attributes.contains(&Attribute::Extractable(false));
    if !kept {
        // Best effort: the error below is what matters.
        let _ = session.destroy_object(private);
        let _ = session.destroy_object(public);
        return Err(TokenError::KeyExtractable);
    }
    drop(session);
    Ok(citycode::DeviceSigner::public_key(&TokenSigner::open(config)?))
}
