//! Scenes: core's built-in policies.

use crate::claims::Domain;
use crate::errors::{CitycodeError, Result};

/// A built-in scene policy.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Scene {
    /// Hospital registration: health + medical insurance.
    Hospital,
    /// Scenic spot gate: a pass or reservation for `site` today.
    ScenicSpot {
        /// This gate's site id.
        site: u32,
        /// Offset from UTC in minutes (480 for China).
        utc_offset_minutes: i32,
    },
    /// Parking exit: transit account with vehicle payment.
    Parking,
    /// Metro or bus gate: transit account in good standing, and its fare class.
    MetroGate,
    /// Hotel check-in: identity (check the guest's document with `identity_matches`).
    HotelCheckIn,
}

impl From<Scene> for citycode::Scene {
    fn from(s: Scene) -> Self {
        match s {
            Scene::Hospital => citycode::Scene::Hospital,
            Scene::ScenicSpot { site, utc_offset_minutes } => citycode::Scene::ScenicSpot { site, utc_offset_minutes },
            Scene::Parking => citycode::Scene::Parking,
            Scene::MetroGate => citycode::Scene::MetroGate,
            Scene::HotelCheckIn => citycode::Scene::HotelCheckIn,
        }
    }
}

impl From<citycode::Scene> for Scene {
    fn from(s: citycode::Scene) -> Self {
        match s {
            citycode::Scene::Hospital => Scene::Hospital,
            citycode::Scene::ScenicSpot { site, utc_offset_minutes } => Scene::ScenicSpot { site, utc_offset_minutes },
            citycode::Scene::Parking => Scene::Parking,
            citycode::Scene::MetroGate => Scene::MetroGate,
            citycode::Scene::HotelCheckIn => Scene::HotelCheckIn,
        }
    }
}

/// Parses a scene from the JSON form the test vectors use
/// (`{"kind":"scenic_spot","site":1024,"utc_offset_minutes":480}`).
#[uniffi::export]
pub fn scene_from_json(json: String) -> Result<Scene> {
    let s: citycode::Scene =
        serde_json::from_str(&json).map_err(|e| CitycodeError::invalid(format!("scene JSON: {e}")))?;
    Ok(s.into())
}

/// The domains a holder must disclose at a scene.
#[uniffi::export]
pub fn scene_domains(scene: Scene) -> Vec<Domain> {
    use citycode::Policy as _;
    citycode::Scene::from(scene).required_domains().into_iter().map(Domain::from).collect()
}
