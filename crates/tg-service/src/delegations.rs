//! Delegation (Joy §4): create under a trust threshold (fail closed), chains with a root
//! authority, outcome once, outcomes feeding the delegatee's behaviour.

use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, ChainId, DelegationId, Provenance};
use tg_delegation::{
    ChainView, Delegation, DelegationOutcome, Delegator, Feedback, Limits, OutcomeRecord, Request,
    plan,
};
use tg_joy::TrustResult;
use tg_scoring::{Source, Trigger};

use crate::token_evidence::{credibility, require_live};
use crate::trust_result::trust_result;
use crate::trust_view::{load_view, page_limit, rescore};
use crate::{Conflict, Gateway, ServiceError, TrustView, in_transaction, reading};

/// `POST /delegations`, its ids parsed.
#[derive(Debug, Clone)]
pub struct NewDelegation {
    /// An agent (`from_agent`) or a person (`from_principal`, `user:…`).
    pub from: Delegator,
    pub to_agent: AgentId,
    pub task_type: String,
    pub threshold: f64,
    pub parent_delegation_id: Option<DelegationId>,
    /// The delegatee's gateway token: the delegator proves it handed the task to the agent,
    /// so the delegation counts as accepted at once.
    pub token: Option<String>,
}

/// A delegation was made, or refused because the delegatee did not meet the threshold.
#[derive(Debug, Clone)]
pub enum Delegated {
    Made(Delegation),
    BelowThreshold {
        reason: String,
        trust_result: TrustResult,
    },
}

/// Whether the caller's account made one of `links` or owns one of their delegatees (or is
/// the operator): delegations and chains are private to the parties, like receipts.
async fn party_to(
    tx: &mut dyn crate::Tx,
    principal: &Principal,
    links: &[Delegation],
) -> Result<bool, ServiceError> {
    if principal.is_operator() {
        return Ok(true);
    }
    for d in links {
        if tx
            .delegation_account(&d.id)
            .await?
            .is_some_and(|a| principal.sees(&a))
        {
            return Ok(true);
        }
        if tx
            .get_agent(&d.to_agent)
            .await?
            .is_some_and(|a| principal.sees(&a.account_id))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Gateway {
    /// `POST /delegations`.
    pub async fn delegate(
        &self,
        principal: &Principal,
        actor: &Actor,
        req: NewDelegation,
    ) -> Result<Delegated, ServiceError> {
        self.require(principal, Scope::Write)?;
        let (from, to, parent) = (req.from, req.to_agent, req.parent_delegation_id);
        let handoff = req
            .token
            .as_deref()
            .map(|t| self.agent_token(t, &to, "hand-off"))
            .transpose()?;
        let (cache, now, principal, actor) = (
            Arc::clone(&self.policy),
            self.now(),
            principal.clone(),
            actor.clone(),
        );
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                if let Delegator::Agent(a) = &from {
                    let _delegator = crate::trust_view::load_owned(tx, &cache, &principal, a, now, false).await?;
                }
                let ancestors = match &parent {
                    None => vec![],
                    Some(p) => tx.ancestry(p).await.map_err(|e| match e {
                        tg_core::StoreError::NotFound => ServiceError::NotFound(format!("delegation `{p}` not found")),
                        other => other.into(),
                    })?,
                };
                let delegatee = load_view(tx, &cache, &to, now, false).await?;
                let plan_of = tx.get_account(&delegatee.agent.account_id).await?.map_or(tg_access::Plan::Free, |a| a.plan);
                let vouches = tx.count_vouches_received(&to).await?;
                let result = trust_result(&delegatee, plan_of, vouches, req.threshold.clamp(0.0, 5.0));
                // Fail closed: a withheld (cold) or inactive delegatee cannot be delegated to.
                let score = if !result.meets_threshold && (result.withheld || result.error.is_some()) { f64::NAN } else { result.trust_score };
                let request = Request { from, to_agent: to.clone(), task_type: req.task_type, threshold: req.threshold };
                let d = match plan(request, &ancestors, score, Limits::default(), now) {
                    Ok(d) => d,
                    Err(e @ tg_delegation::PlanError::BelowThreshold { .. }) => {
                        let reason = if result.withheld { "the delegatee's trust is withheld (cold start)".to_owned() } else if let Some(err) = &result.error { err.clone() } else { e.to_string() };
                        return Ok(Delegated::BelowThreshold { reason, trust_result: result });
                    }
                    Err(e) => return Err(ServiceError::Invalid(e.to_string())),
                };
                let mut d = d;
                if let Some(claims) = &handoff {
                    require_live(tx, claims, &delegatee.agent, "hand-off").await?;
                }
                let proven_handoff = handoff.is_some();
                // A hand-off to the caller's own agent, or one the delegatee's token proves,
                // is accepted at once; any other waits for the delegatee's account.
                if proven_handoff || delegatee.agent.account_id == principal.account_id {
                    d.accepted_at = Some(now);
                }
                tx.insert_delegation(&d, &principal.account_id).await?;
                let details = json!({"delegation_id": d.id, "chain_id": d.chain_id, "from": d.from.to_string(), "task_type": d.task_type, "threshold": d.threshold, "trust_score_at_delegation": d.trust_score_at_delegation, "depth": d.depth, "accepted": d.accepted_at.is_some(), "caller_account": principal.account_id});
                tx.append_audit(&AuditEvent::new(EventType::DelegationStarted, Some(to), details, &actor, now)).await?;
                Ok(Delegated::Made(d))
            })
        })
        .await
    }

    /// `GET /delegations/{id}`.
    pub async fn delegation(
        &self,
        principal: &Principal,
        id: &DelegationId,
    ) -> Result<Delegation, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let not_found = || ServiceError::NotFound(format!("delegation `{id}` not found"));
                let d = tx.get_delegation(&id).await?.ok_or_else(not_found)?;
                if !party_to(tx, &principal, std::slice::from_ref(&d)).await? {
                    return Err(not_found());
                }
                Ok(d)
            })
        })
        .await
    }

    /// `GET /chains/{id}` (Joy §4.2).
    pub async fn chain(
        &self,
        principal: &Principal,
        id: &ChainId,
    ) -> Result<ChainView, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let links = tx.chain(&id).await?;
                if !party_to(tx, &principal, &links).await? {
                    return Err(ServiceError::NotFound(format!("chain `{id}` not found")));
                }
                ChainView::of(links)
                    .ok_or_else(|| ServiceError::NotFound(format!("chain `{id}` not found")))
            })
        })
        .await
    }

    /// `PATCH /delegations/{id}/outcome`: once; by the delegator's account or an admin. The
    /// outcome becomes behaviour evidence of the delegatee (cancellations say nothing).
    pub async fn record_outcome(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &DelegationId,
        outcome: DelegationOutcome,
        feedback: Option<Feedback>,
        notes: Option<String>,
    ) -> Result<(Delegation, Option<TrustView>), ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = id.clone();
        let (cache, now, principal, actor) = (
            Arc::clone(&self.policy),
            self.now(),
            principal.clone(),
            actor.clone(),
        );
        let operator = self.admin_account().id.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let not_found = || ServiceError::NotFound(format!("delegation `{id}` not found"));
                let owner = tx.delegation_account(&id).await?.ok_or_else(not_found)?;
                if !principal.can_write(&owner) {
                    return Err(not_found());
                }
                let mut d = tx.lock_delegation(&id).await?.ok_or_else(not_found)?;
                let record = OutcomeRecord { outcome, feedback, notes, completed_at: now };
                d.complete(record.clone()).map_err(|e| match e {
                    tg_delegation::OutcomeError::AlreadyRecorded(_) => ServiceError::Conflict(Conflict::Delegation(e)),
                    other => ServiceError::Invalid(other.to_string()),
                })?;
                tx.update_outcome(&d).await?;
                let mut view = None;
                let mut counted = None;
                // An unaccepted hand-off is only the delegator's claim: its outcome moves nothing.
                if let Some(evidence) = record.evidence().filter(|_| d.accepted_at.is_some()) {
                    let before = load_view(tx, &cache, &d.to_agent, now, true).await?;
                    let source = if before.agent.account_id == owner {
                        Source::SELF
                    } else {
                        let credibility = credibility(tx, &owner, &operator).await?;
                        Source { provenance: Provenance::Delegation, credibility }
                    };
                    counted = Some(source);
                    let mut state = before.state.clone();
                    state.evidence.record_from(evidence, now, &before.policy.policy.behavior, source);
                    view = Some(rescore(tx, &before, before.agent.clone(), state, Trigger::DelegationOutcome, now).await?);
                }
                let details = json!({"delegation_id": d.id, "outcome": outcome.as_str(), "feedback": feedback.map(Feedback::as_str), "counted_as": counted.map(|c| c.provenance.as_str()), "credibility": counted.map(|c| c.credibility)});
                tx.append_audit(&AuditEvent::new(EventType::DelegationCompleted, Some(d.to_agent.clone()), details, &actor, now)).await?;
                Ok((d, view))
            })
        })
        .await
    }

    /// `POST /delegations/{id}/accept`: the delegatee's account confirms it received the
    /// task, so the delegator's outcome will count (`delegation` provenance, weighted by
    /// the delegator account's credibility). Idempotent; 409 once the outcome is known;
    /// 404 to anyone but the delegatee's account (and the operator).
    pub async fn accept_delegation(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &DelegationId,
    ) -> Result<Delegation, ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = id.clone();
        let (now, principal, actor) = (self.now(), principal.clone(), actor.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let not_found = || ServiceError::NotFound(format!("delegation `{id}` not found"));
                let mut d = tx.lock_delegation(&id).await?.ok_or_else(not_found)?;
                let delegatee = tx.get_agent(&d.to_agent).await?.ok_or_else(not_found)?;
                if !principal.can_write(&delegatee.account_id) {
                    return Err(not_found());
                }
                if d.accepted_at.is_some() {
                    return Ok(d);
                }
                d.accept(now).map_err(|e| ServiceError::Conflict(Conflict::Delegation(e)))?;
                tx.accept_delegation(&d).await?;
                let details = json!({"delegation_id": d.id, "from": d.from.to_string(), "task_type": d.task_type});
                tx.append_audit(&AuditEvent::new(EventType::DelegationAccepted, Some(d.to_agent.clone()), details, &actor, now)).await?;
                Ok(d)
            })
        })
        .await
    }

    /// `GET /agents/{id}/delegation-history`: to or from the agent, newest first.
    pub async fn delegation_history(
        &self,
        principal: &Principal,
        id: &AgentId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Delegation>, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
        let limit = page_limit(limit)?;
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                crate::trust_view::require_visible(tx, &principal, &id).await?;
                Ok(tx.history_for_agent(&id, offset, limit).await?)
            })
        })
        .await
    }
}
