//! Ed25519 public keys and challenge-response proof of possession.

use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::AgentId;
use tg_identity::{AgentStatus, Challenge, Ed25519Key, MAX_PENDING};

use crate::trust_view::TrustView;
use crate::{Conflict, Gateway, ServiceError, Tx, in_transaction};

async fn writable(
    tx: &mut dyn Tx,
    cache: &crate::policy_cache::PolicyCache,
    principal: &Principal,
    id: &tg_core::AgentId,
    now: tg_core::Timestamp,
) -> Result<TrustView, ServiceError> {
    let view = crate::trust_view::load_owned(tx, cache, principal, id, now, true).await?;
    if view.agent.status == AgentStatus::Revoked {
        return Err(ServiceError::Conflict(Conflict::AgentRevoked(id.clone())));
    }
    Ok(view)
}

impl Gateway {
    /// `PUT /agents/{id}/public-key`: registers or rotates the agent's Ed25519 key. A new
    /// key is unproven until a challenge is answered with it.
    pub async fn set_public_key(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        pem: &str,
        algorithm: &str,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Write)?;
        let key =
            Ed25519Key::parse(pem, algorithm).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        self.edit_agent(
            principal,
            actor,
            id,
            EventType::AgentVerified,
            move |agent, now| {
                if agent.public_key.as_deref() == Some(key.pem.as_str()) {
                    return None;
                }
                agent.public_key = Some(key.pem);
                agent.key_verified_at = None;
                agent.updated_at = now;
                Some(json!({"step": "public_key_registered", "key_algorithm": "Ed25519"}))
            },
        )
        .await
    }

    /// Changes one agent of the principal's account in one transaction: `change` edits it
    /// and returns the audit details, or `None` when there was nothing to change (then
    /// nothing is written). Revoked agents are refused (409).
    pub(crate) async fn edit_agent(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        event: EventType,
        change: impl FnOnce(&mut tg_identity::Agent, tg_core::Timestamp) -> Option<serde_json::Value>
        + Send
        + 'static,
    ) -> Result<TrustView, ServiceError> {
        let id = id.clone();
        let (cache, now, principal, actor) = (
            Arc::clone(&self.policy),
            self.now(),
            principal.clone(),
            actor.clone(),
        );
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = writable(tx, &cache, &principal, &id, now).await?;
                let mut agent = view.agent.clone();
                let mut state = view.state;
                if let Some(details) = change(&mut agent, now) {
                    state.version = crate::trust_view::save_agent(tx, &agent).await?;
                    tx.append_audit(&AuditEvent::new(
                        event,
                        Some(id.clone()),
                        details,
                        &actor,
                        now,
                    ))
                    .await?;
                }
                Ok(TrustView::compute(agent, state, view.policy, now))
            })
        })
        .await
    }

    /// `POST /agents/{id}/challenge`: a single-use nonce, valid for a short time.
    pub async fn issue_challenge(
        &self,
        principal: &Principal,
        id: &AgentId,
    ) -> Result<Challenge, ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = id.clone();
        let (cache, now, principal) = (Arc::clone(&self.policy), self.now(), principal.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = writable(tx, &cache, &principal, &id, now).await?;
                if view.agent.public_key.is_none() {
                    return Err(ServiceError::Conflict(Conflict::NoKeyToChallenge));
                }
                tx.purge_challenges(&id, now).await?;
                if tx.pending_challenges(&id).await? >= MAX_PENDING {
                    return Err(ServiceError::TooMany(format!(
                        "at most {MAX_PENDING} challenges may be pending; answer or let one expire"
                    )));
                }
                let challenge = Challenge::issue(id, now);
                tx.insert_challenge(&challenge).await?;
                Ok(challenge)
            })
        })
        .await
    }

    /// `POST /agents/{id}/challenge/verify`: the challenge is consumed whatever the answer
    /// (no second try with the same nonce); a good signature marks the key as proven.
    pub async fn verify_challenge(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        nonce: &str,
        signature: &str,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = id.clone();
        let (cache, now, principal, actor) = (
            Arc::clone(&self.policy),
            self.now(),
            principal.clone(),
            actor.clone(),
        );
        let (nonce, signature) = (nonce.to_owned(), signature.to_owned());
        // The transaction commits the consumption of the nonce even when the answer is
        // wrong: the verdict travels out as the inner result.
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = writable(tx, &cache, &principal, &id, now).await?;
                let Some(challenge) = tx.take_challenge(&id, &nonce).await? else {
                    return Ok(Err(ServiceError::Invalid(
                        "unknown or already answered challenge".into(),
                    )));
                };
                if now >= challenge.expires_at {
                    return Ok(Err(ServiceError::Invalid(
                        "the challenge has expired; ask for a new one".into(),
                    )));
                }
                let Some(pem) = view.agent.public_key.as_deref() else {
                    return Ok(Err(ServiceError::Conflict(Conflict::NoPublicKey)));
                };
                let key = Ed25519Key::parse(pem, "Ed25519")
                    .map_err(|e| ServiceError::internal_because("stored key unreadable", e))?;
                if let Err(e) = key.verify_challenge(&id, &nonce, &signature) {
                    return Ok(Err(ServiceError::Invalid(e.to_string())));
                }
                let mut agent = view.agent.clone();
                agent.key_verified_at = Some(now);
                agent.updated_at = now;
                let mut state = view.state;
                state.version = crate::trust_view::save_agent(tx, &agent).await?;
                let details = json!({"step": "proof_of_possession", "key_algorithm": "Ed25519"});
                tx.append_audit(&AuditEvent::new(
                    EventType::AgentVerified,
                    Some(id.clone()),
                    details,
                    &actor,
                    now,
                ))
                .await?;
                Ok(Ok(TrustView::compute(agent, state, view.policy, now)))
            })
        })
        .await?
    }
}
