use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, StoreError, Unique};
use tg_identity::{Agent, AgentStatus, Attestation, NewAgent, SpiffeId, VerificationLevel};
use tg_scoring::Trigger;

use crate::trust_view::{TrustView, load_view, page_limit, require_visible, rescore, save_agent};
use crate::{Conflict, Gateway, HistoryPoint, ServiceError, TrustState, in_transaction, reading};

/// A registration request as received (V2 `POST /agents/register`).
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub provider: String,
    pub spiffe_id: Option<String>,
    pub config_hash: String,
    pub capabilities: Vec<String>,
    /// Absent means `self_declared`.
    pub attestation: Option<Attestation>,
    /// Where the agent serves A2A (publishes its signed agent card).
    pub a2a: Option<tg_identity::A2aProfile>,
}

/// A registration's SPIFFE ID conflict, in its own words (the store's rule, or an agent
/// that proved the ID); any other error as it is.
fn spiffe_taken(spiffe: Option<&SpiffeId>, e: ServiceError) -> ServiceError {
    match (spiffe, e) {
        (Some(id), ServiceError::Conflict(_)) => {
            ServiceError::Conflict(Conflict::SpiffeIdTaken(id.clone()))
        }
        (_, other) => other,
    }
}

/// How far back `GET /stats` counts `recent_actions` (V2: a day).
pub const RECENT_SECS: i64 = 86_400;

impl Gateway {
    /// `POST /agents/register`.
    pub async fn register(
        &self,
        principal: &Principal,
        actor: &Actor,
        reg: Registration,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Write)?;
        let new = NewAgent::parse(
            &reg.name,
            &reg.provider,
            reg.spiffe_id.as_deref(),
            &reg.config_hash,
            &reg.capabilities,
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let a2a = reg.a2a;
        if let Some(p) = &a2a {
            p.validate()
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        }
        let now = self.now();
        let attestation = reg.attestation.unwrap_or(Attestation::SelfDeclared);
        let verified = self
            .attestation
            .verify(new.spiffe_id.as_ref(), &attestation, now)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let account = principal.account_id.clone();
        let agent = Agent {
            id: AgentId::generate(),
            account_id: principal.account_id.clone(),
            name: new.name,
            provider: new.provider,
            spiffe_id: new.spiffe_id,
            approved_config_hash: new.config_hash.clone(),
            config_hash: new.config_hash,
            capabilities: new.capabilities,
            status: AgentStatus::Active,
            suspended_by: None,
            verification_level: verified.level,
            attestation_type: verified.kind,
            identity_strength: verified.strength,
            attestation_expires_at: verified.expires_at,
            public_key: None,
            key_verified_at: None,
            a2a,
            token_epoch: 0,
            created_at: now,
            updated_at: now,
        };
        let cache = Arc::clone(&self.policy);
        let head_mac = self
            .signer
            .head_mac(&agent.id, &tg_receipts::ChainHead::EMPTY);
        let actor = actor.clone();
        let name = agent.name.clone();
        let spiffe = agent.spiffe_id.clone();
        let result = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let policy = cache.load(tx).await?;
                let mut state = TrustState {
                    history_seq: 1,
                    chain_mac: Some(head_mac),
                    ..TrustState::new(agent.id.clone(), now)
                };
                let view = TrustView::compute(agent.clone(), state.clone(), policy, now);
                state.composite = view.breakdown.composite;
                state.tier = view.breakdown.tier;
                crate::identity_claims::take_attestation_nonce(tx, &attestation, &account, now).await?;
                // Its only conflict: another agent holds the SPIFFE ID.
                crate::identity_claims::settle_spiffe_claims(tx, &agent, &actor, now)
                    .await
                    .map_err(|e| spiffe_taken(spiffe.as_ref(), e))?;
                tx.insert_agent(&agent).await.map_err(|e| match e {
                    e @ StoreError::Taken(Unique::SpiffeId) => spiffe_taken(spiffe.as_ref(), e.into()),
                    StoreError::Taken(Unique::AgentName) => {
                        ServiceError::Conflict(Conflict::AgentNameTaken(name.clone()))
                    }
                    other => other.into(),
                })?;
                tx.insert_trust(&state).await?;
                let point = HistoryPoint {
                    agent_id: agent.id.clone(),
                    seq: 1,
                    timestamp: now,
                    composite_score: state.composite,
                    tier: state.tier,
                    trigger: Trigger::Registered,
                };
                tx.append_history(&point).await?;
                let details = json!({
                    "name": agent.name,
                    "provider": agent.provider,
                    "spiffe_id": agent.spiffe_id.as_ref().map(ToString::to_string),
                    "attestation_type": agent.attestation_type.as_str(),
                    "verification_level": agent.verification_level.as_u8(),
                });
                tx.append_audit(&AuditEvent::new(
                    EventType::AgentRegistered,
                    Some(agent.id.clone()),
                    details,
                    &actor,
                    now,
                ))
                .await?;
                tx.append_outbox(&crate::events::agent_event(
                    tg_webhooks::EventKind::AgentRegistered,
                    &view.agent,
                    json!({"verification_level": view.verification_level, "attestation_type": view.agent.attestation_type.as_str(), "score": view.breakdown.composite, "tier": view.breakdown.tier}),
                    now,
                ))
                .await?;
                Ok(TrustView { state, ..view })
            })
        })
        .await;
        let view = result?;
        if view.verification_level == VerificationLevel::Certified {
            // A certified agent is pre-trusted.
            self.vouching.wake();
        }
        self.webhooks.wake();
        Ok(view)
    }

    /// The agent and its score at `now` (`GET /agents/{id}`, `/trust`, `/card`).
    pub async fn trust_view(&self, id: &AgentId) -> Result<TrustView, ServiceError> {
        let id = id.clone();
        let cache = Arc::clone(&self.policy);
        let now = self.now();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { load_view(tx, &cache, &id, now, false).await })
        })
        .await
    }

    /// `GET /agents/{id}/history?limit=`: newest first.
    pub async fn history(
        &self,
        principal: &Principal,
        id: &AgentId,
        limit: u32,
    ) -> Result<(AgentId, Vec<HistoryPoint>), ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
        let limit = page_limit(limit)?;
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                require_visible(tx, &principal, &id).await?;
                let points = tx.list_history(&id, limit).await?;
                Ok((id, points))
            })
        })
        .await
    }

    /// `GET /stats`; "recent" is the last [`RECENT_SECS`].
    pub async fn stats(&self) -> Result<crate::Stats, ServiceError> {
        let since = self.now().plus_secs(-RECENT_SECS);
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.stats(since).await?) })
        })
        .await
    }
}

impl Gateway {
    /// `POST /agents/{id}/attestation`: presents fresh evidence (e.g. a renewed SVID). It is
    /// verified against the agent's `spiffe_id`; on success the agent's identity credit and
    /// level follow it (and its expiry). A refused attestation changes nothing.
    pub async fn reattest(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        attestation: Attestation,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = id.clone();
        let now = self.now();
        let cache = Arc::clone(&self.policy);
        let principal = principal.clone();
        let actor = actor.clone();
        // Verification needs the stored SPIFFE ID: read it, verify outside the transaction
        // (no database time spent on crypto), then apply under the lock if nothing changed.
        let current = self.trust_view(&id).await?;
        if !principal.can_write(&current.agent.account_id) {
            return Err(ServiceError::agent_not_found(id.as_str()));
        }
        if current.agent.status == AgentStatus::Revoked {
            return Err(ServiceError::Conflict(Conflict::AgentRevoked(id.clone())));
        }
        let verified = self
            .attestation
            .verify(current.agent.spiffe_id.as_ref(), &attestation, now)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let view = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let before = load_view(tx, &cache, &id, now, true).await?;
                if before.agent.spiffe_id != current.agent.spiffe_id {
                    return Err(ServiceError::Conflict(Conflict::SpiffeIdChanged));
                }
                let mut agent = before.agent.clone();
                agent.attestation_type = verified.kind;
                agent.identity_strength = verified.strength;
                agent.verification_level = verified.level;
                agent.attestation_expires_at = verified.expires_at;
                agent.updated_at = now;
                crate::identity_claims::take_attestation_nonce(
                    tx,
                    &attestation,
                    &principal.account_id,
                    now,
                )
                .await?;
                crate::identity_claims::settle_spiffe_claims(tx, &agent, &actor, now).await?;
                let saved = save_agent(tx, &agent).await?;
                let mut after = rescore(
                    tx,
                    &before,
                    agent.clone(),
                    before.state.clone(),
                    Trigger::Attestation,
                    now,
                )
                .await?;
                after.state.version = after.state.version.max(saved);
                let details = json!({
                    "attestation_type": verified.kind.as_str(),
                    "verification_level": verified.level.as_u8(),
                    "expires_at": verified.expires_at,
                });
                tx.append_audit(&AuditEvent::new(
                    EventType::AgentVerified,
                    Some(id.clone()),
                    details,
                    &actor,
                    now,
                ))
                .await?;
                Ok(after)
            })
        })
        .await?;
        self.vouching.wake();
        Ok(view)
    }
}
