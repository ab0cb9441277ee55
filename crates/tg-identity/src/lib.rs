#![doc = include_str!("../README.md")]

mod a2a;
mod agent;
mod attestation;
mod bundle;
mod ed25519;
mod jwt_svid;
mod possession;
mod spiffe;
mod store;
mod x509;

pub use a2a::{A2aProfile, A2aProfileError, A2aProvider};
pub use agent::{Agent, AgentStatus, NewAgent, NewAgentError, SuspensionAuthor, VerificationLevel};
pub use attestation::{
    Attestation, AttestationError, AttestationType, AttestationVerifier, VerifiedAttestation,
};
pub use bundle::{BundleError, BundleSummary, JwksLoad, JwtAuthority, TrustBundle, TrustBundles};
pub use ed25519::{
    CHALLENGE_PREFIX, CHALLENGE_TTL_SECS, Challenge, ChallengeStore, Ed25519Key, KeyError,
    MAX_PENDING, challenge_message,
};
pub use jwt_svid::verify_jwt_svid;
pub use possession::{
    AttestationNonce, MAX_PENDING_NONCES, NONCE_TTL_SECS, NonceStore, verify_possession,
};
pub use spiffe::{SpiffeId, SpiffeIdError};
pub use store::AgentStore;
pub use x509::verify_x509_svid;
