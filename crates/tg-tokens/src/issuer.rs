use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use josekit::jws::{EdDSA, HS256, JwsHeader, JwsSigner};
use josekit::jwt::{self, JwtPayload};
use ring::hmac;
use serde_json::{Map, Value, json};
use tg_core::{AgentId, Timestamp, TokenId};

use crate::verify::{Checks, EdKey, LEEWAY_SECS, signed_payload};
use crate::{ActingAgent, DetachedJws, SealedKey, Signed, TOKEN_TYP, TokenClaims, TokenError};

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
    /// The agent's state version, written as `tg_state_version`.
    pub state_version: u64,
    /// What a token exchange (RFC 8693) adds; `None` for an agent's own token.
    pub exchange: Option<Exchange>,
    /// The RFC 7638 thumbprint of the key a DPoP proof showed, written as `cnf.jkt`: the
    /// token is then usable only with proofs by that key (RFC 9449). `None`: a bearer token.
    pub jkt: Option<String>,
}

/// The claims of an exchanged token beyond an agent's own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exchange {
    /// `aud`: the narrowed audiences; empty keeps the gateway's.
    pub audience: Vec<String>,
    /// `act`, the current actor first.
    pub act: Vec<ActingAgent>,
    /// `tg_root_authority`.
    pub root_authority: Option<String>,
    /// `tg_sources`.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub alg: &'static str,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Issues and verifies agent tokens.
pub struct TokenIssuer {
    checks: Checks,
    /// The current EdDSA signing key.
    signer: Box<dyn JwsSigner>,
    signer_kid: String,
    /// Every published key (the current one included), for verification and the JWKS.
    keys: Vec<EdKey>,
    /// The published keys' JWKs, as stored.
    published: Vec<Value>,
    hs256: Option<(Box<dyn JwsSigner>, hmac::Key)>,
    /// Payloads of tokens whose signature this issuer checked, by the token's SHA-256.
    verified: Mutex<HashMap<[u8; 32], Payload>>,
}

/// A signature-checked token payload.
type Payload = Arc<Map<String, Value>>;

/// Most verified tokens an issuer remembers (a payload is well under 1 KiB).
pub const VERIFIED_CACHE: usize = 10_000;

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
        let mut jwks = Vec::new();
        for k in published {
            let jwk: Map<String, Value> = serde_json::from_str(&k.public_jwk).map_err(key_error)?;
            keys.push(EdKey::new(k.kid.clone(), &jwk)?);
            jwks.push(Value::Object(jwk));
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
                Some((
                    Box::new(signer) as Box<dyn JwsSigner>,
                    hmac::Key::new(hmac::HMAC_SHA256, s),
                ))
            }
        };
        Ok(Self {
            checks: Checks {
                issuer: issuer.to_owned(),
                audience: Some(audience.to_owned()),
                leeway_secs: LEEWAY_SECS,
                expiry_grace_secs: 0,
                allow_bound: false,
            },
            signer: Box::new(signer),
            signer_kid: current.kid.clone(),
            keys,
            published: jwks,
            hs256,
            verified: Mutex::new(HashMap::new()),
        })
    }

    pub fn audience(&self) -> &str {
        self.checks.audience.as_deref().unwrap_or_default()
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
        json!({ "keys": self.published })
    }

    pub fn issue(&self, req: &TokenRequest, now: Timestamp) -> Result<IssuedToken, TokenError> {
        let jti = TokenId::generate().to_string();
        let expires_at = now.plus_secs(req.expires_in);
        let mut payload = JwtPayload::new();
        payload.set_subject(req.agent_id.as_str());
        payload.set_issuer(&self.checks.issuer);
        let exchange = req.exchange.as_ref();
        match exchange.filter(|x| !x.audience.is_empty()) {
            Some(x) => payload.set_audience(x.audience.clone()),
            None => payload.set_audience(vec![self.checks.audience.clone().unwrap_or_default()]),
        }
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
            ("tg_state_version", json!(req.state_version)),
        ];
        for (k, v) in claims {
            payload.set_claim(k, Some(v)).map_err(key_error)?;
        }
        if let Some(jkt) = &req.jkt {
            payload
                .set_claim("cnf", Some(json!({"jkt": jkt})))
                .map_err(key_error)?;
        }
        if let Some(x) = exchange {
            if let Some(act) = crate::claims::act_claim(&x.act) {
                payload.set_claim("act", Some(act)).map_err(key_error)?;
            }
            if let Some(root) = &x.root_authority {
                payload
                    .set_claim("tg_root_authority", Some(json!(root)))
                    .map_err(key_error)?;
            }
            if !x.sources.is_empty() {
                payload
                    .set_claim("tg_sources", Some(json!(x.sources)))
                    .map_err(key_error)?;
            }
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
        let compact = self.sign_compact(payload, kind)?;
        let mut parts = compact.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(protected), Some(_), Some(signature), None) => Ok(DetachedJws {
                protected: protected.to_owned(),
                signature: signature.to_owned(),
            }),
            _ => Err(TokenError::Key("unexpected JWS serialisation".into())),
        }
    }

    /// A compact JWS of `kind` over `payload`, by the Ed25519 key (`alg: EdDSA`, `kid`, the
    /// kind's `typ`): how Security Event Tokens are signed, verifiable against the JWKS.
    pub fn sign_compact(&self, payload: &[u8], kind: Signed) -> Result<String, TokenError> {
        let mut header = JwsHeader::new();
        header.set_token_type(kind.typ());
        header.set_key_id(&self.signer_kid);
        josekit::jws::serialize_compact(payload, &header, self.signer.as_ref()).map_err(key_error)
    }

    /// Verifies a token this gateway issued. See the crate docs for every check.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        self.checks.claims(&*self.payload(token)?, now)
    }

    /// [`TokenIssuer::verify_within`] for a token of any audience: what the issuer asks of
    /// its own tokens when it introspects or revokes them (RFC 7662 leaves the audience to
    /// the resource server, which sees `aud`), so an exchanged token narrowed to a tool
    /// server still introspects and can be revoked.
    pub fn verify_any_audience(
        &self,
        token: &str,
        now: Timestamp,
        grace_secs: i64,
    ) -> Result<TokenClaims, TokenError> {
        self.verify_relaxed(token, now, grace_secs, true)
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
        self.verify_relaxed(token, now, grace_secs, false)
    }

    fn verify_relaxed(
        &self,
        token: &str,
        now: Timestamp,
        grace_secs: i64,
        any_audience: bool,
    ) -> Result<TokenClaims, TokenError> {
        let checks = Checks {
            audience: if any_audience {
                None
            } else {
                self.checks.audience.clone()
            },
            // The issuer answering about its own token sees bound ones too; online proofs
            // (witnesses, hand-offs, exchanges) take bearer tokens only.
            allow_bound: any_audience,
            expiry_grace_secs: grace_secs.max(0),
            ..self.checks.clone()
        };
        checks.claims(&*self.payload(token)?, now)
    }

    /// The signature-checked payload of `token`, from the cache of tokens this issuer has
    /// verified before (keyed by the token's SHA-256) or checked now and remembered. Claims
    /// are checked by the caller on every use, at its `now`: only the signature check and
    /// the parsing are saved. The cache lives as long as this issuer, so a key change
    /// drops it (the gateway builds a new issuer on every key reload, once a minute); it is
    /// bounded by [`VERIFIED_CACHE`] and emptied when full.
    fn payload(&self, token: &str) -> Result<Payload, TokenError> {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut id = [0u8; 32];
        id.copy_from_slice(digest.as_ref());
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        if let Some(payload) = cached {
            return Ok(payload);
        }
        let hs256 = self.hs256.as_ref().map(|(_, k)| k);
        let payload = Arc::new(signed_payload(token, &self.keys, hs256)?);
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= VERIFIED_CACHE {
            cache.clear();
        }
        cache.insert(id, Arc::clone(&payload));
        Ok(payload)
    }
}
