//! Vouching use cases (DESIGN §13): vouch, list, revoke, and the admin's anchors. The vouch
//! factor itself is recomputed in the background (`vouch_engine`).

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, VouchId};
use tg_identity::{AgentStatus, Ed25519Key};
use tg_vouch::{Direction, Vouch, signed_message, validate};

use crate::trust_view::{page_limit, require_agent};
use crate::{Conflict, Gateway, ServiceError, VouchRecompute, in_transaction, reading};

/// `POST /agents/{vouchee}/vouches`.
#[derive(Debug, Clone)]
pub struct NewVouch {
    pub from_agent: AgentId,
    pub weight: f64,
    pub note: Option<String>,
    /// Base64 Ed25519 signature by `from_agent`'s registered key over
    /// [`tg_vouch::signed_message`].
    pub signature: Option<String>,
}

/// A stored vouch and whether this call created it (`false`: an existing vouch updated).
#[derive(Debug, Clone)]
pub struct Vouched {
    pub vouch: Vouch,
    pub created: bool,
}

fn vouch_event(
    kind: EventType,
    agent: &AgentId,
    v: &Vouch,
    actor: &Actor,
    extra: serde_json::Value,
) -> AuditEvent {
    let mut details = json!({
        "vouch_id": v.id.as_str(),
        "from_agent": v.from_agent.as_str(),
        "to_agent": v.to_agent.as_str(),
        "weight": v.weight,
        "signed": v.signature.is_some(),
    });
    if let (Some(d), Some(e)) = (details.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    AuditEvent::new(kind, Some(agent.clone()), details, actor, v.updated_at)
}

impl Gateway {
    /// An agent of the caller's account vouches for another agent (of any account). One
    /// active vouch per pair: vouching again updates weight, note and signature.
    pub async fn vouch(
        &self,
        principal: &Principal,
        actor: &Actor,
        to: &AgentId,
        req: NewVouch,
    ) -> Result<Vouched, ServiceError> {
        self.require(principal, Scope::Write)?;
        let to = to.clone();
        let from = req.from_agent;
        validate(&from, &to, req.weight, req.note.as_deref())
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let (principal, actor, now) = (principal.clone(), actor.clone(), self.now());
        let cache = std::sync::Arc::clone(&self.policy);
        let done = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let voucher =
                    crate::trust_view::load_owned(tx, &cache, &principal, &from, now, false)
                        .await?;
                if voucher.agent.status != AgentStatus::Active {
                    return Err(ServiceError::Conflict(Conflict::CannotVouchWhile {
                        id: from,
                        status: voucher.agent.status.as_str(),
                    }));
                }
                let vouchee = require_agent(tx, &to).await?;
                if vouchee.status == AgentStatus::Revoked {
                    return Err(ServiceError::Conflict(Conflict::AgentRevoked(to)));
                }
                if let Some(sig) = req.signature.as_deref() {
                    let pem = voucher.agent.public_key.as_deref().ok_or_else(|| {
                        ServiceError::Invalid(format!(
                            "`signature` given but agent `{from}` has no Ed25519 public key"
                        ))
                    })?;
                    let key = Ed25519Key::parse(pem, "Ed25519")
                        .map_err(|e| ServiceError::internal_because("stored key", e))?;
                    key.verify(&signed_message(&from, &to, req.weight), sig)
                        .map_err(|e| ServiceError::Invalid(format!("`signature`: {e}")))?;
                }
                let (vouch, created) = match tx.active_vouch(&from, &to).await? {
                    Some(mut v) => {
                        v.weight = req.weight;
                        v.note = req.note;
                        v.signature = req.signature;
                        v.updated_at = now;
                        tx.update_vouch(&v).await?;
                        (v, false)
                    }
                    None => {
                        let v = Vouch {
                            id: VouchId::generate(),
                            from_agent: from.clone(),
                            to_agent: to.clone(),
                            weight: req.weight,
                            note: req.note,
                            signature: req.signature,
                            created_at: now,
                            updated_at: now,
                            revoked_at: None,
                            vouchee_violations: 0,
                        };
                        tx.insert_vouch(&v).await?;
                        // The vouchee's vouch count is part of its trust reads.
                        tx.bump_state(&to).await?;
                        (v, true)
                    }
                };
                let extra = json!({"updated": !created});
                tx.append_audit(&vouch_event(
                    EventType::VouchGiven,
                    &from,
                    &vouch,
                    &actor,
                    extra.clone(),
                ))
                .await?;
                tx.append_audit(&vouch_event(
                    EventType::VouchReceived,
                    &to,
                    &vouch,
                    &actor,
                    extra,
                ))
                .await?;
                Ok(Vouched { vouch, created })
            })
        })
        .await?;
        self.vouching.wake();
        Ok(done)
    }

    /// Active vouches received by or given by an agent, newest first: the agent's account
    /// (or the operator) only. Other tenants see the count in the agent's `TrustResult`.
    pub async fn vouches(
        &self,
        principal: &Principal,
        id: &AgentId,
        direction: Direction,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Vouch>, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
        let limit = page_limit(limit)?;
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                crate::trust_view::require_visible(tx, &principal, &id).await?;
                Ok(tx.list_vouches(&id, direction, offset, limit).await?)
            })
        })
        .await
    }

    /// Revokes a vouch for `vouchee`. Only the voucher's account (or an admin) may; for
    /// anyone else the vouch does not exist. Violations it accrued keep counting against
    /// the voucher.
    pub async fn revoke_vouch(
        &self,
        principal: &Principal,
        actor: &Actor,
        to: &AgentId,
        vouch: &VouchId,
    ) -> Result<Vouch, ServiceError> {
        self.require(principal, Scope::Write)?;
        let to = to.clone();
        let not_found = {
            let vouch = vouch.clone();
            move || ServiceError::vouch_not_found(vouch.as_str())
        };
        let id = vouch.clone();
        let (principal, actor, now) = (principal.clone(), actor.clone(), self.now());
        let done = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let mut v = tx.get_vouch(&id).await?.ok_or_else(&not_found)?;
                if v.to_agent != to || v.revoked_at.is_some() {
                    return Err(not_found());
                }
                let voucher = require_agent(tx, &v.from_agent).await?;
                if !principal.can_write(&voucher.account_id) {
                    return Err(not_found());
                }
                v.revoked_at = Some(now);
                v.updated_at = now;
                tx.update_vouch(&v).await?;
                tx.bump_state(&v.to_agent).await?;
                for agent in [&v.from_agent, &v.to_agent] {
                    tx.append_audit(&vouch_event(
                        EventType::VouchRevoked,
                        agent,
                        &v,
                        &actor,
                        json!({}),
                    ))
                    .await?;
                }
                Ok(v)
            })
        })
        .await?;
        self.vouching.wake();
        Ok(done)
    }

    /// Marks (or unmarks) an agent as an EigenTrust anchor (admin). Returns whether it is
    /// an anchor now.
    pub async fn set_anchor(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        anchor: bool,
    ) -> Result<bool, ServiceError> {
        self.require_operator(principal)?;
        let id = id.clone();
        let (actor, now) = (actor.clone(), self.now());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let agent = require_agent(tx, &id).await?;
                if anchor && agent.status == AgentStatus::Revoked {
                    return Err(ServiceError::Conflict(Conflict::AgentRevoked(id)));
                }
                let changed = if anchor {
                    tx.set_anchor(&id, now).await?
                } else {
                    tx.unset_anchor(&id).await?
                };
                if changed {
                    tx.append_audit(&AuditEvent::new(
                        EventType::AnchorChanged,
                        Some(id.clone()),
                        json!({"anchor": anchor}),
                        &actor,
                        now,
                    ))
                    .await?;
                }
                Ok(())
            })
        })
        .await?;
        self.vouching.wake();
        Ok(anchor)
    }

    /// Runs the vouch recompute now (the background worker's job; for operators and tests).
    pub async fn recompute_vouches(&self) -> Result<VouchRecompute, ServiceError> {
        self.vouching.recompute().await
    }
}
