#![doc = include_str!("../README.md")]

mod accounts;
mod actions;
mod agents;
mod audit_batch;
mod audit_trail;
mod authorize;
mod config_integrity;
mod delegations;
mod error;
mod gateway;
mod keys;
mod lifecycle;
mod policy;
mod store;
mod tokens;
mod trust_result;
mod trust_state;
mod vouch_engine;
mod vouches;

pub use actions::{RecordAction, Recorded};
pub use agents::{Registration, TrustView};
pub use audit_trail::{AuditExport, AuditPage, AuditSummary, EXPORT_PAGE, parse_period};
pub use authorize::{AuthorizeOutcome, BatchOutcome, MAX_BATCH};
pub use delegations::{Delegated, NewDelegation};
pub use error::ServiceError;
pub use gateway::{BundleSource, Gateway, GatewayConfig};
pub use lifecycle::{Introspection, Lifecycle};
pub use policy::PolicySnapshot;
pub use store::{Store, Tx, TxFuture, TxWork, in_transaction, reading};
pub use tokens::{MAX_EXPIRES_IN, MIN_EXPIRES_IN, TokenGrant};
pub use trust_result::{JOY_SCALE, Subject, TrustResult};
pub use trust_state::{HistoryPoint, PolicyDocument, Stats, TrustState, TrustStore};
pub use vouch_engine::{FACTOR_STEP, VouchConfig, VouchRecompute};
pub use vouches::{NewVouch, Vouched};
