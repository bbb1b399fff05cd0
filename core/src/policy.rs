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

/// A scene policy. Built-in scenes are [`Scene`]; a custom policy implements this.
pub trait Policy: Send + Sync {
    /// A short name for logs and results.
    fn name(&self) -> String;
    /// The domains (ids) a holder must disclose; the holder app asks for these.
    fn required_domains(&self) -> Vec<u32>;
    /// The part of `claims` this policy reads: what a holder discloses here, and what an
    /// issuer's standard layout signs as this scene's card (SPEC.md §11). By default the
    /// whole required domains; built-in scenes withhold the fields they do not read.
    fn view(&self, claims: &Claims) -> Claims {
        claims.select(&self.required_domains()).unwrap_or_default()
    }
    /// Accepts the verified, disclosed claims, or says what is missing.
    fn check(&self, claims: &Claims, ctx: &PolicyContext) -> Result<(), String>;
    /// Whether printed codes (SPEC.md §5.1) are accepted here: only where staff check
    /// the person's identity document, never at an unattended gate. False by default.
    fn accepts_printed(&self) -> bool {
        false
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

    fn required_domains(&self) -> Vec<u32> {
        match self {
            Scene::Hospital => vec![Domain::Health.id(), Domain::MedicalInsurance.id()],
            Scene::ScenicSpot { .. } => vec![Domain::Tourism.id()],
            Scene::Parking | Scene::MetroGate => vec![Domain::Transit.id()],
            Scene::HotelCheckIn => vec![Domain::Identity.id()],
        }
    }

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

    fn accepts_printed(&self) -> bool {
        // Registration desks and hotel front desks are staffed; gates and car-park exits
        // are not.
        matches!(self, Scene::Hospital | Scene::HotelCheckIn)
    }

    fn check(&self, claims: &Claims, ctx: &PolicyContext) -> Result<(), String> {
        match self {
            Scene::Hospital => {
                let health = claims.health.as_ref().ok_or("health not disclosed")?;
                let insurance = claims.medical_insurance.as_ref().ok_or("medical insurance not disclosed")?;
                if i64::from(health.valid_until_day) < local_day(ctx.now, ctx.utc_offset_minutes) {
                    return Err("health status is out of date".into());
                }
                match insurance.status {
                    Some(InsuranceStatus::Active) => {}
                    Some(_) => return Err("medical insurance card is not active".into()),
                    None => return Err("medical insurance status not disclosed".into()),
                }
                Ok(())
            }
            Scene::ScenicSpot { site, utc_offset_minutes } => {
                let tourism = claims.tourism.as_ref().ok_or("tourism not disclosed")?;
                let today = local_day(ctx.now, *utc_offset_minutes);
                let ok = tourism.entries.iter().any(|e| {
                    e.site == *site
                        && match e.kind {
                            TourismKind::Pass => i64::from(e.day) >= today,
                            TourismKind::Reservation => i64::from(e.day) == today,
                        }
                });
                if ok { Ok(()) } else { Err(format!("no pass or reservation for site {site} today")) }
            }
            Scene::Parking => {
                let t = claims.transit.as_ref().ok_or("transit not disclosed")?;
                // Paying for a car is the account holder's own act, not a guardian's.
                if claims.guardian.is_some() {
                    return Err("a guardian's code cannot pay for parking".into());
                }
                account_active(t)?;
                match t.vehicle_payment {
                    Some(true) => Ok(()),
                    Some(false) => Err("vehicle payment is not enabled".into()),
                    None => Err("vehicle payment not disclosed".into()),
                }
            }
            Scene::MetroGate => {
                let t = claims.transit.as_ref().ok_or("transit not disclosed")?;
                account_active(t)?;
                // The gate charges by fare class: a code without it cannot be charged.
                t.fare_class.map(|_| ()).ok_or_else(|| "fare class not disclosed".into())
            }
            Scene::HotelCheckIn => claims.identity.as_ref().map(|_| ()).ok_or_else(|| "identity not disclosed".into()),
        }
    }
}

/// The transit part of `claims` as `keep` narrows it; nothing when there is no transit
/// domain or `keep` leaves no field the scene reads.
fn transit_view(claims: &Claims, keep: impl FnOnce(&Transit) -> Option<Transit>) -> Claims {
    Claims { transit: claims.transit.as_ref().and_then(keep), ..Claims::default() }
}

fn account_active(t: &Transit) -> Result<(), String> {
    match t.account {
        Some(AccountStatus::Active) => Ok(()),
        Some(_) => Err("transit account is not in good standing".into()),
        None => Err("transit account standing not disclosed".into()),
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
            Err("vehicle payment not disclosed".into())
        );
        assert_eq!(Scene::MetroGate.check(&Scene::Parking.view(&claims), &ctx), Err("fare class not disclosed".into()));
    }

    #[test]
    fn withheld_fields_fail_closed() {
        let ctx = PolicyContext { now: 20_790 * DAY, utc_offset_minutes: 0 };
        let mut c = full();
        if let Some(m) = c.medical_insurance.as_mut() {
            m.status = None;
        }
        assert_eq!(Scene::Hospital.check(&c, &ctx), Err("medical insurance status not disclosed".into()));
        assert_eq!(Scene::Hospital.view(&c).domain_ids(), vec![1], "no status to show: the insurance is left out");
        if let Some(t) = c.transit.as_mut() {
            t.account = None;
        }
        assert_eq!(Scene::Parking.check(&c, &ctx), Err("transit account standing not disclosed".into()));
        assert_eq!(Scene::MetroGate.check(&c, &ctx), Err("transit account standing not disclosed".into()));
    }
}
