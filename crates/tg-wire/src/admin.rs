//! Accounts and API keys (`/admin/...`).

use serde::{Deserialize, Serialize};
use tg_access::{Account, ApiKey, Plan, Scope};
use tg_core::{AccountId, Timestamp};

/// A tenant: its agents, keys and webhooks are its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountOut {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: AccountId,
    pub name: String,
    pub plan: Plan,
    pub created_at: Timestamp,
    /// Whether the account's `admin` keys may lift the operator's suspensions of its agents.
    #[serde(default)]
    pub lifts_operator_suspensions: bool,
}

impl From<&Account> for AccountOut {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            plan: a.plan,
            created_at: a.created_at,
            lifts_operator_suspensions: a.lifts_operator_suspensions,
        }
    }
}

/// `PATCH /admin/accounts/{id}`: what to change (absent fields stay).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifts_operator_suspensions: Option<bool>,
}

/// An API key; the secret itself appears once, in `key`, when it is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyOut {
    /// 8 hex characters.
    pub id: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub account_id: AccountId,
    pub scope: Scope,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The secret: only in the answer that created the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<&ApiKey> for KeyOut {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id.clone(),
            prefix: k.prefix.clone(),
            account_id: k.account_id.clone(),
            scope: k.scope,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            key: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accounts {
    pub accounts: Vec<AccountOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Keys {
    pub keys: Vec<KeyOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._-]{1,64}$"))]
    pub name: String,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub scope: Scope,
}

/// A token-signing key; its public half is in `/.well-known/jwks.json` while it is listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeyOut {
    /// The `kid` of the JWKS entry and of the tokens it signs.
    pub kid: String,
    #[cfg_attr(feature = "openapi", schema(example = "EdDSA"))]
    pub alg: String,
    pub created_at: Timestamp,
    /// When it signs from: a rotated-in key is published first, for two reload periods
    /// (120 s), so every instance and tool server can know it before it signs.
    pub signs_from: Timestamp,
    /// Whether it signs new tokens now.
    pub current: bool,
}

/// Every token-signing key, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeys {
    pub keys: Vec<SigningKeyOut>,
}
