//! The tier table and the action catalogue.

use serde::{Deserialize, Serialize};
use tg_scoring::TierBand;

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionEntry {
    pub action: String,
    pub required_tier: u8,
    pub min_score: f64,
}

/// The action catalog; actions not in it are denied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    pub actions: Vec<ActionEntry>,
    /// The policy version (bumped by every edit).
    pub version: i64,
}

/// One tier as V2 showed it: its band, what it is for, and what it permits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TierOut {
    pub tier: u8,
    pub name: String,
    pub min_score: f64,
    pub max_score: f64,
    pub description: String,
    /// The catalog actions this tier permits (those whose `required_tier` is at most it),
    /// sorted. Each still needs its `min_score`; see `GET /actions`.
    pub permissions: Vec<String>,
}

impl TierOut {
    pub fn of(band: &TierBand, catalog: &tg_scoring::Catalog) -> Self {
        Self {
            tier: band.tier,
            name: band.name.clone(),
            min_score: band.min_score,
            max_score: band.max_score,
            description: band.description.clone(),
            permissions: catalog.permitted_at(band.tier),
        }
    }
}

/// The header that carries the policy version (bumped by every edit) on `/tiers` answers.
pub const POLICY_VERSION_HEADER: &str = "x-policy-version";
