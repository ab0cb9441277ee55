use tg_core::{AccountId, StoreError, Timestamp};

use crate::{Account, ApiKey};

/// Storage of accounts and API keys.
///
/// - `insert_account`: `Conflict` when the name is taken.
/// - `account_by_name` / `get_account` / `get_key`: `Ok(None)` when absent.
/// - `list_keys`: the account's keys, revoked ones included, oldest first.
/// - `revoke_key`: sets `revoked_at` once; `NotFound` for an unknown id. Revoked keys never
///   authenticate again.
#[async_trait::async_trait]
pub trait AccessStore: Send {
    async fn insert_account(&mut self, account: &Account) -> Result<(), StoreError>;
    async fn get_account(&mut self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    async fn account_by_name(&mut self, name: &str) -> Result<Option<Account>, StoreError>;
    /// Every account, oldest first.
    async fn list_accounts(&mut self) -> Result<Vec<Account>, StoreError>;
    /// Writes an existing account's plan and settings; `NotFound` otherwise.
    async fn update_account(&mut self, account: &Account) -> Result<(), StoreError>;
    async fn insert_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;
    async fn get_key(&mut self, id: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_keys(&mut self, account: &AccountId) -> Result<Vec<ApiKey>, StoreError>;
    async fn revoke_key(&mut self, id: &str, at: Timestamp) -> Result<(), StoreError>;
}
