//! Joy Trust Protocol §3.2: the `TrustResult` a relying party asks for (the type is
//! `tg-joy`'s). It never fails open: unknown, ambiguous, suspended or unreadable agents
//! answer `meets_threshold: false` with `error` set.

use std::sync::Arc;

use tg_access::{Plan, Principal, Scope};
use tg_audit::{Actor, EncodedEvent, EventType};
use tg_core::{AgentId, Timestamp};
use tg_identity::{AgentStatus, VerificationLevel};

use crate::trust_view::{TrustView, load_view};
use crate::{Gateway, ServiceError, reading};

use tg_joy::{JOY_DECIMALS, JOY_SCALE, PROVIDER, TrustResult};

/// The result for a loaded agent with `vouch_count` active vouches, at `threshold` (0–5).
pub fn trust_result(view: &TrustView, plan: Plan, vouch_count: u64, threshold: f64) -> TrustResult {
    let b = &view.breakdown;
    let trust_score = tg_scoring::round_to(b.composite * JOY_SCALE, JOY_DECIMALS);
    let withheld = b.cold_start;
    let (meets, error) = match view.agent.status {
        AgentStatus::Active => (!withheld && trust_score >= threshold, None),
        other => (false, Some(format!("agent is {}", other.as_str()))),
    };
    TrustResult {
        agent_id: Some(view.agent.id.clone()),
        agent_name: Some(view.agent.name.clone()),
        trust_score,
        verified: view.verification_level >= VerificationLevel::Verified,
        meets_threshold: meets,
        threshold_used: threshold,
        vouch_count,
        evidence_count: b.evidence_count,
        capabilities: view.agent.capabilities.clone(),
        tier: Some(plan),
        badges: view.agent.badges(view.computed_at),
        last_activity: b.last_activity,
        withheld,
        error,
        provider: PROVIDER.to_owned(),
        provider_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Whom `POST /trust/verify` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Id(String),
    Name(String),
}

/// Fails closed: a store failure is a denial.
fn unavailable(threshold: f64, e: &ServiceError) -> TrustResult {
    tracing::error!(error = %tg_core::ErrorChain(e), "trust verification failed closed");
    TrustResult::denied(threshold, None, None, "trust store unavailable".into())
}

impl Gateway {
    /// `POST /trust/verify`. Only the request itself can be refused (422); every lookup
    /// failure is a denying `TrustResult`.
    pub async fn verify_trust(
        &self,
        principal: &Principal,
        actor: &Actor,
        subject: Subject,
        threshold: f64,
    ) -> Result<TrustResult, ServiceError> {
        self.require(principal, Scope::Read)?;
        if !threshold.is_finite() || !(0.0..=JOY_SCALE).contains(&threshold) {
            return Err(ServiceError::Invalid(
                "`min_score` must be between 0 and 5".into(),
            ));
        }
        let now = self.now();
        let result = match self.subject_id(subject, threshold).await {
            Ok(id) => match self.trust_inputs(&id, None).await {
                Ok((view, plan, vouches)) => trust_result(&view, plan, vouches, threshold),
                Err(ServiceError::NotFound(_)) => {
                    TrustResult::denied(threshold, Some(id), None, "unknown agent".into())
                }
                Err(e) => unavailable(threshold, &e),
            },
            Err(Ok(denied)) => denied,
            Err(Err(e)) => unavailable(threshold, &e),
        };
        self.audit_trust_check(actor, &result, now).await?;
        Ok(result)
    }

    /// Whom `subject` names: an agent id, or a denying result (unknown or ambiguous), or
    /// a store failure.
    async fn subject_id(
        &self,
        subject: Subject,
        threshold: f64,
    ) -> Result<AgentId, Result<TrustResult, ServiceError>> {
        let unknown = |id, name| {
            Ok(TrustResult::denied(
                threshold,
                id,
                name,
                "unknown agent".into(),
            ))
        };
        let name = match subject {
            Subject::Id(raw) => return AgentId::parse(&raw).map_err(|_| unknown(None, None)),
            Subject::Name(name) => name,
        };
        let lookup = name.clone();
        let found = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.agents_named(&lookup, 2).await?) })
        })
        .await
        .map_err(Err)?;
        match found.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(unknown(None, Some(name))),
            _ => Err(Ok(TrustResult::denied(
                threshold,
                None,
                Some(name),
                "ambiguous name: several agents have it; ask by agent_id".into(),
            ))),
        }
    }

    /// The `trust_check` event of a trust read (none for a result naming no agent).
    fn trust_check(
        actor: &Actor,
        r: &TrustResult,
        now: Timestamp,
    ) -> Result<Option<EncodedEvent>, ServiceError> {
        /// The details, in the order they have always been written.
        #[derive(serde::Serialize)]
        struct Details<'a> {
            threshold: f64,
            joy_score: f64,
            meets_threshold: bool,
            error: &'a Option<String>,
        }
        let Some(id) = r.agent_id.clone() else {
            return Ok(None);
        };
        let details = Details {
            threshold: r.threshold_used,
            joy_score: r.trust_score,
            meets_threshold: r.meets_threshold,
            error: &r.error,
        };
        EncodedEvent::new(EventType::TrustCheck, Some(id), &details, actor, now)
            .map(Some)
            .map_err(|e| ServiceError::internal_because("encoding a trust_check event", e))
    }

    /// Queues the read's `trust_check`; a read whose event cannot be encoded fails closed,
    /// on this path as on the in-memory one.
    async fn audit_trust_check(
        &self,
        actor: &Actor,
        r: &TrustResult,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        if let Some(event) = Self::trust_check(actor, r, now)? {
            self.audit_batch.append(event).await;
        }
        Ok(())
    }

    /// `GET /agents/{id}/trust`: the breakdown, the owning account's plan and the number of
    /// active vouches received.
    /// Logged as a `trust_check` (Joy §5.2), like `POST /trust/verify`. `min`: the least
    /// state version to answer on (read-your-writes).
    pub async fn trust_with_plan(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        min: Option<u64>,
    ) -> Result<(TrustView, Plan, TrustResult), ServiceError> {
        self.require(principal, Scope::Read)?;
        let now = self.now();
        let (view, plan, vouches) = self.trust_inputs(id, min).await?;
        let result = trust_result(&view, plan, vouches, 0.0);
        self.audit_trust_check(actor, &result, now).await?;
        Ok((view, plan, result))
    }

    /// [`Gateway::trust_with_plan`] answered from memory without waiting on anything, for
    /// a caller that can then skip handing the call to the runtime; `None` when it cannot
    /// answer so (not held at `min`, memory not current, or the audit queue full: use
    /// `trust_with_plan`, which waits).
    pub fn trust_now(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        min: Option<u64>,
    ) -> Option<Result<(TrustView, Plan, TrustResult), ServiceError>> {
        if let Err(e) = self.require(principal, Scope::Read) {
            return Some(Err(e));
        }
        let (view, plan, vouches) = self.trust_from_memory(id, min)?;
        let result = trust_result(&view, plan, vouches, 0.0);
        let event = match Self::trust_check(actor, &result, view.computed_at) {
            Ok(event) => event?,
            Err(e) => return Some(Err(e)),
        };
        self.audit_batch
            .queue_now(vec![crate::runtime::audit_batch::Record::Audit(event)])
            .ok()?;
        Some(Ok((view, plan, result)))
    }

    /// `GET /agents`: the caller's account's agents, oldest first (an admin key sees every
    /// account's, or one account's with `account`).
    pub async fn list_agents(
        &self,
        principal: &Principal,
        account: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<TrustView>, ServiceError> {
        self.require(principal, Scope::Read)?;
        if !(1..=1000).contains(&limit) {
            return Err(ServiceError::Invalid(
                "`limit` must be between 1 and 1000".into(),
            ));
        }
        let account = match account {
            None if principal.is_operator() => None,
            None => Some(principal.account_id.clone()),
            Some(a) => {
                let a = tg_core::AccountId::parse(a)
                    .map_err(|_| ServiceError::Invalid(format!("invalid account id `{a}`")))?;
                if !principal.sees(&a) {
                    return Err(ServiceError::Forbidden(
                        "only the operator lists another account's agents".into(),
                    ));
                }
                Some(a)
            }
        };
        let cache = Arc::clone(&self.policy);
        let now = self.now();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let found = tx.list_agents(account.as_ref(), offset, limit).await?;
                let mut out = Vec::with_capacity(found.len());
                for agent in found {
                    out.push(load_view(tx, &cache, &agent.id, now, false).await?);
                }
                Ok(out)
            })
        })
        .await
    }

    /// `GET /agents/discover?query=`: by name or capability, paged.
    pub async fn discover(
        &self,
        principal: &Principal,
        query: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<TrustView>, ServiceError> {
        self.require(principal, Scope::Read)?;
        let query = query.trim().to_owned();
        if query.is_empty() || query.chars().count() > 128 {
            return Err(ServiceError::Invalid(
                "`query` must be 1–128 characters".into(),
            ));
        }
        if !(1..=100).contains(&limit) {
            return Err(ServiceError::Invalid(
                "`limit` must be between 1 and 100".into(),
            ));
        }
        let cache = Arc::clone(&self.policy);
        let now = self.now();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let found = tx.discover_agents(&query, offset, limit).await?;
                let mut out = Vec::with_capacity(found.len());
                for agent in found {
                    out.push(load_view(tx, &cache, &agent.id, now, false).await?);
                }
                Ok(out)
            })
        })
        .await
    }
}
