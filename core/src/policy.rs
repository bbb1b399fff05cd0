//! Scene policies: what a terminal requires of the disclosed claims.

use serde::{Deserialize, Serialize};

use crate::claims::{
    AccountStatus, Claims, DAY, Domain, InsuranceStatus, MedicalInsurance, Tourism, TourismKind, Transit,
};

/// What a policy sees besides the claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyContext {
    /// Verification time, Unix seconds.
    pub now: u64,
    /// The verifier's local offset from UTC in minutes: dates a person reads (a health
    /// status's last day) are compared with the local day, not the UTC day.
    pub utc_offset_minutes: i32,
}

/// Default local offset of a verifier: China Standard Time, UTC+8 (480 minutes).
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;

/// Widest offset accepted, in minutes (UTC-14:00 to UTC+14:00 and a margin).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 1440;

/// A scene policy, as a verifier applies it. Built-in scenes are [`Scene`]; a custom
/// policy implements this (and [`PolicyView`] if holders or issuers disclose by it).
///
/// The verifier holds a `dyn Policy`: keeping [`PolicyView::view`], which only holders
/// and issuers call, out of this trait keeps it out of the verifier's vtable, and so out
/// of the scanner's WASM package.
pub trait Policy: Send + Sync {
    /// A short name for logs and results.
    fn name(&self) -> String;
    /// The domains a holder must disclose; the holder app asks for these.
    fn required_domains(&self) -> Vec<Domain>;
    /// Accepts the verified, disclosed claims, or says why not. The verifier refuses with
    /// reason `policy_unmet` and the refusal's text as the detail.
    fn check(&self, claims: &Claims, ctx: &PolicyContext) -> Result<(), PolicyRefusal>;
    /// Whether printed codes (SPEC.md §5.1) are accepted here: only where staff check
    /// the person's identity document, never at an unattended gate. False by default.
    fn accepts_printed(&self) -> bool {
        false
    }
}

/// A policy as holders and issuers see it: what of a card it reads, so a code discloses
/// that and no more.
pub trait PolicyView: Policy {
    /// The part of `claims` this policy reads: what a holder discloses here, and what an
    /// issuer's standard layout signs as this scene's card (SPEC.md §11). By default the
    /// whole required domains; built-in scenes withhold the fields they do not read.
    fn view(&self, claims: &Claims) -> Claims {
        let ids: Vec<u32> = self.required_domains().into_iter().map(Domain::id).collect();
        claims.select(&ids).unwrap_or_default()
    }
}

/// Why a scene policy refuses the disclosed claims. The verifier refuses such a code with
/// reason `policy_unmet` and this value's text (its `Display`) as the detail; [`code`]
/// and [`domain`] give a program the same answer without parsing the text.
///
/// [`code`]: PolicyRefusal::code
/// [`domain`]: PolicyRefusal::domain
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// A domain the scene reads was not disclosed.
    #[error("{} not disclosed", domain_words(*.0))]
    Undisclosed(Domain),
    /// A disclosed domain withholds a field the scene reads (`field`, in words).
    #[error("{field} not disclosed")]
    FieldWithheld {
        /// The domain disclosed without the field.
        domain: Domain,
        /// The field withheld, in words ("fare class").
        field: &'static str,
    },
    /// The health status's last valid day is before the verifier's local day.
    #[error("health status is out of date")]
    HealthOutOfDate,
    /// The medical insurance card is not active.
    #[error("medical insurance card is not active")]
    InsuranceInactive,
    /// No tourism pass valid today, nor a reservation for today, for the gate's site.
    #[error("no pass or reservation for site {site} today")]
    NoEntryToday {
        /// The gate's site id.
        site: u32,
    },
    /// A guardian's code cannot pay for parking: paying for a car is the account
    /// holder's own act.
    #[error("a guardian's code cannot pay for parking")]
    GuardianCannotPay,
    /// The transit account is not in good standing.
    #[error("transit account is not in good standing")]
    AccountNotInGoodStanding,
    /// Vehicle payment is not enabled on the transit account.
    #[error("vehicle payment is not enabled")]
    VehiclePaymentOff,
    /// A custom policy's refusal, in its own words.
    #[error("{0}")]
    Other(String),
}

impl PolicyRefusal {
    /// A stable code for the refusal (never changed once released): `undisclosed`,
    /// `field_withheld`, `health_out_of_date`, `insurance_inactive`, `no_entry_today`,
    /// `guardian_cannot_pay`, `account_not_in_good_standing`, `vehicle_payment_off` or
    /// `other`. Codes are API, not wire: a verdict carries `policy_unmet` and the text.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyRefusal::Undisclosed(_) => "undisclosed",
            PolicyRefusal::FieldWithheld { .. } => "field_withheld",
            PolicyRefusal::HealthOutOfDate => "health_out_of_date",
            PolicyRefusal::InsuranceInactive => "insurance_inactive",
            PolicyRefusal::NoEntryToday { .. } => "no_entry_today",
            PolicyRefusal::GuardianCannotPay => "guardian_cannot_pay",
            PolicyRefusal::AccountNotInGoodStanding => "account_not_in_good_standing",
            PolicyRefusal::VehiclePaymentOff => "vehicle_payment_off",
            PolicyRefusal::Other(_) => "other",
        }
    }

    /// The domain not disclosed in full, if that is the refusal: the holder may present
    /// again with it.
    pub fn domain(&self) -> Option<Domain> {
        match self {
            PolicyRefusal::Undisclosed(domain) | PolicyRefusal::FieldWithheld { domain, .. } => Some(*domain),
            _ => None,
        }
    }
}

/// A domain as a refusal's text names it.
fn domain_words(domain: Domain) -> &'static str {
    match domain {
        Domain::Health => "health",
        Domain::MedicalInsurance => "medical insurance",
        Domain::SocialSecurity => "social security",
        Domain::Transit => "transit",
        Domain::Tourism => "tourism",
        Domain::Identity => "identity",
        Domain::Guardian => "guardianship",
    }
}

/// The built-in scenes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scene {
    /// Hospital registration: health and medical insurance disclosed, the health
    /// status current (its valid-until day not before the verifier's local day), the
    /// insurance card active. Any
    /// health colour is accepted; the terminal routes by it.
    Hospital,
    /// Scenic spot gate: a tourism pass for `site` valid through today, or a
    /// reservation for `site` today, where today is the local day at
    /// `utc_offset_minutes`.
    ScenicSpot {
        /// The site id of this gate.
        site: u32,
        /// The site's offset from UTC in minutes (480 for China Standard Time).
        utc_offset_minutes: i32,
    },
    /// Parking exit: a transit account in good standing with vehicle payment on.
    Parking,
    /// Metro or bus gate: a transit account in good standing, and its fare class.
    MetroGate,
    /// Hotel check-in, a real-name scene: identity disclosed (the name and the
    /// commitment to the document number). The staff or the terminal's ID-card reader
    /// checks the guest's identity document against it ([`crate::claims::Identity::matches`]).
    HotelCheckIn,
}

fn local_day(now: u64, utc_offset_minutes: i32) -> i64 {
    let local = i64::try_from(now).unwrap_or(i64::MAX).saturating_add(i64::from(utc_offset_minutes) * 60);
    local.div_euclid(DAY as i64)
}

impl Policy for Scene {
    fn name(&self) -> String {
        match self {
            Scene::Hospital => "hospital".into(),
            Scene::ScenicSpot { site, .. } => format!("scenic_spot:{site}"),
            Scene::Parking => "parking".into(),
            Scene::MetroGate => "metro_gate".into(),
            Scene::HotelCheckIn => "hotel_check_in".into(),
        }
    }

    fn required_domains(&self) -> Vec<Domain> {
        match self {
            Scene::Hospital => vec![Domain::Health, Domain::MedicalInsurance],
            Scene::ScenicSpot { .. } => vec![Domain::Tourism],
            Scene::Parking | Scene::MetroGate => vec![Domain::Transit],
            Scene::HotelCheckIn => vec![Domain::Identity],
        }
    }

    fn accepts_printed(&self) -> bool {
        // Registration desks and hotel front desks are staffed; gates and car-park exits
        // are not.
        matches!(self, Scene::Hospital | Scene::HotelCheckIn)
    }

    fn check(&self, claims: &Claims, ctx: &PolicyContext) -> Result<(), PolicyRefusal> {
        use PolicyRefusal::{FieldWithheld, Undisclosed};
        match self {
            Scene::Hospital => {
                let health = claims.health.as_ref().ok_or(Undisclosed(Domain::Health))?;
                let insurance = claims.medical_insurance.as_ref().ok_or(Undisclosed(Domain::MedicalInsurance))?;
                if i64::from(health.valid_until_day) < local_day(ctx.now, ctx.utc_offset_minutes) {
                    return Err(PolicyRefusal::HealthOutOfDate);
                }
                match insurance.status {
                    Some(InsuranceStatus::Active) => Ok(()),
                    Some(_) => Err(PolicyRefusal::InsuranceInactive),
                    None => Err(FieldWithheld { domain: Domain::MedicalInsurance, field: "medical insurance status" }),
                }
            }
            Scene::ScenicSpot { site, utc_offset_minutes } => {
                let tourism = claims.tourism.as_ref().ok_or(Undisclosed(Domain::Tourism))?;
                let today = local_day(ctx.now, *utc_offset_minutes);
                let ok = tourism.entries.iter().any(|e| {
                    e.site == *site
                        && match e.kind {
                            TourismKind::Pass => i64::from(e.day) >= today,
                            TourismKind::Reservation => i64::from(e.day) == today,
                        }
                });
                if ok { Ok(()) } else { Err(PolicyRefusal::NoEntryToday { site: *site }) }
            }
            Scene::Parking => {
                let t = claims.transit.as_ref().ok_or(Undisclosed(Domain::Transit))?;
                // Paying for a car is the account holder's own act, not a guardian's.
                if claims.guardian.is_some() {
                    return Err(PolicyRefusal::GuardianCannotPay);
                }
                account_active(t)?;
                match t.vehicle_payment {
                    Some(true) => Ok(()),
                    Some(false) => Err(PolicyRefusal::VehiclePaymentOff),
                    None => Err(FieldWithheld { domain: Domain::Transit, field: "vehicle payment" }),
                }
            }
            Scene::MetroGate => {
                let t = claims.transit.as_ref().ok_or(Undisclosed(Domain::Transit))?;
                account_active(t)?;
                // The gate charges by fare class: a code without it cannot be charged.
                t.fare_class.map(|_| ()).ok_or(FieldWithheld { domain: Domain::Transit, field: "fare class" })
            }
            Scene::HotelCheckIn => claims.identity.as_ref().map(|_| ()).ok_or(Undisclosed(Domain::Identity)),
        }
    }
}

impl PolicyView for Scene {
    fn view(&self, claims: &Claims) -> Claims {
        match self {
            // Domain by domain, so a card holding one of the two still serves with another
            // that holds the other.
            Scene::Hospital => Claims {
                health: claims.health.clone(),
                medical_insurance: claims
                    .medical_insurance
                    .as_ref()
                    .and_then(|m| m.status.map(|status| MedicalInsurance { region: None, status: Some(status) })),
                ..Claims::default()
            },
            Scene::ScenicSpot { site, .. } => {
                let entries: Vec<_> =
                    claims.tourism.iter().flat_map(|t| t.entries.iter()).filter(|e| e.site == *site).cloned().collect();
                let tourism = (!entries.is_empty()).then_some(Tourism { entries });
                Claims { tourism, ..Claims::default() }
            }
            Scene::Parking => transit_view(claims, |t| {
                (t.account.is_some() || t.vehicle_payment.is_some())
                    .then_some(Transit { fare_class: None, ..t.clone() })
            }),
            Scene::MetroGate => transit_view(claims, |t| {
                (t.account.is_some() || t.fare_class.is_some())
                    .then_some(Transit { vehicle_payment: None, ..t.clone() })
            }),
            Scene::HotelCheckIn => Claims { identity: claims.identity.clone(), ..Claims::default() },
        }
    }
}

/// The transit part of `claims` as `keep` narrows it; nothing when there is no transit
/// domain or `keep` leaves no field the scene reads.
fn transit_view(claims: &Claims, keep: impl FnOnce(&Transit) -> Option<Transit>) -> Claims {
    Claims { transit: claims.transit.as_ref().and_then(keep), ..Claims::default() }
}

fn account_active(t: &Transit) -> Result<(), PolicyRefusal> {
    match t.account {
        Some(AccountStatus::Active) => Ok(()),
        Some(_) => Err(PolicyRefusal::AccountNotInGoodStanding),
        None => Err(PolicyRefusal::FieldWithheld { domain: Domain::Transit, field: "transit account standing" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::*;

    fn transit(account: AccountStatus, vehicle: bool) -> Claims {
        Claims {
            transit: Some(Transit {
                account: Some(account),
                fare_class: Some(FareClass::Standard),
                vehicle_payment: Some(vehicle),
            }),
            ..Claims::default()
        }
    }

    #[test]
    fn scenic_spot_uses_the_local_day() {
        // 2026-11-25T17:00:00Z is 2026-11-26 01:00 in UTC+8.
        let now = 1_795_626_000u64;
        let utc_day = (now / DAY) as u16;
        let claims = |day| Claims {
            tourism: Some(Tourism { entries: vec![TourismEntry { kind: TourismKind::Reservation, site: 7, day }] }),
            ..Claims::default()
        };
        let ctx = PolicyContext { now, utc_offset_minutes: 480 };
        let cst = Scene::ScenicSpot { site: 7, utc_offset_minutes: 480 };
        assert!(cst.check(&claims(utc_day + 1), &ctx).is_ok());
        assert!(cst.check(&claims(utc_day), &ctx).is_err());
        let utc = Scene::ScenicSpot { site: 7, utc_offset_minutes: 0 };
        assert!(utc.check(&claims(utc_day), &ctx).is_ok());
        let other_site = Scene::ScenicSpot { site: 8, utc_offset_minutes: 0 };
        assert!(other_site.check(&claims(utc_day), &ctx).is_err());
    }

    #[test]
    fn parking_needs_vehicle_payment_and_metro_does_not() {
        let ctx = PolicyContext { now: 0, utc_offset_minutes: 480 };
        assert!(Scene::Parking.check(&transit(AccountStatus::Active, true), &ctx).is_ok());
        assert!(Scene::Parking.check(&transit(AccountStatus::Active, false), &ctx).is_err());
        assert!(Scene::MetroGate.check(&transit(AccountStatus::Active, false), &ctx).is_ok());
        assert!(Scene::MetroGate.check(&transit(AccountStatus::Arrears, true), &ctx).is_err());
        assert!(Scene::MetroGate.check(&Claims::default(), &ctx).is_err());
    }

    fn full() -> Claims {
        Claims {
            health: Some(Health { status: HealthStatus::Yellow, valid_until_day: 20_800 }),
            medical_insurance: Some(MedicalInsurance { region: Some(310_000), status: Some(InsuranceStatus::Active) }),
            social_security: Some(SocialSecurity { status: SocialSecurityStatus::Retired }),
            transit: transit(AccountStatus::Active, true).transit,
            tourism: Some(Tourism {
                entries: vec![
                    TourismEntry { kind: TourismKind::Pass, site: 7, day: 20_800 },
                    TourismEntry { kind: TourismKind::Reservation, site: 8, day: 20_790 },
                ],
            }),
            identity: None,
            guardian: None,
            other: vec![],
        }
    }

    #[test]
    fn each_scene_views_only_the_fields_it_reads_and_accepts_its_view() {
        let ctx = PolicyContext { now: 20_790 * DAY, utc_offset_minutes: 0 };
        let claims = full();
        let parking = Scene::Parking.view(&claims);
        let t = parking.transit.clone().unwrap();
        assert_eq!((t.account, t.fare_class, t.vehicle_payment), (Some(AccountStatus::Active), None, Some(true)));
        assert_eq!(parking.domain_ids(), vec![4]);
        let metro = Scene::MetroGate.view(&claims).transit.unwrap();
        assert_eq!((metro.fare_class, metro.vehicle_payment), (Some(FareClass::Standard), None));
        let hospital = Scene::Hospital.view(&claims);
        assert_eq!(hospital.domain_ids(), vec![1, 2]);
        assert_eq!(hospital.medical_insurance.as_ref().unwrap().region, None);
        assert_eq!(hospital.health, claims.health);
        let scenic = Scene::ScenicSpot { site: 8, utc_offset_minutes: 0 }.view(&claims);
        assert_eq!(scenic.tourism.unwrap().entries, vec![claims.tourism.clone().unwrap().entries[1].clone()]);
        assert_eq!(Scene::ScenicSpot { site: 9, utc_offset_minutes: 0 }.view(&claims), Claims::default());
        for scene in
            [Scene::Hospital, Scene::Parking, Scene::MetroGate, Scene::ScenicSpot { site: 8, utc_offset_minutes: 0 }]
        {
            let view = scene.view(&claims);
            assert_eq!(view.validate(), Ok(()), "{scene:?}");
            assert_eq!(scene.check(&view, &ctx), Ok(()), "{scene:?}");
            // The view of a view is itself: a scene's card is minimal for it.
            assert_eq!(scene.view(&view), view, "{scene:?}");
        }
        // Each scene refuses a view made for another: metro has no vehicle payment,
        // parking no fare class.
        assert_eq!(
            Scene::Parking.check(&Scene::MetroGate.view(&claims), &ctx),
            Err(PolicyRefusal::FieldWithheld { domain: Domain::Transit, field: "vehicle payment" })
        );
        assert_eq!(
            Scene::MetroGate.check(&Scene::Parking.view(&claims), &ctx),
            Err(PolicyRefusal::FieldWithheld { domain: Domain::Transit, field: "fare class" })
        );
    }

    #[test]
    fn withheld_fields_fail_closed() {
        let ctx = PolicyContext { now: 20_790 * DAY, utc_offset_minutes: 0 };
        let mut c = full();
        if let Some(m) = c.medical_insurance.as_mut() {
            m.status = None;
        }
        let refusal = Scene::Hospital.check(&c, &ctx).unwrap_err();
        assert_eq!((refusal.code(), refusal.domain()), ("field_withheld", Some(Domain::MedicalInsurance)));
        assert_eq!(refusal.to_string(), "medical insurance status not disclosed");
        assert_eq!(Scene::Hospital.view(&c).domain_ids(), vec![1], "no status to show: the insurance is left out");
        if let Some(t) = c.transit.as_mut() {
            t.account = None;
        }
        let standing = PolicyRefusal::FieldWithheld { domain: Domain::Transit, field: "transit account standing" };
        assert_eq!(Scene::Parking.check(&c, &ctx), Err(standing.clone()));
        assert_eq!(Scene::MetroGate.check(&c, &ctx), Err(standing));
    }

    /// Each refusal of the built-in scenes, its code, the domain it names, and its text:
    /// the text is a verdict's `detail`, so it reads as it did when `check` returned a
    /// string, byte for byte.
    #[test]
    fn refusals_are_typed_and_read_as_before() {
        let ctx = PolicyContext { now: 20_790 * DAY, utc_offset_minutes: 0 };
        let mut stale = full();
        if let Some(h) = stale.health.as_mut() {
            h.valid_until_day = 20_789;
        }
        let mut suspended = full();
        if let Some(m) = suspended.medical_insurance.as_mut() {
            m.status = Some(InsuranceStatus::Suspended);
        }
        let mut guardian = full();
        guardian.guardian = Some(Guardian { relation: Relation::Child });
        let scenic = Scene::ScenicSpot { site: 9, utc_offset_minutes: 0 };
        let no_health = Claims { health: None, ..full() };
        let no_insurance = Claims { medical_insurance: None, ..full() };
        type Case = (Result<(), PolicyRefusal>, &'static str, Option<Domain>, &'static str);
        let cases: Vec<Case> = vec![
            (Scene::Hospital.check(&no_health, &ctx), "undisclosed", Some(Domain::Health), "health not disclosed"),
            (
                Scene::Hospital.check(&no_insurance, &ctx),
                "undisclosed",
                Some(Domain::MedicalInsurance),
                "medical insurance not disclosed",
            ),
            (Scene::Hospital.check(&stale, &ctx), "health_out_of_date", None, "health status is out of date"),
            (
                Scene::Hospital.check(&suspended, &ctx),
                "insurance_inactive",
                None,
                "medical insurance card is not active",
            ),
            (scenic.check(&full(), &ctx), "no_entry_today", None, "no pass or reservation for site 9 today"),
            (scenic.check(&Claims::default(), &ctx), "undisclosed", Some(Domain::Tourism), "tourism not disclosed"),
            (
                Scene::Parking.check(&guardian, &ctx),
                "guardian_cannot_pay",
                None,
                "a guardian's code cannot pay for parking",
            ),
            (
                Scene::Parking.check(&transit(AccountStatus::Arrears, true), &ctx),
                "account_not_in_good_standing",
                None,
                "transit account is not in good standing",
            ),
            (
                Scene::Parking.check(&transit(AccountStatus::Active, false), &ctx),
                "vehicle_payment_off",
                None,
                "vehicle payment is not enabled",
            ),
            (
                Scene::MetroGate.check(&Claims::default(), &ctx),
                "undisclosed",
                Some(Domain::Transit),
                "transit not disclosed",
            ),
            (Scene::HotelCheckIn.check(&full(), &ctx), "undisclosed", Some(Domain::Identity), "identity not disclosed"),
        ];
        for (got, code, domain, text) in cases {
            let refusal = got.unwrap_err();
            assert_eq!((refusal.code(), refusal.domain(), refusal.to_string().as_str()), (code, domain, text));
        }
        let custom = PolicyRefusal::Other("not a senior free-ride account".into());
        assert_eq!((custom.code(), custom.domain()), ("other", None));
        assert_eq!(custom.to_string(), "not a senior free-ride account");
    }
}
