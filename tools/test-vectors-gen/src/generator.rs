//! The generator's state and the helpers every section uses: verifier setups, lists,
//! credentials, codes, and `add`, which runs each case before it is kept.

use crate::prelude::*;

pub(crate) const SKEW: u32 = 30;
pub(crate) const NOW: u64 = demo::NOW;

pub(crate) fn metro() -> Scene {
    Scene::MetroGate
}

pub(crate) fn scenic(site: u32) -> Scene {
    Scene::ScenicSpot { site, utc_offset_minutes: demo::UTC_OFFSET_MINUTES }
}

pub(crate) struct Gen {
    pub(crate) city: DemoCity,
    pub(crate) cases: Vec<Case>,
}

/// A signer whose public key is one key and whose signatures come from another.
pub(crate) struct WrongSigner<'a> {
    pub(crate) claimed: PublicKey,
    pub(crate) actual: &'a KeyPair,
}

impl DeviceSigner for WrongSigner<'_> {
    fn public_key(&self) -> PublicKey {
        self.claimed.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.actual.sign(message).to_vec())
    }
    fn check_signatures(&self) -> bool {
        false
    }
}

pub(crate) fn opts(nonce: u8) -> PresentOptions {
    PresentOptions { validity_secs: 60, nonce: Some([nonce, 0xc0, 0xde, 0x01]) }
}

impl Gen {
    pub(crate) fn setup(&self, scene: Scene) -> VerifierSetup {
        let config = VerifierConfig {
            skew_secs: SKEW,
            max_code_validity_secs: 120,
            utc_offset_minutes: 480,
            ..VerifierConfig::new(&self.city.root.public_key(), scene)
        };
        VerifierSetup {
            config,
            trust_lists: vec![encode_base64url(&self.city.trust_list)],
            revocation_lists: vec![encode_base64url(&self.city.revocation_list)],
        }
    }

    pub(crate) fn trust(&self, keys: Vec<IssuerKey>, sequence: u64, expires_at: u32) -> Res<String> {
        let list = TrustList { sequence, issued_at: NOW as u32 - 3600, expires_at, keys };
        Ok(encode_base64url(&list.sign(&self.city.root)?))
    }

    pub(crate) fn issuer_entry(&self, kid: u32, key: PublicKey, domains: Vec<u32>) -> IssuerKey {
        IssuerKey {
            kid,
            key,
            not_before: NOW as u32 - 365 * DAY as u32,
            not_after: NOW as u32 + 365 * DAY as u32,
            domains,
        }
    }

    pub(crate) fn revocations(
        &self,
        signer: &KeyPair,
        who: ListSigner,
        sequence: u64,
        expires_at: u32,
        mut entries: Vec<Revoked>,
    ) -> Res<String> {
        entries.sort();
        let list = RevocationList { signer: who, sequence, issued_at: NOW as u32 - 600, expires_at, entries };
        Ok(encode_base64url(&list.sign(signer)?))
    }

    pub(crate) fn credential(
        &self,
        issuer: &Issuer,
        device: &KeyPair,
        claims: Claims,
        layout: CardLayout,
        from: u16,
        days: u8,
    ) -> Res<Credential> {
        Ok(issuer.issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(device)?,
            subject: Subject(*b"resident"),
            valid_from_day: from,
            valid_days: days,
            claims,
            layout,
        })?)
    }

    pub(crate) fn code(
        &self,
        credential: &Credential,
        signer: &dyn DeviceSigner,
        domains: &[Domain],
        at: u64,
        nonce: u8,
    ) -> Res<String> {
        let ids: Vec<u32> = domains.iter().map(|d| d.id()).collect();
        Ok(present(credential, signer, &ids, at, opts(nonce))?.to_text())
    }

    /// A code disclosing what `scene` reads: its own card under the standard layout.
    pub(crate) fn code_for(
        &self,
        credential: &Credential,
        signer: &dyn DeviceSigner,
        scene: &Scene,
        at: u64,
        nonce: u8,
    ) -> Res<String> {
        Ok(present(credential, signer, scene, at, opts(nonce))?.to_text())
    }

    pub(crate) fn bytes_of(text: &str) -> Res<Vec<u8>> {
        Ok(decode_text(text).map_err(|r| format!("decode: {r}"))?)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        name: &str,
        description: &str,
        input: String,
        expected: &str,
        now: u64,
        verifier: VerifierSetup,
        seen: Vec<Seen>,
    ) -> Res<()> {
        let mut case = Case {
            name: name.into(),
            description: description.into(),
            input,
            expected: expected.into(),
            now,
            verifier,
            seen,
            claims: None,
            subject: None,
            revocation_checked: None,
            printed: None,
            replay_checked: None,
            bytes: None,
            qr_version: None,
        };
        if let Ok(b) = decode_text(&case.input) {
            case.bytes = Some(b.len());
            case.qr_version = Qr::new(&case.input).ok().map(|q| q.version);
        }
        let result = run_case(&case);
        let got = outcome(&result);
        if got != expected {
            return Err(format!("case {name}: expected {expected}, verifier says {got} ({result:?})").into());
        }
        if let Ok(a) = result {
            case.revocation_checked = (!a.revocation_checked).then_some(false);
            case.printed = a.printed.then_some(true);
            case.replay_checked = (!a.replay_checked).then_some(false);
            case.claims = Some(a.claims);
            case.subject = Some(a.subject.to_hex());
        }
        self.cases.push(case);
        Ok(())
    }
}

impl Gen {
    /// Builds a code from the card holding exactly `domain`, ignoring the card's
    /// validity (select_cards would refuse an expired card, as a holder should).
    pub(crate) fn code_unchecked(
        &self,
        credential: &Credential,
        device: &KeyPair,
        domain: u32,
        at: u64,
        nonce: u8,
    ) -> Res<String> {
        let card = credential.cards.iter().find(|c| c.claims.domain_ids() == [domain]).ok_or("no card")?;
        let one = Credential {
            device_key: credential.device_key.clone(),
            subject: credential.subject,
            cards: vec![card.clone()],
        };
        // Present at a time the card is valid, then rewrite issued_at: the signature
        // is made over the final bytes.
        let inside = card.not_before() + 60;
        let code = present(&one, device, &[domain], inside, opts(nonce))?;
        let mut bytes = code.as_bytes().to_vec();
        bytes.splice(42..46, (at as u32).to_be_bytes());
        let unsigned = bytes.get(..bytes.len() - 64).ok_or("short")?.to_vec();
        let mut tbs = citycode::digest::LABEL_CODE.to_vec();
        tbs.extend_from_slice(&unsigned);
        let mut out = unsigned;
        out.extend_from_slice(&device.sign(&tbs));
        Ok(encode_text(&out))
    }
}

impl Gen {
    /// A one-card code whose card carries exactly `claims` (SPEC.md §4.3 bytes, which
    /// the issuer API would refuse to encode), validly signed by the demo issuer (kid 1)
    /// and the demo device: only the claims rule under test can refuse it.
    pub(crate) fn code_with_claims(&self, claims: &[u8], at: u64, nonce: u8) -> Res<String> {
        self.code_with_cards(&[claims], at, nonce)
    }

    /// A code with one card per entry of `cards` (each the card's claims bytes), every
    /// card and the code validly signed (demo issuer kid 1, demo device).
    pub(crate) fn code_with_cards(&self, cards: &[&[u8]], at: u64, nonce: u8) -> Res<String> {
        self.code_with_cards_labelled(cards, at, nonce, citycode::digest::LABEL_CARD)
    }

    /// As `code_with_cards`, every card signed under `label`.
    pub(crate) fn code_with_cards_labelled(&self, cards: &[&[u8]], at: u64, nonce: u8, label: &[u8]) -> Res<String> {
        self.code_with_cards_from(cards, at, nonce, label, demo::TODAY - 5, 10)
    }

    /// As `code_with_cards_labelled`, every card valid `days` from day `from`.
    pub(crate) fn code_with_cards_from(
        &self,
        cards: &[&[u8]],
        at: u64,
        nonce: u8,
        label: &[u8],
        from: u16,
        days: u8,
    ) -> Res<String> {
        let device = key(Algorithm::Ed25519, 0x03)?;
        let issuer = key(Algorithm::Ed25519, 0x02)?;
        let device_key = device.public_key().to_bytes();
        let subject = *b"resident";
        let mut code = vec![citycode::credential::FORMAT_VERSION, Algorithm::Ed25519.id()];
        code.extend_from_slice(&device_key);
        code.extend_from_slice(&subject);
        code.extend_from_slice(&(at as u32).to_be_bytes());
        code.push(60);
        code.extend_from_slice(&[nonce, 0xc1, 0xa1, 0x01]);
        code.push(u8::try_from(cards.len())?);
        for claims in cards {
            let mut card_body = vec![1, Algorithm::Ed25519.id()];
            card_body.extend_from_slice(&from.to_be_bytes());
            card_body.push(days);
            card_body.extend_from_slice(claims);
            let mut card_tbs = label.to_vec();
            card_tbs.push(Algorithm::Ed25519.id());
            card_tbs.extend_from_slice(&device_key);
            card_tbs.extend_from_slice(&subject);
            card_tbs.extend_from_slice(&card_body);
            code.extend_from_slice(&card_body);
            code.extend_from_slice(&issuer.sign(&card_tbs));
        }
        let mut code_tbs = citycode::digest::LABEL_CODE.to_vec();
        code_tbs.extend_from_slice(&code);
        code.extend_from_slice(&device.sign(&code_tbs));
        Ok(encode_text(&code))
    }
}

impl Gen {
    /// The demo resident's metro code with its device signature made by `how`.
    pub(crate) fn code_with_odd_device_signature(&self, at: u64, nonce: u8, how: Torsion) -> Res<String> {
        let device = key(Algorithm::Ed25519, 0x03)?;
        let code = present(&self.city.credential, &device, &[Domain::Transit.id()], at, opts(nonce))?;
        let unsigned = code.as_bytes().get(..code.as_bytes().len() - 64).ok_or("short")?.to_vec();
        let mut tbs = citycode::digest::LABEL_CODE.to_vec();
        tbs.extend_from_slice(&unsigned);
        let mut out = unsigned;
        out.extend_from_slice(&ed25519_sign_odd([0x03; 32], &tbs, how));
        Ok(encode_text(&out))
    }
}

/// The transit claim entry every hand-made card starts from: domain 4, three bytes
/// (account in good standing, vehicle payment on, standard fare).
pub(crate) const TRANSIT_ENTRY: &[u8] = &[4, 3, 1, 1, 0];

/// A card's claims bytes (SPEC.md §4.3): `count`, then each entry of `parts` as given.
pub(crate) fn claims_of(count: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![count];
    for p in parts {
        v.extend_from_slice(p);
    }
    v
}
