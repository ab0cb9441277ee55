#![doc = include_str!("../README.md")]

mod claims;
mod detached;
mod dpop;
#[cfg(feature = "issue")]
mod issuer;
mod revocation;
#[cfg(feature = "issue")]
mod sealed;
mod security_event;
mod verify;

pub use claims::{ActingAgent, DetachedJws, Signed, TOKEN_TYP, TokenClaims, TokenError};
pub use detached::DetachedSignature;
pub use dpop::{
    DPOP_FUTURE_SECS, DPOP_MAX_AGE_SECS, DPOP_TYP, DpopError, DpopKey, DpopProof, DpopTarget,
    ReplayCache, access_token_hash, jwk_thumbprint, verify_dpop_proof,
};
#[cfg(feature = "issue")]
pub use issuer::{Exchange, IssuedToken, TokenIssuer, TokenRequest};
pub use revocation::{RevocationStore, RevokedToken};
#[cfg(feature = "issue")]
pub use sealed::{SealedKey, SigningKeyStore, generate_signing_key, open, seal, signing_key_at};
pub use security_event::SecurityEvent;
pub use verify::{JwksVerifier, verify_detached};
