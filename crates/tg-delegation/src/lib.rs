#![doc = include_str!("../README.md")]

mod chain;
mod model;
mod store;

pub use chain::{ChainLink, ChainView, Limits, PlanError, Request, plan};
pub use model::{Delegation, DelegationOutcome, Delegator, Feedback, OutcomeError, OutcomeRecord};
pub use store::DelegationStore;
