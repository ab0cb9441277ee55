//! What recording an action takes and answers, and the limits on a witness's token.

use tg_core::{AgentId, Outcome, Timestamp};
use tg_receipts::Receipt;

use crate::trust_view::TrustView;

/// `POST /actions/record`.
#[derive(Debug, Clone)]
pub struct RecordAction {
    pub agent_id: AgentId,
    pub action: String,
    pub result: Outcome,
    /// When the client says it happened; kept as `reported_at`, server time is authoritative.
    pub reported_at: Option<Timestamp>,
    /// The agent's gateway token, presented by a witness from another account.
    pub token: Option<String>,
}

/// How long after its `exp` a token still proves an interaction (plus the usual 30 s of
/// clock skew): a witness may report a little after the agent's token ran out.
pub const WITNESS_GRACE_SECS: i64 = 300;

/// Most reports one witness account makes with one token: a token proves an interaction,
/// not an unlimited supply of them.
pub const WITNESS_REPORTS_PER_TOKEN: u64 = 10;

/// What recording changed.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub receipt: Receipt,
    pub old_score: f64,
    pub old_tier: u8,
    pub view: TrustView,
}
