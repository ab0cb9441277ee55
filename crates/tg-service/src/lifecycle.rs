//! Suspend, reactivate, revoke (final), and token introspection that honours them.

use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::AgentId;
use tg_identity::{AgentStatus, SuspensionAuthor};
use tg_scoring::Trigger;
use tg_tokens::TokenClaims;

use crate::token_chain::{Held, revoked, token_parties, weakest_tier};
use crate::trust_view::TrustView;
use crate::{Conflict, Gateway, ServiceError, in_transaction, reading};

/// A lifecycle change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Suspend,
    Reactivate,
    Revoke,
}

impl Lifecycle {
    fn target(self) -> AgentStatus {
        match self {
            Lifecycle::Suspend => AgentStatus::Suspended,
            Lifecycle::Reactivate => AgentStatus::Active,
            Lifecycle::Revoke => AgentStatus::Revoked,
        }
    }

    fn webhook_event(self) -> tg_webhooks::EventKind {
        match self {
            Lifecycle::Suspend => tg_webhooks::EventKind::AgentSuspended,
            Lifecycle::Reactivate => tg_webhooks::EventKind::AgentReactivated,
            Lifecycle::Revoke => tg_webhooks::EventKind::AgentRevoked,
        }
    }

    fn event(self) -> EventType {
        match self {
            Lifecycle::Suspend => EventType::AgentSuspended,
            Lifecycle::Reactivate => EventType::AgentReactivated,
            Lifecycle::Revoke => EventType::AgentRevoked,
        }
    }
}

/// RFC 7662 introspection: `active` and, when active, the token's claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Introspection {
    pub active: bool,
    pub claims: Option<TokenClaims>,
    /// Why an inactive token is inactive (for the caller's logs; not part of RFC 7662).
    pub reason: Option<String>,
}

impl Gateway {
    /// Moves an agent through its lifecycle. Revoked is final; suspended and revoked agents
    /// are denied every authorization and every token, and their tokens stop introspecting
    /// as active.
    pub async fn change_status(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        change: Lifecycle,
        reason: Option<String>,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Write)?;
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(ServiceError::Invalid(
                "`reason` must be at most 500 characters".into(),
            ));
        }
        let id = id.clone();
        let cache = Arc::clone(&self.policy);
        let now = self.now();
        let principal = principal.clone();
        let actor = actor.clone();
        let view = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view =
                    crate::trust_view::load_owned(tx, &cache, &principal, &id, now, true).await?;
                let from = view.agent.status;
                if from == AgentStatus::Revoked {
                    return Err(ServiceError::Conflict(Conflict::RevocationIsFinal(id)));
                }
                let to = change.target();
                let by = if principal.is_operator() { SuspensionAuthor::Operator } else { SuspensionAuthor::Owner };
                // The operator's suspension binds the owner: only the operator lifts it, or
                // the owner's admin keys where the operator delegated that.
                if from == AgentStatus::Suspended
                    && to == AgentStatus::Active
                    && view.agent.suspended_by == Some(SuspensionAuthor::Operator)
                    && !principal.lifts_operator_suspension(&view.agent.account_id)
                {
                    return Err(ServiceError::Forbidden(format!(
                        "agent `{id}` was suspended by the operator; only the operator (or an admin key of its account, where the operator allowed it) reactivates it"
                    )));
                }
                let suspended_by = (to == AgentStatus::Suspended).then(|| match view.agent.suspended_by {
                    // An owner's suspension of an operator-suspended agent changes nothing.
                    Some(SuspensionAuthor::Operator) if from == AgentStatus::Suspended => SuspensionAuthor::Operator,
                    _ => by,
                });
                if from == to && view.agent.suspended_by == suspended_by {
                    return Ok(view);
                }
                let mut agent = view.agent.clone();
                agent.status = to;
                agent.suspended_by = suspended_by;
                agent.updated_at = now;
                if to != AgentStatus::Active {
                    // Every token issued so far dies for good: reactivation revives none.
                    agent.token_epoch = agent.token_epoch.saturating_add(1);
                }
                crate::trust_view::save_agent(tx, &agent).await?;
                let details = json!({"from": from.as_str(), "to": to.as_str(), "reason": reason, "by": by.as_str()});
                tx.append_outbox(&crate::events::agent_event(
                    change.webhook_event(),
                    &agent,
                    details.clone(),
                    now,
                ))
                .await?;
                tx.append_audit(&AuditEvent::new(
                    change.event(),
                    Some(id.clone()),
                    details,
                    &actor,
                    now,
                ))
                .await?;
                // The history shows the lifecycle change, at the score it stood at.
                let mut state = crate::trust_view::append_point(
                    tx,
                    &view.state,
                    &view.breakdown,
                    Trigger::Lifecycle,
                    now,
                )
                .await?;
                state.updated_at = now;
                state.version = tx.update_trust(&state).await?;
                Ok(TrustView::compute(agent, state, view.policy, now))
            })
        })
        .await?;
        // Suspended and revoked agents pass on no trust and are not pre-trusted.
        self.vouching.wake();
        self.webhooks.wake();
        Ok(view)
    }

    /// `POST /tokens/introspect`: a token is active when it verifies (signature, `alg`,
    /// `kid`, `exp`, `iss`; any audience, which the caller sees in `aud`), everyone it names
    /// still stands behind it (not [`revoked`]; [`token_parties`]: not of an older token
    /// generation, every actor's delegation still open), and all of them still hold at
    /// least the tier the token was issued at (scores computed now, decay included).
    pub async fn introspect(
        &self,
        principal: &Principal,
        token: &str,
    ) -> Result<Introspection, ServiceError> {
        self.require(principal, Scope::Read)?;
        let inactive = |reason: String| Introspection {
            active: false,
            claims: None,
            reason: Some(reason),
        };
        let claims = match self.tokens().verify_any_audience(token, self.now(), 0) {
            Ok(c) => c,
            Err(e) => return Ok(inactive(e.to_string())),
        };
        let checked = claims.clone();
        let (cache, now) = (Arc::clone(&self.policy), self.now());
        let parties = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let unrevoked = match revoked(tx, &[&checked]).await? {
                    Ok(proof) => proof,
                    Err((_, reason)) => return Ok(Err(reason)),
                };
                token_parties(tx, &cache, &checked, now, &Held::new(), &unrevoked).await
            })
        })
        .await?;
        let tier = match parties {
            Err(reason) => return Ok(inactive(reason)),
            Ok(views) => weakest_tier(&views),
        };
        Ok(match claims.tier {
            // The token granted what its tier allowed; a lower tier now grants less.
            Some(granted) if tier < granted => inactive(format!(
                "the trust tier is now {tier}, below the tier {granted} the token was issued at"
            )),
            _ => Introspection {
                active: true,
                claims: Some(claims),
                reason: None,
            },
        })
    }
}
