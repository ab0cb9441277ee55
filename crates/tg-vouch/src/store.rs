use tg_core::{AgentId, StoreError, Timestamp, VouchId};

use crate::{Direction, Vouch};

/// An active vouch as the computation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct VouchEdge {
    pub from_agent: AgentId,
    pub to_agent: AgentId,
    pub weight: f64,
}

/// Storage of vouches and of the admin-designated anchors.
///
/// - `insert_vouch`: `Conflict` on a duplicate id or a second *active* vouch for the same
///   pair (a partial unique index guards concurrent writers).
/// - `update_vouch` overwrites weight, note, signature, `updated_at` and `revoked_at`;
///   `NotFound` when absent.
/// - `active_vouch`: the pair's active vouch, if any.
/// - `list_vouches`: active vouches received by or given by the agent, newest first.
/// - `note_vouchee_violation`: adds one to `vouchee_violations` of every active vouch
///   for `vouchee`; returns how many vouches it touched.
/// - `vouch_edges`: every active vouch.
/// - `voucher_violations`: per voucher, Σ `vouchee_violations` over all its vouches,
///   revoked ones included (revoking does not erase accountability); only non-zero sums.
/// - `set_anchor` / `unset_anchor` return whether anything changed.
#[async_trait::async_trait]
pub trait VouchStore: Send {
    async fn insert_vouch(&mut self, v: &Vouch) -> Result<(), StoreError>;
    async fn update_vouch(&mut self, v: &Vouch) -> Result<(), StoreError>;
    async fn get_vouch(&mut self, id: &VouchId) -> Result<Option<Vouch>, StoreError>;
    async fn active_vouch(
        &mut self,
        from: &AgentId,
        to: &AgentId,
    ) -> Result<Option<Vouch>, StoreError>;
    async fn list_vouches(
        &mut self,
        agent: &AgentId,
        direction: Direction,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Vouch>, StoreError>;
    async fn count_vouches_received(&mut self, agent: &AgentId) -> Result<u64, StoreError>;
    async fn note_vouchee_violation(&mut self, vouchee: &AgentId) -> Result<u64, StoreError>;
    async fn vouch_edges(&mut self) -> Result<Vec<VouchEdge>, StoreError>;
    async fn voucher_violations(&mut self) -> Result<Vec<(AgentId, u64)>, StoreError>;
    async fn set_anchor(&mut self, agent: &AgentId, at: Timestamp) -> Result<bool, StoreError>;
    async fn unset_anchor(&mut self, agent: &AgentId) -> Result<bool, StoreError>;
    async fn anchors(&mut self) -> Result<Vec<AgentId>, StoreError>;
}
