//! The token-signing keys: listing, rotation and retirement, and the reload that makes
//! every instance publish a new key before any of them signs with it.
//!
//! A rotation adds a key; it is published at once (JWKS) but signs only once it is
//! [`SIGNING_KEY_PUBLISH_AHEAD_SECS`] old, by which time every instance has reloaded
//! (each does every [`SIGNING_KEY_RELOAD_SECS`]) and tool servers that refresh their JWKS
//! know it. Retiring a key unpublishes it: tokens it signed stop verifying at once.

use serde_json::json;
use tg_access::Principal;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::Timestamp;
use tg_tokens::{SealedKey, generate_signing_key, signing_key_at};

use crate::token_issuer::SIGNING_KEY_PUBLISH_AHEAD_SECS;

use crate::{Conflict, Gateway, ServiceError, in_transaction, reading};

/// One signing key as operators see it (never its private half).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    pub created_at: Timestamp,
    /// When it signs (or signed) from: `created_at` plus the publication lead, except for
    /// a database's first key, which signs at once.
    pub signs_from: Timestamp,
    /// Whether it signs new tokens now.
    pub current: bool,
}

fn views(keys: &[SealedKey], now: Timestamp) -> Vec<SigningKeyView> {
    let current = signing_key_at(keys, now, SIGNING_KEY_PUBLISH_AHEAD_SECS).map(|k| &k.kid);
    let first = keys.iter().map(|k| k.created_at).min();
    keys.iter()
        .map(|k| SigningKeyView {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            created_at: k.created_at,
            signs_from: if Some(k.created_at) == first {
                k.created_at
            } else {
                k.created_at.plus_secs(SIGNING_KEY_PUBLISH_AHEAD_SECS)
            },
            current: current == Some(&k.kid),
        })
        .collect()
}

impl Gateway {
    /// What the gateway vouches for with its Ed25519 key (`kid` in `/.well-known/jwks.json`):
    /// a JWS of `kind` with detached payload over the RFC 8785 (JCS) form of `value` — A2A
    /// card signatures and export statements.
    pub fn sign_canonical<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        kind: tg_tokens::Signed,
    ) -> Result<tg_tokens::DetachedSignature, ServiceError> {
        let canonical = serde_jcs::to_vec(value)
            .map_err(|e| ServiceError::internal_because("canonicalisation", e))?;
        let jws = self
            .tokens()
            .sign_detached(&canonical, kind)
            .map_err(|e| ServiceError::internal_because("signature", e))?;
        Ok(tg_tokens::DetachedSignature::from(jws))
    }

    /// Every signing key, oldest first (admin).
    pub async fn signing_keys(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SigningKeyView>, ServiceError> {
        self.require_operator(principal)?;
        let keys = self.load_signing_keys().await?;
        Ok(views(&keys, self.now()))
    }

    /// Adds a new signing key (admin); it signs after the publication lead. Answers every
    /// key, the new one last.
    pub async fn rotate_signing_key(
        &self,
        principal: &Principal,
        actor: &Actor,
    ) -> Result<Vec<SigningKeyView>, ServiceError> {
        self.require_operator(principal)?;
        let now = self.now();
        let key = generate_signing_key(self.token_settings.secret.expose(), now)
            .map_err(|e| ServiceError::internal_because("generating a signing key", e))?;
        let actor = actor.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                tx.add_signing_key(&key).await?;
                let details = json!({"kid": key.kid, "signs_from": key.created_at.plus_secs(SIGNING_KEY_PUBLISH_AHEAD_SECS)});
                tx.append_audit(&AuditEvent::new(EventType::SigningKeyRotated, None, details, &actor, now)).await?;
                Ok(())
            })
        })
        .await?;
        self.reload_signing_keys().await?;
        self.signing_keys(principal).await
    }

    /// Unpublishes the key `kid` (admin): tokens it signed stop verifying. The key that
    /// signs now cannot be retired (rotate first and wait until the new key signs).
    pub async fn retire_signing_key(
        &self,
        principal: &Principal,
        actor: &Actor,
        kid: &str,
    ) -> Result<Vec<SigningKeyView>, ServiceError> {
        self.require_operator(principal)?;
        let now = self.now();
        let (kid, actor) = (kid.to_owned(), actor.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let keys = tx.signing_keys().await?;
                if !keys.iter().any(|k| k.kid == kid) {
                    return Err(ServiceError::not_found("signing key", &kid));
                }
                if signing_key_at(&keys, now, SIGNING_KEY_PUBLISH_AHEAD_SECS)
                    .is_some_and(|k| k.kid == kid)
                {
                    return Err(ServiceError::Conflict(Conflict::SigningKeyInUse(kid)));
                }
                tx.remove_signing_key(&kid).await?;
                tx.append_audit(&AuditEvent::new(
                    EventType::SigningKeyRetired,
                    None,
                    json!({"kid": kid}),
                    &actor,
                    now,
                ))
                .await?;
                Ok(())
            })
        })
        .await?;
        self.reload_signing_keys().await?;
        self.signing_keys(principal).await
    }

    /// Re-reads the signing keys and rebuilds the token issuer: the key in force signs,
    /// every key is published. On failure the issuer in use stays.
    pub async fn reload_signing_keys(&self) -> Result<(), ServiceError> {
        let keys = self.load_signing_keys().await?;
        let issuer = self.token_settings.issuer_for(&keys, self.now())?;
        self.set_tokens(issuer);
        Ok(())
    }

    async fn load_signing_keys(&self) -> Result<Vec<SealedKey>, ServiceError> {
        reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.signing_keys().await?) })
        })
        .await
    }
}
