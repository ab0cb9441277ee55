use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AccountId, AgentId, StoreError, Timestamp, WebhookId};
use tg_webhooks::{
    Attempt, Delivery, DeliveryStatus, Endpoint, EventKind, OutboxEvent, WebhookStore,
};

use crate::conn::{Conn, DbTx, run};
use crate::error::{corrupt, store_error};
use crate::schema::{event_outbox, webhook_attempts, webhook_deliveries, webhook_endpoints};

#[derive(Queryable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointRow {
    id: String,
    account_id: String,
    url: String,
    events: String,
    secrets: String,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl EndpointRow {
    fn from_endpoint(e: &Endpoint) -> Self {
        Self {
            id: e.id.to_string(),
            account_id: e.account_id.to_string(),
            url: e.url.clone(),
            events: e
                .events
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(","),
            secrets: serde_json::to_string(&e.secrets).unwrap_or_else(|_| "[]".into()),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since.map(Timestamp::as_micros),
            created_at: e.created_at.as_micros(),
            updated_at: e.updated_at.as_micros(),
        }
    }

    fn into_endpoint(self) -> Result<Endpoint, StoreError> {
        Ok(Endpoint {
            id: WebhookId::parse(&self.id).map_err(|_| corrupt("webhook id", &self.id))?,
            account_id: AccountId::parse(&self.account_id)
                .map_err(|_| corrupt("account id", &self.account_id))?,
            url: self.url,
            events: self
                .events
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| EventKind::parse(s).ok_or_else(|| corrupt("event kind", s)))
                .collect::<Result<_, _>>()?,
            secrets: serde_json::from_str(&self.secrets).map_err(|_| corrupt("secrets", "…"))?,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            failing_since: self.failing_since.map(Timestamp::from_micros),
            created_at: Timestamp::from_micros(self.created_at),
            updated_at: Timestamp::from_micros(self.updated_at),
        })
    }
}

#[derive(Queryable)]
struct OutboxRow {
    _seq: i64,
    id: String,
    kind: String,
    account_id: Option<String>,
    agent_id: Option<String>,
    payload: String,
    created_at: i64,
    _fanned_out: bool,
}

impl OutboxRow {
    fn into_event(self) -> Result<OutboxEvent, StoreError> {
        Ok(OutboxEvent {
            kind: EventKind::parse(&self.kind).ok_or_else(|| corrupt("event kind", &self.kind))?,
            account_id: self
                .account_id
                .map(|a| AccountId::parse(&a).map_err(|_| corrupt("account id", &a)))
                .transpose()?,
            agent_id: self
                .agent_id
                .map(|a| AgentId::parse(&a).map_err(|_| corrupt("agent id", &a)))
                .transpose()?,
            id: self.id,
            payload: self.payload,
            created_at: Timestamp::from_micros(self.created_at),
        })
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    event_id: String,
    endpoint_id: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    lease_until: Option<i64>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
}

impl DeliveryRow {
    fn from_delivery(d: &Delivery) -> Self {
        Self {
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.to_string(),
            status: d.status.as_str().to_owned(),
            attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
            next_attempt_at: d.next_attempt_at.as_micros(),
            lease_until: d.lease_until.map(Timestamp::as_micros),
            last_status: d.last_status.map(i32::from),
            last_error: d.last_error.clone(),
            created_at: d.created_at.as_micros(),
            delivered_at: d.delivered_at.map(Timestamp::as_micros),
        }
    }

    fn into_delivery(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            endpoint_id: WebhookId::parse(&self.endpoint_id)
                .map_err(|_| corrupt("webhook id", &self.endpoint_id))?,
            status: DeliveryStatus::parse(&self.status)
                .ok_or_else(|| corrupt("delivery status", &self.status))?,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| corrupt("attempts", self.attempts))?,
            next_attempt_at: Timestamp::from_micros(self.next_attempt_at),
            lease_until: self.lease_until.map(Timestamp::from_micros),
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            created_at: Timestamp::from_micros(self.created_at),
            delivered_at: self.delivered_at.map(Timestamp::from_micros),
            event_id: self.event_id,
        })
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = webhook_attempts)]
struct AttemptRow {
    endpoint_id: String,
    event_id: String,
    attempt: i32,
    at: i64,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
}

#[async_trait::async_trait]
impl WebhookStore for DbTx<'_> {
    async fn insert_endpoint(&mut self, e: &Endpoint) -> Result<(), StoreError> {
        let row = EndpointRow::from_endpoint(e);
        run!(self, |c| diesel::insert_into(webhook_endpoints::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn get_endpoint(&mut self, id: &WebhookId) -> Result<Option<Endpoint>, StoreError> {
        let q = webhook_endpoints::table.find(id.as_str());
        let row: Option<EndpointRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(EndpointRow::into_endpoint).transpose()
    }

    async fn list_endpoints(
        &mut self,
        account: Option<&AccountId>,
    ) -> Result<Vec<Endpoint>, StoreError> {
        let rows: Vec<EndpointRow> = match account {
            Some(a) => {
                let q = webhook_endpoints::table
                    .filter(webhook_endpoints::account_id.eq(a.as_str()))
                    .order(webhook_endpoints::created_at.asc());
                run!(self, |c| q.load(c).await)?
            }
            None => {
                let q = webhook_endpoints::table.order(webhook_endpoints::created_at.asc());
                run!(self, |c| q.load(c).await)?
            }
        };
        rows.into_iter().map(EndpointRow::into_endpoint).collect()
    }

    async fn update_endpoint(&mut self, e: &Endpoint) -> Result<(), StoreError> {
        let row = EndpointRow::from_endpoint(e);
        let target = webhook_endpoints::table.find(e.id.as_str());
        let n = run!(self, |c| diesel::update(target)
            .set((
                webhook_endpoints::url.eq(&row.url),
                webhook_endpoints::events.eq(&row.events),
                webhook_endpoints::secrets.eq(&row.secrets),
                webhook_endpoints::enabled.eq(row.enabled),
                webhook_endpoints::disabled_reason.eq(&row.disabled_reason),
                webhook_endpoints::failing_since.eq(row.failing_since),
                webhook_endpoints::updated_at.eq(row.updated_at),
            ))
            .execute(c)
            .await)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn delete_endpoint(&mut self, id: &WebhookId) -> Result<(), StoreError> {
        let target = webhook_endpoints::table.find(id.as_str());
        let n = run!(self, |c| diesel::delete(target).execute(c).await)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let pending = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(id.as_str()))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
        run!(self, |c| diesel::update(pending)
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str()),
                webhook_deliveries::last_error.eq(Some("endpoint deleted")),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn append_outbox(&mut self, e: &OutboxEvent) -> Result<(), StoreError> {
        let values = (
            event_outbox::id.eq(e.id.as_str()),
            event_outbox::kind.eq(e.kind.as_str()),
            event_outbox::account_id.eq(e.account_id.as_ref().map(AccountId::as_str)),
            event_outbox::agent_id.eq(e.agent_id.as_ref().map(AgentId::as_str)),
            event_outbox::payload.eq(e.payload.as_str()),
            event_outbox::created_at.eq(e.created_at.as_micros()),
            event_outbox::fanned_out.eq(false),
        );
        run!(self, |c| diesel::insert_into(event_outbox::table)
            .values(values)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn fan_out(
        &mut self,
        admin: &AccountId,
        now: Timestamp,
        limit: u32,
    ) -> Result<usize, StoreError> {
        let q = event_outbox::table
            .filter(event_outbox::fanned_out.eq(false))
            .order(event_outbox::seq.asc())
            .limit(i64::from(limit));
        let rows: Result<Vec<OutboxRow>, _> = match &mut self.conn {
            Conn::Pg(c) => q.for_update().skip_locked().load(&mut **c).await,
            Conn::Sqlite(c) => q.load(&mut **c).await,
        }
        .map_err(store_error);
        let rows = self.poison(rows)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let endpoints: Vec<Endpoint> = self
            .list_endpoints(None)
            .await?
            .into_iter()
            .filter(|e| e.enabled)
            .collect();
        let mut deliveries = Vec::new();
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let event = row.into_event()?;
            for e in &endpoints {
                let routed =
                    e.account_id == *admin || event.account_id.as_ref() == Some(&e.account_id);
                if routed && e.events.contains(&event.kind) {
                    deliveries.push(DeliveryRow::from_delivery(&Delivery {
                        event_id: event.id.clone(),
                        endpoint_id: e.id.clone(),
                        status: DeliveryStatus::Pending,
                        attempts: 0,
                        next_attempt_at: now,
                        lease_until: None,
                        last_status: None,
                        last_error: None,
                        created_at: now,
                        delivered_at: None,
                    }));
                }
            }
            ids.push(event.id);
        }
        for chunk in deliveries.chunks(100) {
            for d in chunk {
                run!(self, |c| diesel::insert_into(webhook_deliveries::table)
                    .values(d)
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await)?;
            }
        }
        let target = event_outbox::table.filter(event_outbox::id.eq_any(&ids));
        run!(self, |c| diesel::update(target)
            .set(event_outbox::fanned_out.eq(true))
            .execute(c)
            .await)?;
        Ok(deliveries.len())
    }

    async fn claim_due(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let now_us = now.as_micros();
        let q = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.le(now_us))
            .filter(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.le(now_us)),
            )
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(i64::from(limit));
        let rows: Result<Vec<DeliveryRow>, _> = match &mut self.conn {
            Conn::Pg(c) => q.for_update().skip_locked().load(&mut **c).await,
            Conn::Sqlite(c) => q.load(&mut **c).await,
        }
        .map_err(store_error);
        let rows = self.poison(rows)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut d = row.into_delivery()?;
            let target =
                webhook_deliveries::table.find((d.event_id.as_str(), d.endpoint_id.as_str()));
            run!(self, |c| diesel::update(target)
                .set(webhook_deliveries::lease_until.eq(Some(lease_until.as_micros())))
                .execute(c)
                .await)?;
            d.lease_until = Some(lease_until);
            out.push(d);
        }
        Ok(out)
    }

    async fn outbox_event(&mut self, id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        let q = event_outbox::table.filter(event_outbox::id.eq(id));
        let row: Option<OutboxRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(OutboxRow::into_event).transpose()
    }

    async fn finish_attempt(&mut self, a: &Attempt, d: &Delivery) -> Result<(), StoreError> {
        let row = AttemptRow {
            endpoint_id: a.endpoint_id.to_string(),
            event_id: a.event_id.clone(),
            attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
            at: a.at.as_micros(),
            status_code: a.status_code.map(i32::from),
            latency_ms: i64::try_from(a.latency_ms).unwrap_or(i64::MAX),
            error: a.error.clone(),
        };
        run!(self, |c| diesel::insert_into(webhook_attempts::table)
            .values(&row)
            .execute(c)
            .await)?;
        let d = DeliveryRow::from_delivery(d);
        let target = webhook_deliveries::table.find((d.event_id.as_str(), d.endpoint_id.as_str()));
        let n = run!(self, |c| diesel::update(target)
            .set((
                webhook_deliveries::status.eq(&d.status),
                webhook_deliveries::attempts.eq(d.attempts),
                webhook_deliveries::next_attempt_at.eq(d.next_attempt_at),
                webhook_deliveries::lease_until.eq(d.lease_until),
                webhook_deliveries::last_status.eq(d.last_status),
                webhook_deliveries::last_error.eq(&d.last_error),
                webhook_deliveries::delivered_at.eq(d.delivered_at),
            ))
            .execute(c)
            .await)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn requeue_delivery(&mut self, d: &Delivery) -> Result<(), StoreError> {
        let target = webhook_deliveries::table.find((d.event_id.as_str(), d.endpoint_id.as_str()));
        let n = run!(self, |c| diesel::update(target)
            .set((
                webhook_deliveries::status.eq(d.status.as_str()),
                webhook_deliveries::next_attempt_at.eq(d.next_attempt_at.as_micros()),
                webhook_deliveries::lease_until.eq(d.lease_until.map(Timestamp::as_micros)),
            ))
            .execute(c)
            .await)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn get_delivery(
        &mut self,
        event_id: &str,
        endpoint: &WebhookId,
    ) -> Result<Option<Delivery>, StoreError> {
        let q = webhook_deliveries::table.find((event_id, endpoint.as_str()));
        let row: Option<DeliveryRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(DeliveryRow::into_delivery).transpose()
    }

    async fn list_attempts(
        &mut self,
        endpoint: &WebhookId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Attempt>, StoreError> {
        let q = webhook_attempts::table
            .filter(webhook_attempts::endpoint_id.eq(endpoint.as_str()))
            .order((
                webhook_attempts::at.desc(),
                webhook_attempts::attempt.desc(),
            ))
            .offset(i64::from(offset))
            .limit(i64::from(limit));
        let rows: Vec<AttemptRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(Attempt {
                    endpoint_id: WebhookId::parse(&r.endpoint_id)
                        .map_err(|_| corrupt("webhook id", &r.endpoint_id))?,
                    event_id: r.event_id,
                    attempt: u32::try_from(r.attempt).map_err(|_| corrupt("attempt", r.attempt))?,
                    at: Timestamp::from_micros(r.at),
                    status_code: r.status_code.and_then(|s| u16::try_from(s).ok()),
                    latency_ms: u64::try_from(r.latency_ms).unwrap_or(0),
                    error: r.error,
                })
            })
            .collect()
    }
}
