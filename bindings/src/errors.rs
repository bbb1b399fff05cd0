//! Every error the bindings raise, converted from core's.

/// Every error the bindings raise. `code` is a stable code of SPEC.md §10: for rejected
/// input a reason code; otherwise `missing_domain`, `signer`, `out_of_scope`,
/// `out_of_range`, `random` or `invalid_argument` (an argument the bindings refuse).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CitycodeError {
    /// Input (a code, credential, key or list) was refused, with a SPEC.md reason code.
    #[error("{code}: {detail}")]
    Rejected {
        /// The stable reason code.
        code: String,
        /// What failed.
        detail: String,
    },
    /// The credential cannot disclose what was asked.
    #[error("{code}: {detail}")]
    MissingDomain {
        /// Always `missing_domain`.
        code: String,
        /// Which domains.
        detail: String,
    },
    /// The device signer failed or returned an unusable signature.
    #[error("{code}: {detail}")]
    Signer {
        /// Always `signer`.
        code: String,
        /// What went wrong.
        detail: String,
    },
    /// An argument is out of range or inconsistent.
    #[error("{code}: {detail}")]
    InvalidArgument {
        /// `out_of_scope`, `out_of_range`, `random` (the OS random source failed),
        /// `invalid_argument`, or a card font's code (`font_unreadable`, `font_invalid`,
        /// `font_face_not_found`, `font_not_embeddable`, `missing_glyph`).
        code: String,
        /// What is wrong.
        detail: String,
    },
}

impl CitycodeError {
    pub(crate) fn signer(message: impl Into<String>) -> Self {
        CitycodeError::Signer { code: "signer".into(), detail: message.into() }
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        CitycodeError::InvalidArgument { code: "invalid_argument".into(), detail: message.into() }
    }
}

impl From<citycode::Rejection> for CitycodeError {
    fn from(r: citycode::Rejection) -> Self {
        CitycodeError::Rejected { code: r.reason.code().into(), detail: r.detail }
    }
}

impl From<citycode::Reason> for CitycodeError {
    fn from(r: citycode::Reason) -> Self {
        citycode::Rejection::from(r).into()
    }
}

impl From<citycode::Error> for CitycodeError {
    fn from(e: citycode::Error) -> Self {
        let code = e.code().to_owned();
        let detail = e.to_string();
        match e {
            citycode::Error::Invalid(r) => r.into(),
            citycode::Error::MissingDomain(_) => CitycodeError::MissingDomain { code, detail },
            citycode::Error::Signer(_) => CitycodeError::Signer { code, detail },
            // out_of_scope, out_of_range, random, and (citycode::Error is
            // #[non_exhaustive]) any error added later: its stable code says which.
            _ => CitycodeError::InvalidArgument { code, detail },
        }
    }
}

#[cfg(feature = "pdf")]
impl From<citycode::print_card::CardError> for CitycodeError {
    fn from(e: citycode::print_card::CardError) -> Self {
        match e {
            citycode::print_card::CardError::Code(e) => e.into(),
            // A font to configure differently: font_unreadable, font_invalid,
            // font_face_not_found, font_not_embeddable, missing_glyph.
            e => CitycodeError::InvalidArgument { code: e.code().into(), detail: e.to_string() },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CitycodeError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        // Signers are the callbacks whose failures callers see as such; a list fetcher's
        // or list state store's fails the update with its own reason around this text.
        CitycodeError::signer(format!("the callback threw: {}", e.reason))
    }
}

/// What every fallible export returns.
pub(crate) type Result<T> = std::result::Result<T, CitycodeError>;
