//! Revoked tokens: a token's `jti` on this list stops it proving anything online
//! (introspection, witness reports, delegation hand-offs). Offline verifiers see it only at
//! `exp` — which is why tokens are short-lived.

use tg_core::{AgentId, StoreError, Timestamp};

/// One revoked token. Kept until `expires_at`: after that the token is dead anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedToken {
    pub jti: String,
    pub agent_id: AgentId,
    pub revoked_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Storage of revoked tokens.
///
/// - `revoke_token`: inserts; revoking a `jti` twice keeps the first record (no error).
///   Answers whether this call put it on the list (false when it was there already).
/// - `first_revoked`: one of `jtis` that is on the list, if any (one read for all).
/// - `purge_revoked_tokens`: forgets entries whose token expired before `now`.
#[async_trait::async_trait]
pub trait RevocationStore: Send {
    async fn revoke_token(&mut self, token: &RevokedToken) -> Result<bool, StoreError>;
    async fn first_revoked(&mut self, jtis: &[&str]) -> Result<Option<String>, StoreError>;
    async fn purge_revoked_tokens(&mut self, now: Timestamp) -> Result<(), StoreError>;
}
