//! Health, readiness, statistics and trust bundles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tg_identity::BundleSummary;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    #[cfg_attr(feature = "openapi", schema(example = "healthy"))]
    pub status: String,
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ready {
    #[cfg_attr(feature = "openapi", schema(example = "ready"))]
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ByStatus {
    pub active: u64,
    pub suspended: u64,
    pub revoked: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ByResult {
    pub success: u64,
    pub failure: u64,
    pub violation: u64,
}

/// What this gateway process holds (not shared between instances).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceStats {
    pub dashboard_clients: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    pub total_agents: u64,
    pub agents_by_status: ByStatus,
    /// Tier number (as a string key) → agents.
    pub agents_by_tier: BTreeMap<String, u64>,
    pub total_receipts: u64,
    /// V2's name for `total_receipts`.
    pub total_actions: u64,
    /// Receipts of actions in the last 24 hours.
    pub recent_actions: u64,
    /// Agents per tier band, keyed `"{min}-{max}"` (V2: `"0.0-0.2"`, …; by each agent's
    /// stored tier, as `agents_by_tier`).
    pub trust_score_distribution: BTreeMap<String, u64>,
    pub actions_by_result: ByResult,
    pub average_score: f64,
    pub instance: InstanceStats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bundles {
    pub bundles: Vec<BundleSummary>,
}
