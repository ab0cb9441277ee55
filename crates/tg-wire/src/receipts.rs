//! Action receipts: recording, pages and the signed export.

use serde::{Deserialize, Serialize};
use tg_core::{Outcome, Timestamp};
use tg_receipts::ExportStatement;
use tg_receipts::{ChainReport, Receipt};

use crate::signed::DetachedSignature;

/// A receipt as the API serves it: the stored receipt's fields, plus `previous_hash`
/// (V2's name for `prev_hash`, so V2 clients read the chain link they expect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptOut {
    #[serde(flatten)]
    pub receipt: Receipt,
    /// The same hex as `prev_hash`.
    pub previous_hash: String,
}

impl Recorded {
    /// `receipt`'s fields and what it did to the score.
    pub fn new(
        receipt: Receipt,
        previous: (f64, u8),
        new: (f64, u8),
        tier_name: String,
        state_version: u64,
    ) -> Self {
        Self {
            previous_hash: hex::encode(receipt.prev_hash),
            receipt,
            previous_score: previous.0,
            new_score: new.0,
            previous_tier: previous.1,
            new_tier: new.1,
            tier_name,
            tier_changed: previous.1 != new.1,
            state_version,
        }
    }
}

impl From<Receipt> for ReceiptOut {
    fn from(receipt: Receipt) -> Self {
        Self {
            previous_hash: hex::encode(receipt.prev_hash),
            receipt,
        }
    }
}

/// A recorded action: the signed receipt's fields (flat, as V2 returned them), and beside
/// them what it did to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recorded {
    #[serde(flatten)]
    pub receipt: Receipt,
    /// V2's name for `prev_hash` (the same hex).
    pub previous_hash: String,
    pub previous_score: f64,
    pub new_score: f64,
    pub previous_tier: u8,
    pub new_tier: u8,
    pub tier_name: String,
    pub tier_changed: bool,
    /// The agent's state version with this receipt counted (send as `min_state_version`
    /// to decide on it).
    pub state_version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    #[serde(default = "crate::default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100, minimum = 1, maximum = 1000))]
    pub limit: u32,
    /// Receipts before this sequence number (`X-Next-Before-Seq` of the previous page).
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 0, maximum = 9223372036854775807_i64)
    )]
    pub before_seq: Option<u64>,
}

/// The header `GET /receipts/{agent_id}` names the next page's `before_seq` in (absent on
/// the last page); a `Link: <…>; rel="next"` header (RFC 8288) carries the same cursor.
pub const NEXT_BEFORE_SEQ_HEADER: &str = "x-next-before-seq";

/// A page of receipts as the SDKs assemble it: the list, and the header's cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptPage {
    pub receipts: Vec<ReceiptOut>,
    /// Pass as `before_seq` for the next page; `None` on the last page.
    pub next_before_seq: Option<u64>,
}

/// A receipt export, as one JSON document (streamed in this order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(dead_code)] // Describes the streamed document; never built whole.
pub struct ReceiptExportDocument {
    /// `trust-gateway/receipts/v1`.
    pub format: String,
    pub agent_id: String,
    /// Every receipt, seq 1 upwards (up to the first broken one, if the chain is broken).
    pub receipts: Vec<Receipt>,
    /// What the gateway vouches for; null when the chain did not verify.
    pub statement: Option<ExportStatement>,
    /// JWS with detached payload over the RFC 8785 form of `statement`, by the key `kid`
    /// names in `/.well-known/jwks.json`; null when the chain did not verify.
    pub signature: Option<DetachedSignature>,
    /// Why there is no statement: the chain verification's report.
    pub error: Option<ChainReport>,
    /// The receipts' proofs in the transparency log (with a statement, once the log holds
    /// anything): check them with `trust-gateway verify-export FILE --jwks JWKS --log-key VKEY`.
    #[serde(default)]
    pub log: Option<ExportLog>,
}

/// An export's transparency-log section: one checkpoint, and an inclusion proof in its
/// tree for each exported receipt the checkpoint covers (newer ones have none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportLog {
    /// The C2SP signed checkpoint the proofs are against.
    pub checkpoint: String,
    pub proofs: Vec<ReceiptLogProofOut>,
}

/// One receipt's RFC 9162 inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptLogProofOut {
    pub seq: u64,
    pub leaf_index: u64,
    /// Base64 SHA-256 hashes, lowest sibling first.
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    pub agent_id: String,
    /// 1–64 of `a-z`, `0-9`, `_`, `.`, `-`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_.-]{1,64}$"))]
    pub action: String,
    pub result: Outcome,
    /// When the action happened (kept as `reported_at`): RFC 3339, or a date-time without
    /// an offset (Python's naive `isoformat()`, as the V2 SDK sends), read as UTC.
    #[serde(default, deserialize_with = "tg_core::deserialize_lenient_timestamp")]
    pub timestamp: Option<Timestamp>,
    /// The agent's gateway token, when another account reports as a witness: it proves
    /// that account dealt with the agent (docs/TRUST-MODEL.md). Without it only the
    /// agent's own account may record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            limit: crate::default_page_limit(),
            before_seq: None,
        }
    }
}

impl RecordRequest {
    /// What `agent` did and how it went, at the gateway's time.
    pub fn new(agent: impl ToString, action: impl Into<String>, result: Outcome) -> Self {
        Self {
            agent_id: agent.to_string(),
            action: action.into(),
            result,
            timestamp: None,
            token: None,
        }
    }

    /// The same report by a witness holding the agent's `token`.
    pub fn witnessed(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
}
