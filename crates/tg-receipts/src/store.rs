use tg_core::{AccountId, AgentId, StoreError};

use crate::{ChainHead, Receipt};

/// Storage of receipt chains.
///
/// Contract:
/// - `receipt_head` returns [`ChainHead::EMPTY`] for an agent without receipts.
/// - `append_receipt` inserts one receipt; the adapter enforces `UNIQUE(agent_id, seq)` and returns
///   [`StoreError::Conflict`] on a duplicate `seq` (nothing written). Callers append while
///   holding the agent's lock inside one transaction, so chains never fork.
/// - `list_receipts` returns receipts in descending `seq` (newest first), at most `limit`, starting
///   below `before_seq` when given.
/// - `scan_receipts` returns receipts in ascending `seq` with `seq > after_seq`, at most `limit`:
///   the page-wise input of chain verification.
/// - `witnessed_reports` counts the agent's receipts that `witness` reported with the token
///   `token_jti` (0 when none).
#[async_trait::async_trait]
pub trait ReceiptStore: Send {
    async fn receipt_head(&mut self, agent: &AgentId) -> Result<ChainHead, StoreError>;
    async fn append_receipt(&mut self, receipt: &Receipt) -> Result<(), StoreError>;
    async fn list_receipts(
        &mut self,
        agent: &AgentId,
        limit: u32,
        before_seq: Option<u64>,
    ) -> Result<Vec<Receipt>, StoreError>;
    async fn scan_receipts(
        &mut self,
        agent: &AgentId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Receipt>, StoreError>;
    async fn witnessed_reports(
        &mut self,
        agent: &AgentId,
        witness: &AccountId,
        token_jti: &str,
    ) -> Result<u64, StoreError>;
}
