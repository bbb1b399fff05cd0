//! Scene policies: what a terminal requires of the disclosed claims.

use serde::{Deserialize, Serialize};

use crate::claims::{AccountStatus, Claims, Domain, InsuranceStatus, TourismKind};
use crate::credential::DAY;

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
    /// Accepts the verified, disclosed claims, or says what is missing.
    fn check(&self, claims: &Claims, ctx: &PolicyContext) -> Result<(), String>;
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
    /// Metro or bus gate: a transit account in good standing.
    MetroGate,
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
        }
    }

    fn required_domains(&self) -> Vec<u32> {
        match self {
            Scene::Hospital => vec![Domain::Health.id(), Domain::MedicalInsurance.id()],
            Scene::ScenicSpot { .. } => vec![Domain::Tourism.id()],
            Scene::Parking | Scene::MetroGate => vec![Domain::Transit.id()],
        }
    }

    fn check(&self, claims: &Claims, ctx: &PolicyContext) -> Result<(), String> {
        match self {
            Scene::Hospital => {
                let health = claims.health.as_ref().ok_or("health not disclosed")?;
                let insurance = claims.medical_insurance.as_ref().ok_or("medical insurance not disclosed")?;
                if i64::from(health.valid_until_day) < local_day(ctx.now, ctx.utc_offset_minutes) {
                    return Err("health status is out of date".into());
                }
                if insurance.status != InsuranceStatus::Active {
                    return Err("medical insurance card is not active".into());
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
                if t.account != AccountStatus::Active {
                    return Err("transit account is not in good standing".into());
                }
                if !t.vehicle_payment {
                    return Err("vehicle payment is not enabled".into());
                }
                Ok(())
            }
            Scene::MetroGate => {
                let t = claims.transit.as_ref().ok_or("transit not disclosed")?;
                if t.account != AccountStatus::Active {
                    return Err("transit account is not in good standing".into());
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::*;

    fn transit(account: AccountStatus, vehicle: bool) -> Claims {
        Claims {
            transit: Some(Transit { account, fare_class: FareClass::Standard, vehicle_payment: vehicle }),
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
}
