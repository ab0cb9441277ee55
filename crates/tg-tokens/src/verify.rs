//! Token verification shared by the issuer and by offline verifiers (tool servers).

use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsVerifier};
use josekit::jwt::{self, JwtPayload};
use serde_json::Value;
use tg_core::Timestamp;

use crate::{TokenClaims, TokenError};

/// Clock skew tolerated on `exp` and `nbf`.
pub(crate) const LEEWAY_SECS: i64 = 30;

/// An Ed25519 verification key of the JWKS.
pub(crate) struct EdKey {
    pub(crate) kid: String,
    pub(crate) jwk: Jwk,
    verifier: Box<dyn JwsVerifier>,
}

impl EdKey {
    pub(crate) fn new(kid: String, jwk: Jwk) -> Result<Self, TokenError> {
        let verifier = EdDSA
            .verifier_from_jwk(&jwk)
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(Self {
            kid,
            jwk,
            verifier: Box::new(verifier),
        })
    }
}

/// What every token must claim besides a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checks {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway_secs: i64,
    /// How long after `exp` (beyond the leeway) a token still verifies: 0 but for reports
    /// about an interaction that happened while it was valid.
    pub(crate) expiry_grace_secs: i64,
}

/// Verifies `token`: `alg` must be `EdDSA` with the `kid` of one of `keys`, or `HS256` when
/// `hs256` is given; nothing else (`none` included) is tried. Then [`Checks`].
pub(crate) fn verify_token(
    token: &str,
    now: Timestamp,
    checks: &Checks,
    keys: &[EdKey],
    hs256: Option<&dyn JwsVerifier>,
) -> Result<TokenClaims, TokenError> {
    if token.len() > 16 * 1024 || token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let header = jwt::decode_header(token).map_err(|_| TokenError::Malformed)?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed)?
        .to_owned();
    // Explicit typing (RFC 8725 §3.11): another kind of JWS the gateway signs is no token.
    if let Some(typ) = header.claim("typ") {
        let typ = typ.as_str().unwrap_or_default();
        if !typ.eq_ignore_ascii_case(crate::TOKEN_TYP) {
            return Err(TokenError::Type(typ.chars().take(40).collect()));
        }
    }
    let verifier: &dyn JwsVerifier = match (alg.as_str(), hs256) {
        ("EdDSA", _) => {
            let kid = header
                .claim("kid")
                .and_then(Value::as_str)
                .ok_or(TokenError::UnknownKey)?;
            let key = keys
                .iter()
                .find(|k| k.kid == kid)
                .ok_or(TokenError::UnknownKey)?;
            key.verifier.as_ref()
        }
        ("HS256", Some(verifier)) => verifier,
        _ => return Err(TokenError::Algorithm(alg.chars().take(16).collect())),
    };
    let (payload, _) = jwt::decode_with_verifier(token, verifier).map_err(|e| match e {
        josekit::JoseError::InvalidSignature(_) => TokenError::Signature,
        _ => TokenError::Malformed,
    })?;
    checks.claims(&payload, now)
}

impl Checks {
    fn claims(&self, p: &JwtPayload, now: Timestamp) -> Result<TokenClaims, TokenError> {
        let number = |name: &'static str| -> Result<Option<i64>, TokenError> {
            match p.claim(name) {
                None => Ok(None),
                // RFC 7519 NumericDate: integer or non-integer seconds.
                Some(v) => v
                    .as_i64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.is_finite() && f.abs() < 1e15)
                            .map(|f| f.floor() as i64)
                    })
                    .map(Some)
                    .ok_or(TokenError::InvalidClaim(name)),
            }
        };
        let exp = number("exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if now.as_secs()
            >= exp
                .saturating_add(self.leeway_secs)
                .saturating_add(self.expiry_grace_secs)
        {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = number("nbf")?
            && now.as_secs().saturating_add(self.leeway_secs) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        let iat = number("iat")?;
        let iss = p
            .claim("iss")
            .ok_or(TokenError::MissingClaim("iss"))?
            .as_str()
            .ok_or(TokenError::InvalidClaim("iss"))?;
        if iss != self.issuer {
            return Err(TokenError::InvalidClaim("iss"));
        }
        let aud: Vec<String> = match p.claim("aud").ok_or(TokenError::MissingClaim("aud"))? {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or(TokenError::InvalidClaim("aud"))
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(TokenError::InvalidClaim("aud")),
        };
        if !aud.contains(&self.audience) {
            return Err(TokenError::InvalidClaim("aud"));
        }
        let text = |name: &'static str| -> Result<String, TokenError> {
            p.claim(name)
                .ok_or(TokenError::MissingClaim(name))?
                .as_str()
                .map(str::to_owned)
                .ok_or(TokenError::InvalidClaim(name))
        };
        let permitted_actions = match p.claim("permitted_actions") {
            None => Vec::new(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| TokenError::InvalidClaim("permitted_actions"))?,
        };
        Ok(TokenClaims {
            sub: text("sub")?,
            jti: text("jti")?,
            name: p.claim("name").and_then(Value::as_str).map(str::to_owned),
            tier: p
                .claim("tier")
                .and_then(Value::as_u64)
                .and_then(|t| u8::try_from(t).ok()),
            trust_score: p.claim("trust_score").and_then(Value::as_f64),
            permitted_actions,
            iss: iss.to_owned(),
            aud,
            iat,
            exp,
            epoch: p.claim("tg_epoch").and_then(Value::as_u64).unwrap_or(0),
        })
    }
}

/// Verifies the gateway's tokens offline, from its published JWK Set
/// (`/.well-known/jwks.json`): what a tool server runs on every call, with no round trip
/// to the gateway.
///
/// Only the Ed25519 keys of the set are used (`kty: OKP`, `crv: Ed25519`, `use` absent or
/// `sig`, `alg` absent or `EdDSA`); others are skipped. HS256 tokens (a gateway configured
/// with `JWT_SECRET`) cannot be verified without the secret and are refused as
/// [`TokenError::Algorithm`]. Revocation is not visible offline — neither a `jti` revoked
/// with `POST /tokens/revoke` nor an older `tg_epoch` after the agent was suspended: a
/// token stays valid until its `exp` (keep lifetimes short, or ask
/// `POST /tokens/introspect`).
pub struct JwksVerifier {
    checks: Checks,
    keys: Vec<EdKey>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("checks", &self.checks)
            .field("kids", &self.kids())
            .finish()
    }
}

impl JwksVerifier {
    /// A verifier for tokens from `issuer` for `audience`, with the keys of `jwks`.
    pub fn new(jwks: &Value, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let listed = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| TokenError::Key("a JWK Set needs a `keys` array".into()))?;
        let mut keys = Vec::new();
        for k in listed {
            let text = |name: &str| k.get(name).and_then(Value::as_str);
            let usable = text("kty") == Some("OKP")
                && text("crv") == Some("Ed25519")
                && matches!(text("use"), None | Some("sig"))
                && matches!(text("alg"), None | Some("EdDSA"));
            let (Some(kid), Some(map)) = (text("kid"), k.as_object()) else {
                continue;
            };
            if !usable {
                continue;
            }
            let jwk = Jwk::from_map(map.clone()).map_err(|e| TokenError::Key(e.to_string()))?;
            keys.push(EdKey::new(kid.to_owned(), jwk)?);
        }
        Ok(Self {
            checks: Checks {
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
                leeway_secs: LEEWAY_SECS,
                expiry_grace_secs: 0,
            },
            keys,
        })
    }

    /// Verifies signature, `exp`/`nbf` (30 s leeway), `iss`, `aud`, `sub` and `jti`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        verify_token(token, now, &self.checks, &self.keys, None)
    }

    /// The `kid` of every usable key.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// Whether `token`'s header names a key this verifier does not have: after a key
    /// rotation, the cue to fetch the JWKS again. False for tokens it cannot parse.
    pub fn lacks_key_of(&self, token: &str) -> bool {
        jwt::decode_header(token)
            .ok()
            .and_then(|h| h.claim("kid").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|kid| !self.keys.iter().any(|k| k.kid == kid))
    }
}
