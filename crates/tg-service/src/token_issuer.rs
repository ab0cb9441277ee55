//! The token issuer in force: built from the signing keys and the token settings, swapped
//! whole on reload, and shared by the gateway and the webhook dispatcher (which signs
//! Security Event Tokens with it).

use tg_core::Timestamp;
use tg_tokens::{SealedKey, TokenIssuer, signing_key_at};

use crate::ServiceError;

/// How often each instance re-reads the signing keys (the binary's background reload).
pub const SIGNING_KEY_RELOAD_SECS: u64 = 60;
/// How long a new key is published before it signs: two reload periods.
pub const SIGNING_KEY_PUBLISH_AHEAD_SECS: i64 = 2 * SIGNING_KEY_RELOAD_SECS as i64;

/// The token issuer of the signing keys in force, swapped on reload; shared by the
/// gateway and the webhook dispatcher (which signs Security Event Tokens with it).
pub(crate) type CurrentIssuer = std::sync::Arc<std::sync::RwLock<std::sync::Arc<TokenIssuer>>>;

/// The issuer in force now.
pub(crate) fn current(issuer: &CurrentIssuer) -> std::sync::Arc<TokenIssuer> {
    std::sync::Arc::clone(&issuer.read().unwrap_or_else(|p| p.into_inner()))
}

/// What a token issuer is built from besides the keys.
#[derive(Clone)]
pub(crate) struct TokenSettings {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) secret: tg_core::Secret<Vec<u8>>,
    pub(crate) jwt_secret: Option<tg_core::Secret<Vec<u8>>>,
}

impl TokenSettings {
    /// The issuer signing with the key in force at `now`, publishing every key.
    pub(crate) fn issuer_for(
        &self,
        keys: &[SealedKey],
        now: Timestamp,
    ) -> Result<TokenIssuer, ServiceError> {
        let current = signing_key_at(keys, now, SIGNING_KEY_PUBLISH_AHEAD_SECS)
            .ok_or_else(|| ServiceError::internal("no signing key"))?;
        TokenIssuer::new(
            &self.issuer,
            &self.audience,
            current,
            keys,
            self.secret.expose(),
            self.jwt_secret.as_ref().map(|s| s.expose().as_slice()),
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))
    }
}
