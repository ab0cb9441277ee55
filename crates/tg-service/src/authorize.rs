use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EncodedEvent, EventType};
use tg_core::AccountId;
use tg_core::AgentId;
use tg_scoring::{Decision, DenyReason, authorize, validate_action_name};

use crate::memory_reads::Basis;
use crate::runtime::audit_batch::Record;
use crate::trust_view::standing;
use crate::{Gateway, ServiceError};

/// Most actions one batch may ask about.
pub const MAX_BATCH: usize = 100;

/// One decision with the numbers behind it (V2 `POST /authorize` response).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeOutcome {
    pub agent_id: AgentId,
    pub action: String,
    pub decision: Decision,
    pub current_tier: u8,
    pub current_score: f64,
    /// The agent's state version the decision was made on.
    pub state_version: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    pub agent_id: AgentId,
    pub results: Vec<AuthorizeOutcome>,
    /// The agent's state version the decisions were made on.
    pub state_version: u64,
}

/// A name no catalog can hold is bad input (400), not a question to audit.
fn valid_action(action: &str) -> Result<(), ServiceError> {
    validate_action_name(action).map_err(|e| ServiceError::Invalid(e.to_string()))
}

fn decide(basis: &Basis, action: &str) -> AuthorizeOutcome {
    let Basis {
        entry,
        policy,
        score,
    } = basis;
    let decision = authorize(
        &policy.policy.catalog,
        standing(entry.agent.status),
        score.tier,
        score.composite,
        action,
    );
    AuthorizeOutcome {
        agent_id: entry.agent.id.clone(),
        action: action.to_owned(),
        decision,
        current_tier: score.tier,
        current_score: score.composite,
        state_version: entry.state.version,
    }
}

/// A `trust_check` event's details for a call's decisions: the same fields, in the same
/// order, the event has always had; serialised straight to text.
#[derive(serde::Serialize)]
struct TrustCheck<'a> {
    decisions: Checks<'a>,
    current_tier: u8,
    current_score: f64,
    caller_account: &'a AccountId,
}

/// Each decision as `{"action", "allowed"}`.
struct Checks<'a>(&'a [AuthorizeOutcome]);

impl serde::Serialize for Checks<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Check<'a> {
            action: &'a str,
            allowed: bool,
        }
        s.collect_seq(self.0.iter().map(|o| Check {
            action: &o.action,
            allowed: o.decision.allowed,
        }))
    }
}

impl Gateway {
    /// `POST /authorize`. Fails closed: an unknown agent is `NotFound`, an unknown action,
    /// a suspended or revoked agent is denied with its reason, a store failure is
    /// `Unavailable` (never an allow). `min`: the least state version to decide on.
    pub async fn authorize(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        action: &str,
        min: Option<u64>,
    ) -> Result<AuthorizeOutcome, ServiceError> {
        valid_action(action)?;
        let basis = self.decision_basis(principal, id, min).await?;
        let outcome = decide(&basis, action);
        self.audit_decisions(principal, actor, &basis, std::slice::from_ref(&outcome))
            .await?;
        Ok(outcome)
    }

    /// `POST /authorize/batch`: one result per distinct action, in request order.
    pub async fn authorize_batch(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        actions: &[String],
        min: Option<u64>,
    ) -> Result<BatchOutcome, ServiceError> {
        if actions.is_empty() || actions.len() > MAX_BATCH {
            return Err(ServiceError::Invalid(format!(
                "`actions` must hold between 1 and {MAX_BATCH} actions"
            )));
        }
        for action in actions {
            valid_action(action)?;
        }
        let basis = self.decision_basis(principal, id, min).await?;
        let mut results: Vec<AuthorizeOutcome> = Vec::with_capacity(actions.len());
        for action in actions {
            if !results.iter().any(|r| r.action == *action) {
                results.push(decide(&basis, action));
            }
        }
        self.audit_decisions(principal, actor, &basis, &results)
            .await?;
        Ok(BatchOutcome {
            state_version: basis.entry.state.version,
            agent_id: basis.entry.agent.id.clone(),
            results,
        })
    }

    /// Decisions are audited after they are made; a failure to write the events is logged
    /// and never turns a denial into anything else. Events that cannot even be encoded
    /// fail the call closed (`Internal`), as on the in-memory path.
    ///
    /// One call writes at most two events, whatever its size, so the events anyone can
    /// cause in an agent's trail, webhooks and live feed are bounded by the caller's own
    /// plan rate limit:
    /// - one `trust_check` with every decision of the call;
    /// - at most one `authorization_denied` (audit and webhook): the call's first denial of
    ///   a catalog action, with every denied catalog action of the call in `actions`. An
    ///   unknown action says nothing about the agent and is only in the `trust_check`.
    ///
    /// Both name the caller's account (`caller_account`). They go through the
    /// group-committing writer, so the decision path never waits on an audit write (see
    /// `audit_batch.rs` for what that costs).
    async fn audit_decisions(
        &self,
        principal: &Principal,
        actor: &Actor,
        basis: &Basis,
        outcomes: &[AuthorizeOutcome],
    ) -> Result<(), ServiceError> {
        let records = self.decision_records(principal, actor, basis, outcomes)?;
        for record in records {
            self.audit_batch.push(record).await;
        }
        self.count(outcomes);
        Ok(())
    }

    fn count(&self, outcomes: &[AuthorizeOutcome]) {
        for o in outcomes {
            self.metrics.decided(o.decision.allowed);
        }
    }

    /// The audit and outbox records of a call's decisions (see `audit_decisions`).
    fn decision_records(
        &self,
        principal: &Principal,
        actor: &Actor,
        basis: &Basis,
        outcomes: &[AuthorizeOutcome],
    ) -> Result<Vec<Record>, ServiceError> {
        let now = self.now();
        let Some(first) = outcomes.first() else {
            return Ok(Vec::new());
        };
        let details = TrustCheck {
            decisions: Checks(outcomes),
            current_tier: first.current_tier,
            current_score: first.current_score,
            caller_account: &principal.account_id,
        };
        let check = EncodedEvent::new(
            EventType::TrustCheck,
            Some(first.agent_id.clone()),
            &details,
            actor,
            now,
        )
        .map_err(|e| ServiceError::internal_because("encoding a trust_check event", e))?;
        let mut records = vec![Record::Audit(check)];
        let denied: Vec<&AuthorizeOutcome> = outcomes
            .iter()
            .filter(|o| !o.decision.allowed && o.decision.deny != Some(DenyReason::UnknownAction))
            .collect();
        let Some(o) = denied.first() else {
            return Ok(records);
        };
        let details = json!({
            "action": o.action,
            "reason": o.decision.reason(),
            "current_tier": o.current_tier,
            "required_tier": o.decision.required_tier,
            "actions": denied.iter().map(|d| d.action.as_str()).collect::<Vec<_>>(),
            "caller_account": principal.account_id,
        });
        let denial = AuditEvent::new(
            EventType::AuthorizationDenied,
            Some(o.agent_id.clone()),
            details.clone(),
            actor,
            now,
        );
        records.push(Record::Audit(EncodedEvent::from(&denial)));
        records.push(Record::Outbox(crate::events::agent_event(
            tg_webhooks::EventKind::AuthorizationDenied,
            &basis.entry.agent,
            details,
            now,
        )));
        Ok(records)
    }

    /// `POST /authorize` decided from memory without waiting on anything, for a caller
    /// that can then skip handing the call to the runtime; `None` when it cannot answer so
    /// (the agent is not held, memory is not current, or the audit queue is full: use
    /// [`Gateway::authorize`], which waits).
    pub fn authorize_now(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        action: &str,
        min: Option<u64>,
    ) -> Option<Result<AuthorizeOutcome, ServiceError>> {
        let checked = valid_action(action).and_then(|()| self.require(principal, Scope::Read));
        if let Err(e) = checked {
            return Some(Err(e));
        }
        let basis = self.basis_from_memory(id, min)?;
        let outcome = decide(&basis, action);
        let records =
            match self.decision_records(principal, actor, &basis, std::slice::from_ref(&outcome)) {
                Ok(records) => records,
                Err(e) => return Some(Err(e)),
            };
        // A full audit queue: the caller takes the path that waits for room.
        self.audit_batch.queue_now(records).ok()?;
        self.count(std::slice::from_ref(&outcome));
        Some(Ok(outcome))
    }
}
