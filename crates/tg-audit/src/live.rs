//! One message of the live dashboard feed (`/ws/dashboard`), as it goes on the wire.

use serde_json::Value;
use tg_core::Timestamp;

/// One message of the live feed as it goes on the wire: `{type, timestamp, data}`.
/// `type` is `initial_stats` (first, on connect) or an event: `agent_registered`,
/// `receipt_recorded`, `auth_denied`, `tier_changed`, `trust_changed`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: Timestamp,
    pub data: Value,
}
