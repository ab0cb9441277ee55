#![doc = include_str!("../README.md")]

mod a2a_card;
mod a2a_profile;
mod accounts;
mod actions;
mod agents;
mod audit_trail;
mod authorize;
mod chain_check;
mod coalesce;
mod config_integrity;
mod conflict;
mod decision_state;
mod delegations;
mod error;
mod events;
mod gateway;
mod identity_claims;
mod keys;
mod lease;
mod lifecycle;
mod live_access;
mod log_reads;
mod maintain;
mod memory_reads;
mod policy;
mod policy_cache;
mod receipt_export;
mod recording;
mod runtime;
mod signal_streams;
mod signing_keys;
pub mod state_signals;
mod store;
mod token_chain;
mod token_evidence;
mod token_exchange;
mod token_issuer;
mod token_revocation;
mod tokens;
mod transparency;
mod trust_result;
mod trust_state;
mod trust_view;
mod vouches;
mod webhooks;

pub use agents::Registration;
pub use audit_trail::{AuditExport, AuditPage, AuditWindow, EXPORT_PAGE, parse_period};
pub use authorize::{AuthorizeOutcome, BatchOutcome, MAX_BATCH};
pub use chain_check::VERIFY_PAGE;
pub use conflict::Conflict;
pub use decision_state::DecisionConfig;
pub use delegations::{Delegated, NewDelegation};
pub use error::ServiceError;
pub use gateway::{AUDIT_QUEUE, BundleSource, Gateway, GatewayConfig};
pub use identity_claims::IssuedNonce;
pub use lease::LeaseStore;
pub use lifecycle::{Introspection, Lifecycle};
pub use log_reads::{Cosigned, InclusionProof, LogKeyView, TileBytes};
pub use policy_cache::PolicySnapshot;
pub use receipt_export::{ReceiptExport, ReceiptLogProof};
pub use recording::{RecordAction, Recorded, WITNESS_GRACE_SECS, WITNESS_REPORTS_PER_TOKEN};
pub use runtime::live::{
    FEED_CAPACITY, KeyWatch, LiveMessage, LiveSubscription, MAX_CLIENTS, MAX_CLIENTS_PER_ACCOUNT,
    MAX_TICKETS_PER_ACCOUNT, TICKET_TTL_SECS,
};
pub use runtime::live_relay::REVOKED_KEY_SIGNAL;
pub use runtime::maintenance::{LEASE as MAINTENANCE_LEASE, MaintenanceConfig, MaintenanceRound};
pub use runtime::metrics::{BatchBasis, Lookup, Metrics, PoolStatus};
pub use runtime::record_batch::MAX_RECEIPTS_PER_COMMIT;
pub use runtime::vouch_engine::{FACTOR_STEP, VouchConfig, VouchRecompute};
pub use runtime::webhook_worker::WebhookConfig;
pub use signal_streams::{MAX_EVENTS_REQUESTED, NewStream, StreamChange};
pub use signing_keys::SigningKeyView;
pub use store::{
    CommitHook, EventSignals, Store, Tx, TxFuture, TxWork, in_transaction, reading, single_write,
};
pub use token_exchange::{
    ACCESS_TOKEN_TYPE, ExchangeError, Exchanged, JWT_TOKEN_TYPE, MAX_AUDIENCES, OAuthError,
    TokenExchange,
};
pub use token_issuer::{SIGNING_KEY_PUBLISH_AHEAD_SECS, SIGNING_KEY_RELOAD_SECS};
pub use token_revocation::{Revoked, TokenRevocation};
pub use tokens::{MAX_EXPIRES_IN, MIN_EXPIRES_IN, TokenGrant};
pub use transparency::{LOG_LEASE, LogConfig, LogRound, SHARED_WRITER_LEAVES};
pub use trust_result::{Subject, trust_result};
pub use trust_state::{
    CommitGuard, HistoryPoint, PolicyDocument, ReceiptCommit, Stats, TrustState, TrustStore,
};
pub use trust_view::TrustView;
pub use vouches::{NewVouch, Vouched};
pub use webhooks::{MAX_ENDPOINTS, NewWebhook, WebhookChange, WebhookSaved};
