use tg_core::{AccountId, AgentId, ChainId, DelegationId, StoreError};

use crate::{Delegation, Delegator};

/// Storage of delegations.
///
/// - `insert_delegation`: `Conflict` on a duplicate id.
/// - `get_delegation` / `lock_delegation`: `Ok(None)` when absent; `lock_delegation` holds
///   the row until the transaction ends (outcomes are recorded exactly once under it).
/// - `update_outcome`: writes the outcome of an existing delegation; `NotFound` otherwise.
/// - `chain`: every delegation of the chain, in depth order.
/// - `ancestry`: the delegations from the root down to `id` (inclusive), in depth order.
/// - `history_for_agent`: delegations to or from the agent, newest first, paged.
/// - `open_delegation`: the newest delegation from `from` to `to` that was accepted and
///   has no outcome yet (a hand-off in progress), under `parent` when one is given.
/// - `delegation_account`: the account that created the delegation (it alone, or an admin,
///   may record the outcome).
#[async_trait::async_trait]
pub trait DelegationStore: Send {
    async fn insert_delegation(
        &mut self,
        d: &Delegation,
        account: &AccountId,
    ) -> Result<(), StoreError>;
    async fn delegation_account(
        &mut self,
        id: &DelegationId,
    ) -> Result<Option<AccountId>, StoreError>;
    async fn get_delegation(&mut self, id: &DelegationId)
    -> Result<Option<Delegation>, StoreError>;
    async fn lock_delegation(
        &mut self,
        id: &DelegationId,
    ) -> Result<Option<Delegation>, StoreError>;
    async fn update_outcome(&mut self, d: &Delegation) -> Result<(), StoreError>;
    /// Writes `d.accepted_at`; `NotFound` for an unknown delegation.
    async fn accept_delegation(&mut self, d: &Delegation) -> Result<(), StoreError>;
    async fn chain(&mut self, id: &ChainId) -> Result<Vec<Delegation>, StoreError>;
    async fn ancestry(&mut self, id: &DelegationId) -> Result<Vec<Delegation>, StoreError>;
    async fn open_delegation(
        &mut self,
        from: &Delegator,
        to: &AgentId,
        parent: Option<&DelegationId>,
    ) -> Result<Option<Delegation>, StoreError>;
    async fn history_for_agent(
        &mut self,
        agent: &AgentId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Delegation>, StoreError>;
}
