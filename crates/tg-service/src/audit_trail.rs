//! Reading the audit trail: by agent and period, paged; exported page by page so an
//! export of any size runs in constant memory.

use std::sync::Arc;

use tg_access::{Principal, Scope};
use tg_audit::{
    AUDIT_EXPORT_FORMAT, AuditEvent, AuditQuery, AuditStatement, AuditSummary, EventType,
};
use tg_core::{AgentId, EventId, Timestamp};

use crate::trust_view::require_agent;
use crate::{Gateway, ServiceError, Store, reading};

/// Default period: the last 30 days.
const DEFAULT_DAYS: i64 = 30;
/// Page size of exports.
pub const EXPORT_PAGE: u32 = 1000;

/// Parses `start`/`end`: RFC 3339, or a date `YYYY-MM-DD` (an end date covers its whole day).
pub fn parse_period(
    start: Option<&str>,
    end: Option<&str>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), ServiceError> {
    let parse = |s: &str, end_of_day: bool| -> Result<Timestamp, ServiceError> {
        if let Ok(t) = Timestamp::parse_rfc3339(s) {
            return Ok(t);
        }
        let day = Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")).map_err(|_| {
            ServiceError::Invalid(format!(
                "`{}` is neither RFC 3339 nor a YYYY-MM-DD date",
                s.chars().take(40).collect::<String>()
            ))
        })?;
        Ok(if end_of_day {
            Timestamp::from_micros(day.as_micros() + 86_400_000_000 - 1)
        } else {
            day
        })
    };
    let end = match end {
        Some(e) => parse(e, true)?,
        None => now,
    };
    let start = match start {
        Some(s) => parse(s, false)?,
        None => end.plus_secs(-DEFAULT_DAYS * 86_400),
    };
    if start > end {
        return Err(ServiceError::Invalid("`start` is after `end`".into()));
    }
    Ok((start, end))
}

/// One page of an agent's trail and where the next one starts.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// `None` for the gateway's own trail.
    pub agent_id: Option<AgentId>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub events: Vec<AuditEvent>,
    pub next: Option<(Timestamp, EventId)>,
}

/// A running export: pages in order until `None`, then [`AuditExport::finish`].
#[derive(Debug)]
pub struct AuditExport {
    store: Arc<dyn Store>,
    agent_id: AgentId,
    query: AuditQuery,
    done: bool,
    issuer: String,
    /// `None` for an unsigned export ([`AuditExport::unsigned`]).
    digest: Option<tg_audit::EventDigest>,
    summary: AuditSummary,
}

impl AuditExport {
    pub fn agent_id(&self) -> &AgentId {
        &self.agent_id
    }

    /// An export nobody will sign (CSV): the per-event digest is not computed, and
    /// [`AuditExport::finish`] has no statement to give.
    pub fn unsigned(mut self) -> Self {
        self.digest = None;
        self
    }

    pub fn period(&self) -> (Timestamp, Timestamp) {
        (self.query.start, self.query.end)
    }

    pub async fn next_page(&mut self) -> Result<Option<Vec<AuditEvent>>, ServiceError> {
        if self.done {
            return Ok(None);
        }
        let query = self.query.clone();
        let page = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.query_audit(&query).await?) })
        })
        .await?;
        match page.last() {
            Some(last) if page.len() == self.query.limit as usize => {
                self.query.after = Some((last.timestamp, last.event_id.clone()))
            }
            _ => self.done = true,
        }
        for e in &page {
            self.summary.add(e);
            if let Some(digest) = &mut self.digest {
                digest
                    .push(e)
                    .map_err(|err| ServiceError::internal(format!("audit event digest: {err}")))?;
            }
        }
        Ok(if page.is_empty() { None } else { Some(page) })
    }

    /// After the last page: the summary and the statement to sign (`None` for an
    /// [`AuditExport::unsigned`] export).
    pub fn finish(self, export_id: &str, now: Timestamp) -> Option<AuditStatement> {
        let (events, events_sha256) = self.digest?.finish();
        Some(AuditStatement {
            format: AUDIT_EXPORT_FORMAT.to_owned(),
            issuer: self.issuer,
            agent_id: self.agent_id.to_string(),
            export_id: export_id.to_owned(),
            period_start: self.query.start,
            period_end: self.query.end,
            events,
            events_sha256,
            summary: self.summary,
            exported_at: now,
        })
    }
}

/// Which page of an audit trail, as the API's query gives it: the period (RFC 3339; by
/// default the 30 days up to now), an event type, the cursor and the page size (1–1000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditWindow<'a> {
    pub start: Option<&'a str>,
    pub end: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub after: Option<(Timestamp, EventId)>,
    pub limit: u32,
}

impl Gateway {
    /// Only the agent's own account (or an admin) reads its audit trail; to others the
    /// agent does not exist.
    async fn audit_subject(
        &self,
        principal: &Principal,
        id: &AgentId,
    ) -> Result<AgentId, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
        let (check, p) = (id.clone(), principal.clone());
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let agent = require_agent(tx, &check).await?;
                if !p.sees(&agent.account_id) {
                    return Err(ServiceError::agent_not_found(check.as_str()));
                }
                Ok(())
            })
        })
        .await?;
        Ok(id)
    }

    /// `GET /agents/{id}/audit`.
    pub async fn audit(
        &self,
        principal: &Principal,
        id: &AgentId,
        window: AuditWindow<'_>,
    ) -> Result<AuditPage, ServiceError> {
        let agent_id = self.audit_subject(principal, id).await?;
        self.audit_page(Some(agent_id), window).await
    }

    /// `GET /admin/audit`: the gateway's own trail — events about no agent (API keys,
    /// accounts, policy edits, signing keys). Admin only.
    pub async fn gateway_audit(
        &self,
        principal: &Principal,
        window: AuditWindow<'_>,
    ) -> Result<AuditPage, ServiceError> {
        self.require_operator(principal)?;
        self.audit_page(None, window).await
    }

    async fn audit_page(
        &self,
        agent_id: Option<AgentId>,
        w: AuditWindow<'_>,
    ) -> Result<AuditPage, ServiceError> {
        // Read this instance's own writes: queued trust checks land first.
        self.audit_batch.flush().await;
        let (start, end) = parse_period(w.start, w.end, self.now())?;
        let event_type = w
            .event_type
            .map(|t| {
                EventType::parse(t).ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "unknown event type `{}`",
                        t.chars().take(40).collect::<String>()
                    ))
                })
            })
            .transpose()?;
        let limit = w.limit;
        if !(1..=1000).contains(&limit) {
            return Err(ServiceError::Invalid(
                "`limit` must be between 1 and 1000".into(),
            ));
        }
        let query = AuditQuery {
            agent_id: agent_id.clone(),
            start,
            end,
            event_type,
            after: w.after,
            limit,
        };
        let events = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.query_audit(&query).await?) })
        })
        .await?;
        let next = events
            .last()
            .filter(|_| events.len() == limit as usize)
            .map(|e| (e.timestamp, e.event_id.clone()));
        Ok(AuditPage {
            agent_id,
            start,
            end,
            events,
            next,
        })
    }

    /// `GET /agents/{id}/audit/export`: access is checked now; pages are read as consumed.
    pub async fn export_audit(
        &self,
        principal: &Principal,
        id: &AgentId,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<AuditExport, ServiceError> {
        let agent_id = self.audit_subject(principal, id).await?;
        self.audit_batch.flush().await;
        let (start, end) = parse_period(start, end, self.now())?;
        let query = AuditQuery {
            agent_id: Some(agent_id.clone()),
            start,
            end,
            event_type: None,
            after: None,
            limit: EXPORT_PAGE,
        };
        Ok(AuditExport {
            store: Arc::clone(&self.store),
            agent_id,
            query,
            done: false,
            issuer: self.tokens().issuer().to_owned(),
            digest: Some(tg_audit::EventDigest::default()),
            summary: AuditSummary::default(),
        })
    }
}
