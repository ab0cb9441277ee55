//! Offline token verification for tool servers, with the gateway's JWKS cached.

use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use tg_core::{Clock, SystemClock, Timestamp};
use tg_tokens::{DpopTarget, JwksVerifier, ReplayCache, SecurityEvent, TokenClaims};

use crate::{Client, Error};

/// Least time between two JWKS fetches prompted by unknown `kid`s, so a stream of forged
/// tokens cannot make a tool server hammer the gateway.
pub const REFETCH_AFTER_SECS: i64 = 60;

/// Most DPoP proofs a verifier remembers at once (about 100 bytes each); while that many
/// are within their five-minute window, new proofs are refused rather than any forgotten.
pub const DPOP_REPLAY_CAPACITY: usize = 100_000;

/// Verifies the gateway's tokens where they are used (a tool server), without asking the
/// gateway: signature against the cached JWKS, `exp`/`nbf`, `iss`, `aud`, `sub`, `jti`, and
/// for [`TokenVerifier::authorize`] the action among the token's `permitted_actions`.
///
/// Made by [`TokenVerifier::fetch`], it fetches the JWKS again when a token names a key it
/// does not know (a key rotation), at most once per [`REFETCH_AFTER_SECS`]. Made by
/// [`TokenVerifier::from_jwks`], it never touches the network.
///
/// Offline checks cannot see revocation: a token revoked with [`Client::revoke_token`], or
/// voided when its agent was suspended, stays valid here until it expires. Keep token
/// lifetimes short, or ask [`Client::introspect_token`] where that matters.
pub struct TokenVerifier {
    source: Option<Client>,
    issuer: String,
    audience: String,
    keys: RwLock<Arc<JwksVerifier>>,
    last_fetch: Mutex<Option<Timestamp>>,
    clock: Arc<dyn Clock>,
    /// DPoP proofs accepted within their window, so none is accepted twice.
    replay: ReplayCache,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("keys", &self.current())
            .field("refetches", &self.source.is_some())
            .finish()
    }
}

impl TokenVerifier {
    /// Fetches the gateway's JWKS now and keeps `client` for refetches. `issuer` and
    /// `audience` are the gateway's `GATEWAY_ISSUER` and `GATEWAY_AUDIENCE` (both
    /// `trust-gateway` by default).
    pub async fn fetch(client: &Client, issuer: &str, audience: &str) -> Result<Self, Error> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let jwks = client.get_jwks().await?;
        let fetched = clock.now();
        let verifier = Self::from_jwks(&jwks, issuer, audience)?;
        *lock(&verifier.last_fetch) = Some(fetched);
        Ok(Self {
            source: Some(client.clone()),
            ..verifier
        })
    }

    /// A verifier for a JWKS document the caller already has (a saved
    /// `/.well-known/jwks.json`); it never fetches.
    pub fn from_jwks(jwks: &Value, issuer: &str, audience: &str) -> Result<Self, Error> {
        let keys = JwksVerifier::new(jwks, issuer, audience)?;
        Ok(Self {
            source: None,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys: RwLock::new(Arc::new(keys)),
            last_fetch: Mutex::new(None),
            clock: Arc::new(SystemClock),
            replay: ReplayCache::new(DPOP_REPLAY_CAPACITY),
        })
    }

    /// Reads "now" from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Verifies with the keys at hand; never touches the network.
    pub fn verify_offline(&self, token: &str) -> Result<TokenClaims, Error> {
        Ok(self.current().verify(token, self.clock.now())?)
    }

    /// Verifies `token`, first fetching the JWKS again if the token names a key not in it
    /// (and the last fetch is old enough). Fails closed: when that fetch fails, the token
    /// is refused with the fetch's error. A DPoP-bound token is refused here
    /// ([`tg_tokens::TokenError::ProofRequired`]): use [`TokenVerifier::verify_dpop`].
    pub async fn verify(&self, token: &str) -> Result<TokenClaims, Error> {
        self.refresh_for(token).await?;
        self.verify_offline(token)
    }

    /// Verifies a DPoP-bound token (`Authorization: DPoP <token>`) with the request's
    /// `DPoP` header `proof` (RFC 9449 §7.1): the token as [`TokenVerifier::verify`], and
    /// the proof for this request's `method` and `uri` (query and fragment ignored), made
    /// within the last five minutes by the key the token's `cnf.jkt` names, with `ath` over
    /// the token, and never presented to this verifier before.
    pub async fn verify_dpop(
        &self,
        token: &str,
        proof: &str,
        method: &str,
        uri: &str,
    ) -> Result<TokenClaims, Error> {
        self.refresh_for(token).await?;
        let target = DpopTarget { method, uri };
        Ok(self
            .current()
            .verify_dpop(token, proof, target, self.clock.now(), &self.replay)?)
    }

    /// Verifies a Security Event Token pushed to a Shared Signals stream (the request body
    /// at the stream's `endpoint_url`): signed by a key of the JWKS (fetched again on an
    /// unknown `kid`, as [`TokenVerifier::verify`]), `typ: secevent+jwt`, the verifier's
    /// issuer, and `audience` = the stream's `aud`. Deduplicate on the answer's `jti`.
    pub async fn verify_security_event(
        &self,
        set: &str,
        audience: &str,
    ) -> Result<SecurityEvent, Error> {
        self.refresh_for(set).await?;
        Ok(self.current().verify_security_event(set, audience)?)
    }

    /// Fetches the JWKS again when `token` names a key not at hand (and the last fetch is
    /// old enough).
    async fn refresh_for(&self, token: &str) -> Result<(), Error> {
        if self.current().lacks_key_of(token) && self.may_refetch() {
            self.refresh().await?;
        }
        Ok(())
    }

    /// [`TokenVerifier::verify`], then requires `action` among the token's
    /// `permitted_actions` ([`Error::NotPermitted`] if not).
    pub async fn authorize(&self, token: &str, action: &str) -> Result<TokenClaims, Error> {
        permits(self.verify(token).await?, action)
    }

    /// [`TokenVerifier::verify_dpop`], then requires `action` as [`TokenVerifier::authorize`].
    pub async fn authorize_dpop(
        &self,
        token: &str,
        proof: &str,
        method: &str,
        uri: &str,
        action: &str,
    ) -> Result<TokenClaims, Error> {
        permits(self.verify_dpop(token, proof, method, uri).await?, action)
    }

    /// Fetches the JWKS now (a no-op for [`TokenVerifier::from_jwks`] verifiers).
    pub async fn refresh(&self) -> Result<(), Error> {
        let Some(client) = &self.source else {
            return Ok(());
        };
        *lock(&self.last_fetch) = Some(self.clock.now());
        let jwks = client.get_jwks().await?;
        let keys = JwksVerifier::new(&jwks, &self.issuer, &self.audience)?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        Ok(())
    }

    /// The `kid`s of the keys at hand.
    pub fn kids(&self) -> Vec<String> {
        self.current()
            .kids()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn current(&self) -> Arc<JwksVerifier> {
        Arc::clone(&self.keys.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn may_refetch(&self) -> bool {
        self.source.is_some()
            && lock(&self.last_fetch).is_none_or(|at| {
                self.clock.now().as_secs() >= at.as_secs().saturating_add(REFETCH_AFTER_SECS)
            })
    }
}

fn permits(claims: TokenClaims, action: &str) -> Result<TokenClaims, Error> {
    if claims.permitted_actions.iter().any(|a| a == action) {
        Ok(claims)
    } else {
        Err(Error::NotPermitted(action.to_owned()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
