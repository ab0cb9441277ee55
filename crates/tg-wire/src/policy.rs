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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tiers {
    pub tiers: Vec<TierBand>,
    pub version: i64,
}
