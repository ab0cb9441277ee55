//! JWT-SVID verification (SPIFFE JWT-SVID, RFC 7519, RFC 8725).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::JwsVerifier;
use serde_json::Value;
use tg_core::Timestamp;

use crate::{AttestationError, SpiffeId, TrustBundle};

/// Largest JWT-SVID accepted.
pub const MAX_TOKEN: usize = 8 * 1024;

/// The algorithms the JWT-SVID specification allows. Everything else (`none`, `HS*`,
/// `EdDSA`, …) is refused before any key is looked at.
const ALLOWED: &[&str] = &[
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
];

fn fail(msg: impl Into<String>) -> AttestationError {
    AttestationError::Jwt(msg.into())
}

fn verifier(alg: &str, jwk: &josekit::jwk::Jwk) -> Result<Box<dyn JwsVerifier>, AttestationError> {
    use josekit::jws::*;
    let bad = |e: josekit::JoseError| fail(format!("the bundle key cannot verify `{alg}`: {e}"));
    Ok(match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).map_err(bad)?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk).map_err(bad)?),
        "RS512" => Box::new(RS512.verifier_from_jwk(jwk).map_err(bad)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).map_err(bad)?),
        "PS384" => Box::new(PS384.verifier_from_jwk(jwk).map_err(bad)?),
        "PS512" => Box::new(PS512.verifier_from_jwk(jwk).map_err(bad)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).map_err(bad)?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk).map_err(bad)?),
        "ES512" => Box::new(ES512.verifier_from_jwk(jwk).map_err(bad)?),
        other => {
            return Err(fail(format!(
                "algorithm `{other}` is not allowed for JWT-SVIDs"
            )));
        }
    })
}

/// Verifies a JWT-SVID for `spiffe_id`, for `audience`, at `now` (± `leeway_secs` on `exp`).
/// Returns its `exp`.
pub fn verify_jwt_svid(
    bundle: &TrustBundle,
    spiffe_id: &SpiffeId,
    token: &str,
    audience: &str,
    leeway_secs: i64,
    now: Timestamp,
) -> Result<Timestamp, AttestationError> {
    if token.len() > MAX_TOKEN {
        return Err(fail(format!("the token exceeds {MAX_TOKEN} bytes")));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, _, _] = parts.as_slice() else {
        return Err(fail(
            "the token is not a compact JWS (three dot-separated parts)",
        ));
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| fail("the token header is not base64url"))?;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&header_bytes)
        .map_err(|_| fail("the token header is not a JSON object"))?;
    // `alg` first: nothing else is looked at for a refused algorithm.
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("the token header has no `alg`"))?;
    if !ALLOWED.contains(&alg) {
        return Err(fail(format!(
            "algorithm `{}` is not allowed for JWT-SVIDs",
            alg.chars().take(16).collect::<String>()
        )));
    }
    if let Some(extra) = header
        .keys()
        .find(|k| !matches!(k.as_str(), "alg" | "kid" | "typ"))
    {
        return Err(fail(format!(
            "header parameter `{}` is not allowed (only alg, kid, typ)",
            extra.chars().take(32).collect::<String>()
        )));
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(t)) if t == "JWT" || t == "JOSE" => {}
        Some(_) => return Err(fail("header `typ` must be `JWT` or `JOSE`")),
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("the token header has no `kid`"))?;
    let key = bundle.jwt_key(kid).ok_or_else(|| {
        fail(format!(
            "key `{}` is not in the bundle of `{}`",
            kid.chars().take(64).collect::<String>(),
            bundle.trust_domain
        ))
    })?;
    let verifier = verifier(alg, &key.jwk)?;
    let (payload, _) =
        josekit::jwt::decode_with_verifier(token, verifier.as_ref()).map_err(|e| match e {
            josekit::JoseError::InvalidSignature(_) => fail("the token signature does not verify"),
            _ => fail("the token is malformed"),
        })?;
    // Claim presence is checked here (josekit's validator skips absent claims).
    let sub = payload
        .claim("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("the token has no `sub`"))?;
    let sub = SpiffeId::parse(sub).map_err(|e| fail(format!("`sub` is not a SPIFFE ID: {e}")))?;
    if sub != *spiffe_id {
        return Err(fail(format!("`sub` is `{sub}`, not `{spiffe_id}`")));
    }
    let auds: Vec<&str> = match payload.claim("aud") {
        None => return Err(fail("the token has no `aud`")),
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(fail("`aud` must be a string or an array of strings")),
    };
    if !auds.contains(&audience) {
        return Err(fail(format!(
            "`aud` does not contain this gateway's audience `{audience}`"
        )));
    }
    let exp = payload
        .claim("exp")
        .ok_or_else(|| fail("the token has no `exp`"))?;
    let exp = exp
        .as_i64()
        .or_else(|| {
            exp.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.floor() as i64)
        })
        .ok_or_else(|| fail("`exp` is not a number"))?;
    if now.as_secs() >= exp.saturating_add(leeway_secs) {
        return Err(fail("the token has expired"));
    }
    Ok(Timestamp::from_secs(exp))
}

/// The SPIFFE ID a JWT's `sub` names, read **without** verifying anything: only to tell a
/// JWT-SVID from another kind of token before verifying it as one. `None` when the token
/// is not a compact JWS of at most [`MAX_TOKEN`] bytes whose payload's `sub` is a SPIFFE ID.
pub fn unverified_spiffe_subject(token: &str) -> Option<SpiffeId> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let payload: serde_json::Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    SpiffeId::parse(payload.get("sub")?.as_str()?).ok()
}
