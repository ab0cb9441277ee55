#![doc = include_str!("../README.md")]

mod agent;
mod attestation;
mod spiffe;
mod store;

pub use agent::{Agent, AgentStatus, NewAgent, NewAgentError, VerificationLevel};
pub use attestation::{
    Attestation, AttestationError, AttestationType, AttestationVerifier, VerifiedAttestation,
};
pub use spiffe::{SpiffeId, SpiffeIdError};
pub use store::AgentStore;
