#![doc = include_str!("../README.md")]

mod base_url;
mod blocking_client;
mod client;
mod endpoints;
mod error;
#[cfg(feature = "live")]
mod live;
mod tokens;
mod transport;
mod verify;

pub use client::{Client, ClientBuilder};
pub use endpoints::OPERATIONS;
pub use error::Error;
#[cfg(feature = "live")]
pub use live::LiveFeed;
pub use tokens::{DPOP_REPLAY_CAPACITY, REFETCH_AFTER_SECS, TokenVerifier};

/// The blocking client: the same endpoints, for code without an async runtime.
pub mod blocking {
    #[cfg(feature = "live")]
    pub use crate::blocking_client::LiveFeed;
    pub use crate::blocking_client::{Client, TokenVerifier};
}

/// Every request, answer and query type of the API (the server's own definitions).
pub use tg_wire as wire;

pub use tg_audit::LiveEvent;
pub use tg_core::{
    AccountId, AgentId, ChainId, DelegationId, Outcome, Timestamp, VouchId, WebhookId,
};
pub use tg_joy::TrustResult;
pub use tg_tokens::{DpopError, DpopKey, SecurityEvent, TokenClaims, TokenError};

/// Domain types that appear inside requests and answers.
pub mod types {
    pub use tg_access::{Plan, Scope};
    pub use tg_delegation::{DelegationOutcome, Feedback};
    pub use tg_identity::{A2aProfile, A2aProvider, AgentStatus, Attestation, AttestationType};
    pub use tg_scoring::{ActionRule, TierBand, TierEdit};
}
