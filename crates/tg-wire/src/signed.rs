//! Detached JWS signatures (RFC 7515 appendix F) over RFC 8785 JSON: A2A card signatures
//! and export statements. The type is `tg-tokens`', which makes and checks them.

pub use tg_tokens::DetachedSignature;
