#![doc = include_str!("../README.md")]

mod agent;
mod attestation;
mod bundle;
mod jwt_svid;
mod spiffe;
mod store;
mod x509;

pub use agent::{Agent, AgentStatus, NewAgent, NewAgentError, VerificationLevel};
pub use attestation::{
    Attestation, AttestationError, AttestationType, AttestationVerifier, VerifiedAttestation,
};
pub use bundle::{BundleError, BundleSummary, JwtAuthority, TrustBundle, TrustBundles};
pub use jwt_svid::verify_jwt_svid;
pub use spiffe::{SpiffeId, SpiffeIdError};
pub use store::AgentStore;
pub use x509::verify_x509_svid;
