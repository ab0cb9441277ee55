use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, HS256, JwsHeader, JwsSigner, JwsVerifier};
use josekit::jwt::{self, JwtPayload};
use serde::Serialize;
use serde_json::{Value, json};
use tg_core::{AgentId, Timestamp, TokenId};

use crate::SealedKey;
use crate::verify::{Checks, EdKey, LEEWAY_SECS, verify_token};

/// What goes into a token besides the registered claims.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest {
    pub agent_id: AgentId,
    pub name: String,
    pub tier: u8,
    pub trust_score: f64,
    pub permitted_actions: Vec<String>,
    pub expires_in: i64,
    /// The agent's token generation, written as `tg_epoch` (see `TokenClaims::epoch`).
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub alg: &'static str,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The `typ` of each kind of JWS the gateway signs (RFC 8725 §3.11, explicit typing), so
/// none can be taken for another: a card signature or an export statement with its
/// payload re-attached is not a token, and a statement is not a card's signature.
pub const TOKEN_TYP: &str = "JWT";

/// What a detached-payload JWS by the gateway vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// An A2A `AgentCardSignature` (`typ: JOSE`, as A2A signs cards).
    A2aCard,
    /// A receipt or audit export statement.
    ExportStatement,
}

impl Signed {
    pub const fn typ(self) -> &'static str {
        match self {
            Signed::A2aCard => "JOSE",
            Signed::ExportStatement => "trust-gateway-statement+jws",
        }
    }
}

/// A JWS whose payload travels separately: `protected.<payload>.signature` is the compact
/// form a verifier rebuilds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedJws {
    pub protected: String,
    pub signature: String,
}

/// Verifies a detached-payload JWS of `kind` against a JWK Set (e.g. a saved
/// `/.well-known/jwks.json`), offline: `alg` must be `EdDSA`, `typ` the kind's and `kid` a
/// key of the set. Returns the `kid` that verified.
pub fn verify_detached(
    jwks: &Value,
    jws: &DetachedJws,
    payload: &[u8],
    kind: Signed,
) -> Result<String, TokenError> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = URL_SAFE_NO_PAD
        .decode(&jws.protected)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    match header.get("alg").and_then(Value::as_str) {
        Some("EdDSA") => {}
        other => return Err(TokenError::Algorithm(other.unwrap_or("none").to_owned())),
    }
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case(kind.typ())) {
        return Err(TokenError::Type(
            typ.unwrap_or("none").chars().take(40).collect(),
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(TokenError::MissingClaim("kid"))?;
    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .and_then(|k| k.as_object().cloned())
        .ok_or(TokenError::UnknownKey)?;
    let jwk = Jwk::from_map(jwk).map_err(|_| TokenError::UnknownKey)?;
    let verifier = EdDSA.verifier_from_jwk(&jwk).map_err(key_error)?;
    let signature = URL_SAFE_NO_PAD
        .decode(&jws.signature)
        .map_err(|_| TokenError::Malformed)?;
    let message = format!("{}.{}", jws.protected, URL_SAFE_NO_PAD.encode(payload));
    verifier
        .verify(message.as_bytes(), &signature)
        .map_err(|_| TokenError::Signature)?;
    Ok(kid.to_owned())
}

/// The verified claims of a token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenClaims {
    pub sub: String,
    pub name: Option<String>,
    pub tier: Option<u8>,
    pub trust_score: Option<f64>,
    pub permitted_actions: Vec<String>,
    pub iss: String,
    pub aud: Vec<String>,
    pub jti: String,
    pub iat: Option<i64>,
    pub exp: i64,
    /// `tg_epoch`: the agent's token generation when it was issued (0 when absent). The
    /// gateway voids every token of an older generation when it suspends or revokes the
    /// agent; offline verifiers cannot see that and rely on `exp`.
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("signing key error: {0}")]
    Key(String),
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm `{0}` is not accepted")]
    Algorithm(String),
    #[error("token key id is unknown")]
    UnknownKey,
    #[error("token signature does not verify")]
    Signature,
    #[error("token claim `{0}` is missing")]
    MissingClaim(&'static str),
    #[error("token claim `{0}` is invalid")]
    InvalidClaim(&'static str),
    #[error("token has expired")]
    Expired,
    #[error("token is not yet valid")]
    NotYetValid,
    /// The JWS is of another kind (its `typ`): e.g. a card signature presented as a token.
    #[error("JWS type `{0}` is not accepted here")]
    Type(String),
}

/// Issues and verifies agent tokens.
pub struct TokenIssuer {
    checks: Checks,
    /// The current EdDSA signing key.
    signer: Box<dyn JwsSigner>,
    signer_kid: String,
    /// Every published key (the current one included), for verification and the JWKS.
    keys: Vec<EdKey>,
    hs256: Option<(Box<dyn JwsSigner>, Box<dyn JwsVerifier>)>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("checks", &self.checks)
            .field("signer_kid", &self.signer_kid)
            .field("hs256", &self.hs256.is_some())
            .finish_non_exhaustive()
    }
}

fn key_error(e: impl std::fmt::Display) -> TokenError {
    TokenError::Key(e.to_string())
}

impl TokenIssuer {
    /// `current` signs; every key in `published` (which should include `current`) verifies
    /// and is published. `jwt_secret` switches signing to HS256.
    pub fn new(
        issuer: &str,
        audience: &str,
        current: &SealedKey,
        published: &[SealedKey],
        secret: &[u8],
        jwt_secret: Option<&[u8]>,
    ) -> Result<Self, TokenError> {
        let pem = current.open(secret)?;
        let mut signer = EdDSA.signer_from_pem(&pem).map_err(key_error)?;
        signer.set_key_id(&current.kid);
        let mut keys = Vec::new();
        for k in published {
            let jwk = Jwk::from_bytes(k.public_jwk.as_bytes()).map_err(key_error)?;
            keys.push(EdKey::new(k.kid.clone(), jwk)?);
        }
        if !keys.iter().any(|k| k.kid == current.kid) {
            return Err(TokenError::Key("the current key must be published".into()));
        }
        let hs256 = match jwt_secret {
            None => None,
            Some(s) if s.len() < 32 => {
                return Err(TokenError::Key(
                    "JWT_SECRET must be at least 32 bytes".into(),
                ));
            }
            Some(s) => {
                let signer = HS256.signer_from_bytes(s).map_err(key_error)?;
                let verifier = HS256.verifier_from_bytes(s).map_err(key_error)?;
                Some((
                    Box::new(signer) as Box<dyn JwsSigner>,
                    Box::new(verifier) as Box<dyn JwsVerifier>,
                ))
            }
        };
        Ok(Self {
            checks: Checks {
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
                leeway_secs: LEEWAY_SECS,
                expiry_grace_secs: 0,
            },
            signer: Box::new(signer),
            signer_kid: current.kid.clone(),
            keys,
            hs256,
        })
    }

    pub fn audience(&self) -> &str {
        &self.checks.audience
    }

    pub fn issuer(&self) -> &str {
        &self.checks.issuer
    }

    /// The algorithm new tokens are signed with.
    pub fn algorithm(&self) -> &'static str {
        if self.hs256.is_some() {
            "HS256"
        } else {
            "EdDSA"
        }
    }

    /// The public keys as a JWK Set (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.jwk.as_ref().clone()))
            .collect();
        json!({ "keys": keys })
    }

    pub fn issue(&self, req: &TokenRequest, now: Timestamp) -> Result<IssuedToken, TokenError> {
        let jti = TokenId::generate().to_string();
        let expires_at = now.plus_secs(req.expires_in);
        let mut payload = JwtPayload::new();
        payload.set_subject(req.agent_id.as_str());
        payload.set_issuer(&self.checks.issuer);
        payload.set_audience(vec![self.checks.audience.clone()]);
        payload.set_jwt_id(&jti);
        let claims = [
            // Integer NumericDates (josekit's setters would write `iat` as a float).
            ("iat", json!(now.as_secs())),
            ("exp", json!(expires_at.as_secs())),
            ("name", json!(req.name)),
            ("tier", json!(req.tier)),
            ("trust_score", json!(req.trust_score)),
            ("permitted_actions", json!(req.permitted_actions)),
            ("tg_epoch", json!(req.epoch)),
        ];
        for (k, v) in claims {
            payload.set_claim(k, Some(v)).map_err(key_error)?;
        }
        let mut header = JwsHeader::new();
        header.set_token_type(TOKEN_TYP);
        let (token, alg) = match &self.hs256 {
            Some((signer, _)) => (
                jwt::encode_with_signer(&payload, &header, signer.as_ref()).map_err(key_error)?,
                "HS256",
            ),
            None => {
                header.set_key_id(&self.signer_kid);
                (
                    jwt::encode_with_signer(&payload, &header, self.signer.as_ref())
                        .map_err(key_error)?,
                    "EdDSA",
                )
            }
        };
        Ok(IssuedToken {
            token,
            jti,
            alg,
            issued_at: now,
            expires_at,
        })
    }

    /// A JWS of `kind` over `payload` with the payload detached (RFC 7515 appendix F): the
    /// base64url protected header (`alg: EdDSA`, `kid`, the kind's `typ`) and signature.
    /// Always by the Ed25519 key, whose `kid` the JWKS publishes (also when tokens are
    /// HS256).
    pub fn sign_detached(&self, payload: &[u8], kind: Signed) -> Result<DetachedJws, TokenError> {
        let mut header = JwsHeader::new();
        header.set_token_type(kind.typ());
        header.set_key_id(&self.signer_kid);
        let compact = josekit::jws::serialize_compact(payload, &header, self.signer.as_ref())
            .map_err(key_error)?;
        let mut parts = compact.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(protected), Some(_), Some(signature), None) => Ok(DetachedJws {
                protected: protected.to_owned(),
                signature: signature.to_owned(),
            }),
            _ => Err(TokenError::Key("unexpected JWS serialisation".into())),
        }
    }

    /// Verifies a token this gateway issued. See the crate docs for every check.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        let hs256 = self.hs256.as_ref().map(|(_, v)| v.as_ref());
        verify_token(token, now, &self.checks, &self.keys, hs256)
    }

    /// [`TokenIssuer::verify`], but a token expired less than `grace_secs` ago (beyond the
    /// usual leeway) still verifies: for reports about an interaction that happened while
    /// it was valid.
    pub fn verify_within(
        &self,
        token: &str,
        now: Timestamp,
        grace_secs: i64,
    ) -> Result<TokenClaims, TokenError> {
        let hs256 = self.hs256.as_ref().map(|(_, v)| v.as_ref());
        let checks = Checks {
            expiry_grace_secs: grace_secs.max(0),
            ..self.checks.clone()
        };
        verify_token(token, now, &checks, &self.keys, hs256)
    }
}
