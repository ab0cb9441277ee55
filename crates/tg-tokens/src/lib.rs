#![doc = include_str!("../README.md")]

mod issuer;
mod revocation;
mod sealed;
mod verify;

pub use issuer::{
    DetachedJws, IssuedToken, Signed, TOKEN_TYP, TokenClaims, TokenError, TokenIssuer,
    TokenRequest, verify_detached,
};
pub use revocation::{RevocationStore, RevokedToken};
pub use sealed::{SealedKey, SigningKeyStore, generate_signing_key, open, seal, signing_key_at};
pub use verify::JwksVerifier;
