//! What the gateway vouches for with its Ed25519 key (`kid` in `/.well-known/jwks.json`):
//! a JWS with detached payload over the RFC 8785 (JCS) form of a JSON value — A2A card
//! signatures and export statements.

use serde::Serialize;

use crate::AppState;
use tg_wire::signed::DetachedSignature;

/// Signs the canonical form of `value` as a JWS of `kind` (its own `typ`).
pub(crate) fn sign<T: Serialize>(
    state: &AppState,
    value: &T,
    kind: tg_tokens::Signed,
) -> Result<DetachedSignature, String> {
    let canonical = serde_jcs::to_vec(value).map_err(|e| format!("canonicalisation: {e}"))?;
    let jws = state
        .gateway
        .tokens()
        .sign_detached(&canonical, kind)
        .map_err(|e| format!("signature: {e}"))?;
    Ok(DetachedSignature::from(jws))
}
