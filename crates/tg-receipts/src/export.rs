//! What a receipt export ends with, signed by the gateway: the chain's length and head.

use serde::{Deserialize, Serialize};
use tg_core::Timestamp;

/// `format` of a receipt export.
pub const RECEIPT_EXPORT_FORMAT: &str = "trust-gateway/receipts/v1";

/// What the gateway signs at the end of an export whose chain verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExportStatement {
    /// [`RECEIPT_EXPORT_FORMAT`].
    pub format: String,
    /// The gateway (`GATEWAY_ISSUER`).
    pub issuer: String,
    pub agent_id: String,
    /// Receipts in the export: seq 1 to `length`.
    pub length: u64,
    /// Hex `receipt_hash` of the last receipt (64 zeros for an empty chain).
    pub head_hash: String,
    pub exported_at: Timestamp,
}
