use serde::Serialize;
use tg_audit::AuditEvent;
use tg_core::{AccountId, AgentId, StoreError, Timestamp};
use tg_identity::Agent;
use tg_receipts::{ChainHead, Receipt};
use tg_scoring::{Evidence, Trigger};
use tg_webhooks::OutboxEvent;

/// An agent's stored score state: the O(1) evidence summary and the last computed score.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustState {
    pub agent_id: AgentId,
    pub evidence: Evidence,
    /// The vouch factor in [0, 1] (0 until vouching exists).
    pub vouch: f64,
    /// The composite and tier as of `updated_at` (reads recompute at `now`).
    pub composite: f64,
    pub tier: u8,
    /// The `seq` of the newest history point.
    pub history_seq: u64,
    /// The head of the agent's receipt chain as last appended: verification checks the
    /// stored receipts end exactly here, so a truncated tail is caught too.
    pub chain: ChainHead,
    /// The gateway's HMAC over `chain` ([`tg_receipts::ReceiptSigner::head_mac`]): a head
    /// rewritten in the database does not carry it. `None` for heads recorded before it
    /// existed, until the agent's next receipt.
    pub chain_mac: Option<[u8; 32]>,
    pub updated_at: Timestamp,
    /// The agent's state version: raised by every write that changes what decisions read
    /// of the agent (its row or this state), in the writing transaction. Answers carry it,
    /// and a caller may demand an answer decided on at least a version it saw.
    pub version: u64,
}

impl TrustState {
    /// A state with no evidence, no score and an empty chain, as of `at`: where a new
    /// agent's state starts before its first score.
    pub fn new(agent_id: AgentId, at: Timestamp) -> Self {
        Self {
            agent_id,
            evidence: Evidence::default(),
            vouch: 0.0,
            composite: 0.0,
            tier: 0,
            history_seq: 0,
            chain: ChainHead::EMPTY,
            chain_mac: None,
            updated_at: at,
            version: 0,
        }
    }
}

/// One point of an agent's score history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    pub agent_id: AgentId,
    pub seq: u64,
    pub timestamp: Timestamp,
    pub composite_score: f64,
    pub tier: u8,
    pub trigger: Trigger,
}

/// Gateway-wide counters for `GET /stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub total_agents: u64,
    pub active_agents: u64,
    pub suspended_agents: u64,
    pub revoked_agents: u64,
    /// Agents per stored tier (as of each agent's last score change).
    pub agents_by_tier: Vec<(u8, u64)>,
    pub total_receipts: u64,
    /// Receipts whose action time is at or after the `recent_since` asked for.
    pub recent_receipts: u64,
    pub successes: u64,
    pub failures: u64,
    pub violations: u64,
    pub average_score: f64,
}

impl Stats {
    /// V2's `trust_score_distribution`: agents per tier band, keyed `"{min}-{max}"`
    /// (`"0.0-0.2"`, …), by each agent's stored tier.
    pub fn by_band(&self, tiers: &tg_scoring::Tiers) -> std::collections::BTreeMap<String, u64> {
        tiers
            .bands()
            .iter()
            .map(|b| {
                let n = self
                    .agents_by_tier
                    .iter()
                    .find(|(t, _)| *t == b.tier)
                    .map_or(0, |(_, n)| *n);
                (format!("{:?}-{:?}", b.min_score, b.max_score), n)
            })
            .collect()
    }

    /// V2's `agents_by_tier`: tier number (as a string key) → agents.
    pub fn tier_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.agents_by_tier
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect()
    }
}

/// The persisted, operator-edited part of the policy: tiers and catalog, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub version: i64,
    pub document: String,
    pub updated_at: Timestamp,
}

/// What one transaction of the record path writes under the agent's lock, each part in
/// order: the receipts, the score history they moved, the agent's score state after them,
/// and their outbox and audit events.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptCommit<'a> {
    pub receipts: &'a [Receipt],
    pub history: &'a [HistoryPoint],
    pub state: &'a TrustState,
    pub outbox: &'a [OutboxEvent],
    pub audit: &'a [AuditEvent],
    /// Commit only if nothing moved since the batch's basis was read (`None`: the caller
    /// holds the agent's row lock, nothing can have).
    pub guard: Option<CommitGuard>,
}

/// What a receipt commit made without the row lock was decided on: the agent's state
/// version and the policy version of its basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitGuard {
    pub state_version: u64,
    pub policy_version: i64,
}

/// Storage of per-agent score state, score history, stats and the edited policy.
///
/// - `insert_trust` once per agent (at registration); `Conflict` if present.
/// - `get_trust` returns `Ok(None)` for an unknown agent.
/// - `update_trust` overwrites (all but `version`) and raises the state version; it
///   answers the new version; `NotFound` when absent.
/// - `bump_state` raises the state version alone and answers it; `NotFound` when absent.
///   Every write of the agent's row (`AgentStore::update_agent`) is followed by it in the
///   same transaction (`agents::save_agent` does both), so no change to what decisions
///   read leaves the version where it was.
/// - `append_history`: `UNIQUE(agent_id, seq)`; `list_history` newest first.
/// - `locked_snapshot` is `agent_snapshot` after taking the agent's row lock (the lock that
///   `AgentStore::lock_agent` takes), for the rest of the transaction.
/// - `commit_receipts` writes all of a [`ReceiptCommit`] or fails with nothing of it
///   written; what it writes obeys the contracts of the single writes (`append_receipt`,
///   `append_history`, `update_trust`, `append_outbox`, `append_audit`) in that order.
///   With a `guard`, it writes only if the agent's stored state version and the newest
///   policy version are still the guard's, and is one statement on PostgreSQL (so it may
///   run outside a transaction, see [`crate::Store::single_write`]); otherwise it is a
///   `Conflict` with nothing written.
/// - `policy_document` returns the newest saved document, `None` before the first edit;
///   `save_policy_document` inserts `version`; a duplicate version is a `Conflict` (another
///   instance edited concurrently: reload and retry).
#[async_trait::async_trait]
pub trait TrustStore: Send {
    async fn insert_trust(&mut self, state: &TrustState) -> Result<(), StoreError>;
    async fn get_trust(&mut self, agent: &AgentId) -> Result<Option<TrustState>, StoreError>;
    async fn update_trust(&mut self, state: &TrustState) -> Result<u64, StoreError>;
    async fn bump_state(&mut self, agent: &AgentId) -> Result<u64, StoreError>;
    async fn append_history(&mut self, point: &HistoryPoint) -> Result<(), StoreError>;
    async fn list_history(
        &mut self,
        agent: &AgentId,
        limit: u32,
    ) -> Result<Vec<HistoryPoint>, StoreError>;
    /// The agent, its score state and the current policy version, in one round trip (the
    /// decision path's read). `Ok(None)` for an unknown agent.
    async fn agent_snapshot(
        &mut self,
        agent: &AgentId,
    ) -> Result<Option<(Agent, TrustState, i64)>, StoreError>;
    async fn locked_snapshot(
        &mut self,
        agent: &AgentId,
    ) -> Result<Option<(Agent, TrustState, i64)>, StoreError>;
    /// Answers the agent's state version after the commit.
    async fn commit_receipts(&mut self, commit: &ReceiptCommit<'_>) -> Result<u64, StoreError>;
    /// Agents with their score state in id order, after `after` (keyset paging), for the
    /// background vouch recompute.
    async fn scan_agents(
        &mut self,
        after: Option<&AgentId>,
        limit: u32,
    ) -> Result<Vec<(Agent, TrustState)>, StoreError>;
    async fn stats(&mut self, recent_since: Timestamp) -> Result<Stats, StoreError>;
    /// Agents per tenth of the stored composite: `[0, 0.1), [0.1, 0.2), …, [0.9, 1]`.
    async fn score_histogram(&mut self) -> Result<[u64; 10], StoreError>;
    async fn policy_version(&mut self) -> Result<i64, StoreError>;
    async fn policy_document(&mut self) -> Result<Option<PolicyDocument>, StoreError>;
    async fn save_policy_document(&mut self, doc: &PolicyDocument) -> Result<(), StoreError>;
    /// The highest stored vouch factor among the account's active agents (0 when it has
    /// none): how far the account traces to the pre-trusted.
    async fn best_vouch_factor(&mut self, account: &AccountId) -> Result<f64, StoreError>;
}
