#![doc = include_str!("../README.md")]

mod key;
mod store;

pub use key::{ApiKey, KeyError, NewKey, PresentedKey, hash_matches, key_hash, new_plaintext_key};
pub use store::AccessStore;

use serde::Serialize;
use tg_core::{AccountId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "free" => Some(Plan::Free),
            "pro" => Some(Plan::Pro),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }
}

/// What a key may do. `Admin` ⊇ `Write` ⊇ `Read`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub plan: Plan,
    pub created_at: Timestamp,
    /// The operator lets this account's `admin` keys lift the operator's suspensions of
    /// its agents (off unless the operator turns it on).
    pub lifts_operator_suspensions: bool,
}

/// The name of the operator's account, created at first start.
pub const ADMIN_ACCOUNT: &str = "admin";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: AccountId,
    pub plan: Plan,
    pub scope: Scope,
    /// First 12 characters of the presented key (never secret material for `tgk_` keys).
    pub key_prefix: String,
    /// Whether the key belongs to the operator's own account ([`ADMIN_ACCOUNT`]).
    pub operator_account: bool,
    /// [`Account::lifts_operator_suspensions`] of the key's account.
    pub lifts_operator_suspensions: bool,
}

impl Principal {
    /// The operator's admin: the only caller whose reach spans every tenant. An `admin` key
    /// of any other account administers that account alone.
    pub fn is_operator(&self) -> bool {
        self.operator_account && self.scope == Scope::Admin
    }

    /// Whether the caller may see `account`'s private data (receipts, history, delegations,
    /// vouch details, trails): its own account's, or any as the operator.
    pub fn sees(&self, account: &AccountId) -> bool {
        self.is_operator() || self.account_id == *account
    }

    /// Whether the caller may reactivate an agent of `account` that the operator suspended:
    /// the operator, or an `admin` key of that account when the operator delegated it.
    pub fn lifts_operator_suspension(&self, account: &AccountId) -> bool {
        self.is_operator()
            || (self.scope == Scope::Admin
                && self.lifts_operator_suspensions
                && self.account_id == *account)
    }

    /// Whether the caller may change what `account` owns: a `write` or `admin` key of that
    /// account, or the operator.
    pub fn can_write(&self, account: &AccountId) -> bool {
        self.is_operator() || (self.scope.allows(Scope::Write) && self.account_id == *account)
    }
}
