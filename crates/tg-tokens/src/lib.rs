#![doc = include_str!("../README.md")]

mod claims;
#[cfg(feature = "issue")]
mod issuer;
mod revocation;
#[cfg(feature = "issue")]
mod sealed;
mod verify;

pub use claims::{ActingAgent, DetachedJws, Signed, TOKEN_TYP, TokenClaims, TokenError};
#[cfg(feature = "issue")]
pub use issuer::{Exchange, IssuedToken, TokenIssuer, TokenRequest};
pub use revocation::{RevocationStore, RevokedToken};
#[cfg(feature = "issue")]
pub use sealed::{SealedKey, SigningKeyStore, generate_signing_key, open, seal, signing_key_at};
pub use verify::{JwksVerifier, verify_detached};
