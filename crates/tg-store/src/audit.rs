use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_audit::{AuditEvent, AuditQuery, AuditStore, EncodedEvent, EventType};
use tg_core::{AgentId, EventId, StoreError, Timestamp};

use crate::conn::{DbTx, insert_rows, run};
use crate::error::corrupt;
use crate::pg_unnest::{Unnest, unnest};
use crate::schema::audit_events;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
// A `None` is bound as NULL (the columns have no other default): one SQL text for every
// row (see `conn::prepared_by_type`).
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct AuditRow {
    id: String,
    agent_id: Option<String>,
    ts: i64,
    event_type: String,
    details: String,
    ip_hash: Option<String>,
    api_key_prefix: Option<String>,
}

impl AuditRow {
    pub(crate) fn from_event(mut e: EncodedEvent) -> Self {
        AuditRow {
            id: e.event_id.to_string(),
            agent_id: e.agent_id.as_ref().map(ToString::to_string),
            ts: e.timestamp.as_micros(),
            event_type: e.event_type.as_str().to_owned(),
            ip_hash: e.ip_hash.take(),
            api_key_prefix: e.api_key_prefix.take(),
            details: e.into_details(),
        }
    }

    /// The rows as one PostgreSQL `INSERT … SELECT * FROM unnest(…)`.
    pub(crate) fn unnest(rows: Vec<Self>) -> Unnest {
        use diesel::sql_types::{BigInt, Nullable, Text};
        unnest!(audit_events, rows, {
            id: Text, agent_id: Nullable<Text>, ts: BigInt, event_type: Text, details: Text,
            ip_hash: Nullable<Text>, api_key_prefix: Nullable<Text>,
        })
    }

    fn into_event(self) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            event_id: EventId::parse(&self.id).map_err(|_| corrupt("event id", &self.id))?,
            timestamp: Timestamp::from_micros(self.ts),
            event_type: EventType::parse(&self.event_type)
                .ok_or_else(|| corrupt("event type", &self.event_type))?,
            agent_id: self
                .agent_id
                .as_deref()
                .map(|a| AgentId::parse(a).map_err(|_| corrupt("agent id", a)))
                .transpose()?,
            details: serde_json::from_str(&self.details)
                .map_err(|_| corrupt("event details", &self.id))?,
            ip_hash: self.ip_hash,
            api_key_prefix: self.api_key_prefix,
        })
    }
}

#[async_trait::async_trait]
impl AuditStore for DbTx<'_> {
    async fn append_encoded_audit(&mut self, events: Vec<EncodedEvent>) -> Result<(), StoreError> {
        let rows: Vec<AuditRow> = events.into_iter().map(AuditRow::from_event).collect();
        insert_rows!(self, audit_events::table, AuditRow, rows).map(|_| ())
    }

    async fn query_audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        // Optional filters as plain predicates (no boxing, so one query serves both
        // backends): every type when none is asked for; a cursor before everything.
        let types: Vec<&str> = match query.event_type {
            Some(t) => vec![t.as_str()],
            None => EventType::ALL.iter().map(|t| t.as_str()).collect(),
        };
        let (after_ts, after_id) = match &query.after {
            Some((ts, id)) => (ts.as_micros(), id.to_string()),
            None => (i64::MIN, String::new()),
        };
        let lower = query.start.as_micros().max(after_ts);
        // The same page for either subject; the subject predicate is the only difference
        // (equality for an agent, IS NULL for the gateway's own events).
        macro_rules! page {
            ($subject:expr) => {
                audit_events::table
                    .filter($subject)
                    .filter(audit_events::ts.le(query.end.as_micros()))
                    .filter(audit_events::event_type.eq_any(types))
                    // One lower bound (the later of `start` and the cursor) so the
                    // (agent_id, ts, id) index seeks straight to the page: paging stays
                    // O(page), not O(offset). The OR below then skips rows of the cursor's
                    // own microsecond already returned.
                    .filter(audit_events::ts.ge(lower))
                    .filter(
                        audit_events::ts.gt(after_ts).or(audit_events::ts
                            .eq(after_ts)
                            .and(audit_events::id.gt(after_id))),
                    )
                    .order((audit_events::ts.asc(), audit_events::id.asc()))
                    .limit(i64::from(query.limit))
            };
        }
        let rows: Vec<AuditRow> = match &query.agent_id {
            Some(agent) => {
                let q = page!(audit_events::agent_id.eq(agent.as_str()));
                run!(self, |c| q.load(c).await)?
            }
            None => {
                let q = page!(audit_events::agent_id.is_null());
                run!(self, |c| q.load(c).await)?
            }
        };
        rows.into_iter().map(AuditRow::into_event).collect()
    }
}
