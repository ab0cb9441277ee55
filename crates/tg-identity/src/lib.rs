#![doc = include_str!("../README.md")]

mod a2a;
pub mod a2a_card;
#[cfg(feature = "verify")]
mod a2a_check;
mod agent;
mod attestation;
#[cfg(feature = "verify")]
mod bundle;
mod bundle_summary;
#[cfg(feature = "verify")]
mod ed25519;
#[cfg(feature = "verify")]
mod jwt_svid;
#[cfg(feature = "verify")]
mod possession;
mod spiffe;
mod store;
#[cfg(feature = "verify")]
mod verifier;
#[cfg(feature = "verify")]
mod x509;

pub use a2a::{A2aProfile, A2aProfileError, A2aProvider};
pub use agent::{Agent, AgentStatus, NewAgent, NewAgentError, SuspensionAuthor};
pub use attestation::{
    Attestation, AttestationError, AttestationType, VerificationLevel, VerifiedAttestation,
};
#[cfg(feature = "verify")]
pub use bundle::{BundleError, JwksLoad, JwtAuthority, TrustBundle, TrustBundles};
pub use bundle_summary::BundleSummary;
#[cfg(feature = "verify")]
pub use ed25519::{
    CHALLENGE_PREFIX, CHALLENGE_TTL_SECS, Challenge, ChallengeStore, Ed25519Key, KeyError,
    MAX_PENDING, challenge_message,
};
#[cfg(feature = "verify")]
pub use jwt_svid::{unverified_spiffe_subject, verify_jwt_svid};
#[cfg(feature = "verify")]
pub use possession::{
    AttestationNonce, MAX_PENDING_NONCES, NONCE_TTL_SECS, NonceStore, verify_possession,
};
pub use spiffe::{SpiffeId, SpiffeIdError};
pub use store::AgentStore;
#[cfg(feature = "verify")]
pub use verifier::AttestationVerifier;
#[cfg(feature = "verify")]
pub use x509::verify_x509_svid;
