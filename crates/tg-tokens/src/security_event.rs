//! Security Event Tokens (RFC 8417) as the gateway's Shared Signals streams send them,
//! verified by a receiver against the gateway's JWKS.

use serde_json::{Map, Value};

use crate::verify::{Compact, text, typed_eddsa};
use crate::{JwksVerifier, Signed, TokenError};

/// A verified SET: one event (SSF 1.0 sends one per SET) and what names it.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    /// Deduplicate on it: every attempt at one delivery carries the same.
    pub jti: String,
    pub iat: i64,
    /// The gateway event, the same on every stream.
    pub txn: Option<String>,
    /// The subject (RFC 9493): `iss_sub`, or `complex` with a `session`.
    pub sub_id: Value,
    /// The event type URI, e.g. CAEP `…/session-revoked`.
    pub event_type: String,
    /// The event's claims.
    pub event: Value,
}

impl JwksVerifier {
    /// Verifies a pushed SET: `alg: EdDSA` by a key of the JWKS, `typ: secevent+jwt`, `iss`
    /// the verifier's issuer, `aud` the stream's `audience`, `jti` and `iat` present, and
    /// exactly one event in `events`. A SET has no `exp`; a receiver deduplicates on `jti`.
    pub fn verify_security_event(
        &self,
        set: &str,
        audience: &str,
    ) -> Result<SecurityEvent, TokenError> {
        let jws = Compact::parse(set)?;
        typed_eddsa(&jws.header, Signed::SecurityEvent)?;
        let kid = text(&jws.header, "kid").ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        key.verify(jws.signing_input.as_bytes(), &jws.signature)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&jws.payload).map_err(|_| TokenError::Malformed)?;
        let string = |name: &'static str| {
            claims
                .get(name)
                .ok_or(TokenError::MissingClaim(name))?
                .as_str()
                .ok_or(TokenError::InvalidClaim(name))
        };
        if string("iss")? != self.checks.issuer {
            return Err(TokenError::InvalidClaim("iss"));
        }
        let aud_ok = match claims.get("aud").ok_or(TokenError::MissingClaim("aud"))? {
            Value::String(a) => a == audience,
            Value::Array(all) => all.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(TokenError::InvalidClaim("aud"));
        }
        let jti = string("jti")?.to_owned();
        let iat = claims
            .get("iat")
            .ok_or(TokenError::MissingClaim("iat"))?
            .as_i64()
            .ok_or(TokenError::InvalidClaim("iat"))?;
        let events = claims
            .get("events")
            .ok_or(TokenError::MissingClaim("events"))?
            .as_object()
            .filter(|e| e.len() == 1)
            .ok_or(TokenError::InvalidClaim("events"))?;
        let (event_type, event) = events
            .iter()
            .next()
            .ok_or(TokenError::InvalidClaim("events"))?;
        Ok(SecurityEvent {
            jti,
            iat,
            txn: claims.get("txn").and_then(Value::as_str).map(str::to_owned),
            sub_id: claims.get("sub_id").cloned().unwrap_or(Value::Null),
            event_type: event_type.clone(),
            event: event.clone(),
        })
    }
}
