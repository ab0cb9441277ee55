use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, HS256, JwsHeader, JwsSigner, JwsVerifier};
use josekit::jwt::{self, JwtPayload};
use serde::Serialize;
use serde_json::{Value, json};
use tg_core::{AgentId, Timestamp, TokenId};

use crate::SealedKey;

/// What goes into a token besides the registered claims.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest {
    pub agent_id: AgentId,
    pub name: String,
    pub tier: u8,
    pub trust_score: f64,
    pub permitted_actions: Vec<String>,
    pub expires_in: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub alg: &'static str,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A JWS whose payload travels separately: `protected.<payload>.signature` is the compact
/// form a verifier rebuilds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedJws {
    pub protected: String,
    pub signature: String,
}

/// Verifies a detached-payload JWS against a JWK Set (e.g. a saved
/// `/.well-known/jwks.json`), offline: `alg` must be `EdDSA` and `kid` a key of the set.
/// Returns the `kid` that verified.
pub fn verify_detached(
    jwks: &Value,
    jws: &DetachedJws,
    payload: &[u8],
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
}

struct EdKey {
    kid: String,
    jwk: Jwk,
    verifier: Box<dyn JwsVerifier>,
}

/// Issues and verifies agent tokens.
pub struct TokenIssuer {
    issuer: String,
    audience: String,
    /// The current EdDSA signing key.
    signer: Box<dyn JwsSigner>,
    signer_kid: String,
    /// Every published key (the current one included), for verification and the JWKS.
    keys: Vec<EdKey>,
    hs256: Option<(Box<dyn JwsSigner>, Box<dyn JwsVerifier>)>,
    leeway_secs: i64,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
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
            let verifier = EdDSA.verifier_from_jwk(&jwk).map_err(key_error)?;
            keys.push(EdKey {
                kid: k.kid.clone(),
                jwk,
                verifier: Box::new(verifier),
            });
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
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            signer: Box::new(signer),
            signer_kid: current.kid.clone(),
            keys,
            hs256,
            leeway_secs: 30,
        })
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
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
        payload.set_issuer(&self.issuer);
        payload.set_audience(vec![self.audience.clone()]);
        payload.set_jwt_id(&jti);
        let claims = [
            // Integer NumericDates (josekit's setters would write `iat` as a float).
            ("iat", json!(now.as_secs())),
            ("exp", json!(expires_at.as_secs())),
            ("name", json!(req.name)),
            ("tier", json!(req.tier)),
            ("trust_score", json!(req.trust_score)),
            ("permitted_actions", json!(req.permitted_actions)),
        ];
        for (k, v) in claims {
            payload.set_claim(k, Some(v)).map_err(key_error)?;
        }
        let mut header = JwsHeader::new();
        header.set_token_type("JWT");
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

    /// A JWS over `payload` with the payload detached (RFC 7515 appendix F): the
    /// base64url protected header (`alg: EdDSA`, `kid`, `typ: JOSE`) and signature — an
    /// A2A `AgentCardSignature`. Always by the Ed25519 key, whose `kid` the JWKS publishes
    /// (also when tokens are HS256).
    pub fn sign_detached(&self, payload: &[u8]) -> Result<DetachedJws, TokenError> {
        let mut header = JwsHeader::new();
        header.set_token_type("JOSE");
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
        if token.len() > 16 * 1024 || token.split('.').count() != 3 {
            return Err(TokenError::Malformed);
        }
        let header = jwt::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let alg = header
            .claim("alg")
            .and_then(Value::as_str)
            .ok_or(TokenError::Malformed)?
            .to_owned();
        let verifier: &dyn JwsVerifier = match (alg.as_str(), &self.hs256) {
            ("EdDSA", _) => {
                let kid = header
                    .claim("kid")
                    .and_then(Value::as_str)
                    .ok_or(TokenError::UnknownKey)?;
                let key = self
                    .keys
                    .iter()
                    .find(|k| k.kid == kid)
                    .ok_or(TokenError::UnknownKey)?;
                key.verifier.as_ref()
            }
            ("HS256", Some((_, verifier))) => verifier.as_ref(),
            _ => return Err(TokenError::Algorithm(alg.chars().take(16).collect())),
        };
        let (payload, _) = jwt::decode_with_verifier(token, verifier).map_err(|e| match e {
            josekit::JoseError::InvalidSignature(_) => TokenError::Signature,
            _ => TokenError::Malformed,
        })?;
        self.check_claims(&payload, now)
    }

    fn check_claims(&self, p: &JwtPayload, now: Timestamp) -> Result<TokenClaims, TokenError> {
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
        if now.as_secs() >= exp.saturating_add(self.leeway_secs) {
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
        })
    }
}
