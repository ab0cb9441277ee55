use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AccountId, AgentId, StoreError, Timestamp, WebhookId};
use tg_webhooks::{
    Attempt, Delivery, DeliveryStatus, Endpoint, EventKind, OutboxEvent, WebhookStore,
};

use crate::conn::{Conn, DbTx, FixedText, insert_rows, run};
use crate::error::{corrupt, store_error, touched};
use crate::pg_unnest::{Unnest, unnest};
use crate::schema::{
    event_outbox, outbox_queue, webhook_attempts, webhook_deliveries, webhook_endpoints,
};

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
    stream: Option<String>,
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
            stream: e
                .stream
                .as_ref()
                .map(|s| serde_json::to_string(s).unwrap_or_else(|_| "{}".into())),
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
            stream: self
                .stream
                .map(|s| serde_json::from_str(&s).map_err(|_| corrupt("stream", &s)))
                .transpose()?,
        })
    }
}

/// An outbox event as inserted (`seq` is the database's).
#[derive(Insertable)]
#[diesel(table_name = event_outbox)]
// A `None` is bound as NULL (the columns have no other default): one SQL text for every
// row (see `conn::prepared_by_type`).
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewOutboxRow {
    id: String,
    kind: String,
    account_id: Option<String>,
    agent_id: Option<String>,
    payload: String,
    created_at: i64,
}

impl NewOutboxRow {
    pub(crate) fn of(e: &OutboxEvent) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind.as_str().to_owned(),
            account_id: e.account_id.as_ref().map(AccountId::to_string),
            agent_id: e.agent_id.as_ref().map(AgentId::to_string),
            payload: e.payload.clone(),
            created_at: e.created_at.as_micros(),
        }
    }

    /// The rows as one PostgreSQL `INSERT … SELECT * FROM unnest(…)`.
    pub(crate) fn unnest(rows: Vec<Self>) -> Unnest {
        use diesel::sql_types::{BigInt, Nullable, Text};
        unnest!(event_outbox, rows, {
            id: Text, kind: Text, account_id: Nullable<Text>, agent_id: Nullable<Text>,
            payload: Text, created_at: BigInt,
        })
    }
}

#[derive(Queryable, QueryableByName)]
#[diesel(table_name = event_outbox)]
struct OutboxRow {
    seq: i64,
    id: String,
    kind: String,
    account_id: Option<String>,
    agent_id: Option<String>,
    payload: String,
    created_at: i64,
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

#[derive(Queryable, QueryableByName, Insertable)]
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

impl AttemptRow {
    fn from_attempt(a: &Attempt) -> Self {
        Self {
            endpoint_id: a.endpoint_id.to_string(),
            event_id: a.event_id.clone(),
            attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
            at: a.at.as_micros(),
            status_code: a.status_code.map(i32::from),
            latency_ms: i64::try_from(a.latency_ms).unwrap_or(i64::MAX),
            error: a.error.clone(),
        }
    }
}

/// Arbitrary, fixed: the advisory lock class of the fan-out; the schema's hash is the
/// other key, so gateways kept apart by schema on one database never wait on each other.
const FAN_OUT_LOCK: i32 = 0x7467_666f;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

impl DbTx<'_> {
    /// Whether this transaction may fan out now. On PostgreSQL one transaction at a time
    /// does (the others skip it, they do not wait), so events are fanned out, and reach
    /// dashboards on every instance, in outbox order. The lock is per schema: a gateway in
    /// another schema of the same database fans out its own events meanwhile.
    async fn fan_out_turn(&mut self) -> Result<bool, StoreError> {
        let Conn::Pg(c) = &mut self.conn else {
            return Ok(true);
        };
        let got = diesel::sql_query(
            "SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema())) AS locked",
        )
        .bind::<diesel::sql_types::Integer, _>(FAN_OUT_LOCK)
        .get_result::<Locked>(&mut **c)
        .await
        .map_err(store_error);
        Ok(self.poison(got)?.locked)
    }
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
                webhook_endpoints::stream.eq(&row.stream),
            ))
            .execute(c)
            .await)?;
        touched(n)
    }

    async fn delete_endpoint(&mut self, id: &WebhookId) -> Result<(), StoreError> {
        let target = webhook_endpoints::table.find(id.as_str());
        let n = run!(self, |c| diesel::delete(target).execute(c).await)?;
        touched(n)?;
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
        let row = NewOutboxRow::of(e);
        run!(self, |c| diesel::insert_into(event_outbox::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn append_outbox_batch(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        let rows = events.iter().map(NewOutboxRow::of).collect();
        insert_rows!(self, event_outbox::table, NewOutboxRow, rows).map(|_| ())
    }

    async fn fan_out(
        &mut self,
        admin: &AccountId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        if !self.fan_out_turn().await? {
            return Ok(Vec::new());
        }
        // The queue's first `limit` in `seq` order, then each one's event by its key. No
        // row locks: the turn above is the pass's alone. An event whose transaction
        // commits after a later `seq`'s is still queued next pass.
        let rows = match &mut self.conn {
            // A subquery with a `LIMIT` is never merged into the join: each event is looked
            // up by its key, whatever the planner estimates. As a join (or `IN`), a fresh
            // outbox's small row estimate made it hash the whole outbox at every pass
            // (docs/PERFORMANCE.md).
            Conn::Pg(c) => {
                diesel::sql_query(
                    "SELECT o.* FROM (SELECT seq FROM outbox_queue ORDER BY seq LIMIT $1) q \
                     CROSS JOIN LATERAL (SELECT * FROM event_outbox WHERE seq = q.seq LIMIT 1) o \
                     ORDER BY q.seq",
                )
                .bind::<diesel::sql_types::BigInt, _>(i64::from(limit))
                .load::<OutboxRow>(&mut **c)
                .await
            }
            Conn::Sqlite(c) => {
                outbox_queue::table
                    .inner_join(event_outbox::table.on(event_outbox::seq.eq(outbox_queue::seq)))
                    .order(outbox_queue::seq.asc())
                    .select(event_outbox::all_columns)
                    .limit(i64::from(limit))
                    .load::<OutboxRow>(&mut **c)
                    .await
            }
        }
        .map_err(store_error);
        let rows = self.poison(rows)?;
        let Some(last_seq) = rows.last().map(|r| r.seq) else {
            return Ok(Vec::new());
        };
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let endpoints: Vec<Endpoint> = self
            .list_endpoints(None)
            .await?
            .into_iter()
            .filter(|e| e.enabled)
            .collect();
        let mut deliveries = Vec::new();
        let mut events = Vec::with_capacity(rows.len());
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
            events.push(event);
        }
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let inserted = match &mut self.conn {
            // One multi-row INSERT per 500 deliveries on PostgreSQL (a round trip each).
            Conn::Pg(c) => {
                let mut out = Ok(0);
                for chunk in deliveries.chunks(500) {
                    out = diesel::insert_into(webhook_deliveries::table)
                        .values(chunk)
                        .on_conflict_do_nothing()
                        .execute(&mut **c)
                        .await;
                    if out.is_err() {
                        break;
                    }
                }
                out
            }
            // SQLite cannot batch rows with nullable columns; it has no round trip either.
            Conn::Sqlite(c) => {
                let mut out = Ok(0);
                for d in &deliveries {
                    out = diesel::insert_into(webhook_deliveries::table)
                        .values(d)
                        .on_conflict_do_nothing()
                        .execute(&mut **c)
                        .await;
                    if out.is_err() {
                        break;
                    }
                }
                out
            }
        }
        .map_err(store_error);
        self.poison(inserted)?;
        // Off the queue: by `seq` on PostgreSQL (one array parameter), planned at every
        // pass like the read. Kept prepared from a pass over a small queue, the plan was a
        // sequential scan, and it stayed one when a backlog grew the queue: 68 ms to delete
        // 2 of a million rows (docs/PERFORMANCE.md). On SQLite's one writer, every queued
        // row up to the last one read is one the pass read (one statement of fixed text,
        // kept prepared).
        let marked = match &mut self.conn {
            Conn::Pg(c) => {
                diesel::delete(outbox_queue::table.filter(outbox_queue::seq.eq_any(seqs)))
                    .into_boxed()
                    .execute(&mut **c)
                    .await
            }
            Conn::Sqlite(c) => {
                FixedText(diesel::delete(
                    outbox_queue::table.filter(outbox_queue::seq.le(last_seq)),
                ))
                .execute(&mut **c)
                .await
            }
        }
        .map_err(store_error);
        let marked = self.poison(marked)?;
        if marked != ids.len() {
            return self.poison(Err(StoreError::Conflict(format!(
                "{marked} of {} outbox events were still queued for the fan-out",
                ids.len()
            ))));
        }
        if let Conn::Pg(c) = &mut self.conn {
            let sent = crate::signals::notify(c, &ids).await.map_err(store_error);
            self.poison(sent)?;
        }
        Ok(events)
    }

    async fn claim_due(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let now_us = now.as_micros();
        if let Conn::Pg(c) = &mut self.conn {
            // One statement: pick, lock (skipping rows other claimers hold) and lease.
            let claimed: Result<Vec<DeliveryRow>, _> = diesel::sql_query(
                "UPDATE webhook_deliveries SET lease_until = $1 \
                 WHERE (event_id, endpoint_id) IN ( \
                   SELECT event_id, endpoint_id FROM webhook_deliveries \
                   WHERE status = 'pending' AND next_attempt_at <= $2 \
                     AND (lease_until IS NULL OR lease_until <= $2) \
                   ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING *",
            )
            .bind::<diesel::sql_types::BigInt, _>(lease_until.as_micros())
            .bind::<diesel::sql_types::BigInt, _>(now_us)
            .bind::<diesel::sql_types::BigInt, _>(i64::from(limit))
            .load(&mut **c)
            .await
            .map_err(store_error);
            let claimed = self.poison(claimed)?;
            return claimed
                .into_iter()
                .map(DeliveryRow::into_delivery)
                .collect();
        }
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
        // SQLite: one connection, so select-then-update cannot race.
        let rows: Vec<DeliveryRow> = run!(self, |c| q.load(c).await)?;
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

    async fn outbox_events(&mut self, ids: &[String]) -> Result<Vec<OutboxEvent>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let q = event_outbox::table.filter(event_outbox::id.eq_any(chunk));
            let rows: Vec<OutboxRow> = run!(self, |c| q.load(c).await)?;
            for r in rows {
                out.push(r.into_event()?);
            }
        }
        Ok(out)
    }

    async fn finish_attempt(&mut self, a: &Attempt, d: &Delivery) -> Result<(), StoreError> {
        let row = AttemptRow::from_attempt(a);
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
        touched(n)
    }

    async fn finish_attempts(&mut self, done: &[(Attempt, Delivery)]) -> Result<(), StoreError> {
        if !matches!(self.conn, Conn::Pg(_)) {
            for (a, d) in done {
                self.finish_attempt(a, d).await?;
            }
            return Ok(());
        }
        use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};
        let attempts: Vec<AttemptRow> = done
            .iter()
            .map(|(a, _)| AttemptRow::from_attempt(a))
            .collect();
        let rows: Vec<DeliveryRow> = done
            .iter()
            .map(|(_, d)| DeliveryRow::from_delivery(d))
            .collect();
        let col = |f: fn(&DeliveryRow) -> String| rows.iter().map(f).collect::<Vec<_>>();
        let (event_ids, endpoint_ids, statuses) = (
            col(|r| r.event_id.clone()),
            col(|r| r.endpoint_id.clone()),
            col(|r| r.status.clone()),
        );
        let attempts_n: Vec<i32> = rows.iter().map(|r| r.attempts).collect();
        let next: Vec<i64> = rows.iter().map(|r| r.next_attempt_at).collect();
        let lease: Vec<Option<i64>> = rows.iter().map(|r| r.lease_until).collect();
        let last_status: Vec<Option<i32>> = rows.iter().map(|r| r.last_status).collect();
        let last_error: Vec<Option<String>> = rows.iter().map(|r| r.last_error.clone()).collect();
        let delivered: Vec<Option<i64>> = rows.iter().map(|r| r.delivered_at).collect();
        let Conn::Pg(c) = &mut self.conn else {
            return Ok(());
        };
        let mut result = Ok(0);
        for chunk in attempts.chunks(500) {
            result = diesel::insert_into(webhook_attempts::table)
                .values(chunk)
                .execute(&mut **c)
                .await;
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            // One UPDATE for every delivery, from parallel arrays.
            result = diesel::sql_query(
                "UPDATE webhook_deliveries AS d SET status = v.status, attempts = v.attempts, \
                   next_attempt_at = v.next_attempt_at, lease_until = v.lease_until, \
                   last_status = v.last_status, last_error = v.last_error, delivered_at = v.delivered_at \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], \
                             $6::bigint[], $7::int[], $8::text[], $9::bigint[]) \
                   AS v(event_id, endpoint_id, status, attempts, next_attempt_at, lease_until, \
                        last_status, last_error, delivered_at) \
                 WHERE d.event_id = v.event_id AND d.endpoint_id = v.endpoint_id",
            )
            .bind::<Array<Text>, _>(&event_ids)
            .bind::<Array<Text>, _>(&endpoint_ids)
            .bind::<Array<Text>, _>(&statuses)
            .bind::<Array<Integer>, _>(&attempts_n)
            .bind::<Array<BigInt>, _>(&next)
            .bind::<Array<Nullable<BigInt>>, _>(&lease)
            .bind::<Array<Nullable<Integer>>, _>(&last_status)
            .bind::<Array<Nullable<Text>>, _>(&last_error)
            .bind::<Array<Nullable<BigInt>>, _>(&delivered)
            .execute(&mut **c)
            .await;
        }
        let result = result.map_err(store_error);
        self.poison(result).map(|_| ())
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
        touched(n)
    }

    async fn requeue_failed(
        &mut self,
        endpoint: &WebhookId,
        since: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let target = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.as_str()))
            .filter(webhook_deliveries::created_at.ge(since.as_micros()))
            .filter(webhook_deliveries::created_at.lt(until.as_micros()))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str()));
        let n = run!(self, |c| diesel::update(target)
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                webhook_deliveries::next_attempt_at.eq(now.as_micros()),
                webhook_deliveries::lease_until.eq(None::<i64>),
            ))
            .execute(c)
            .await)?;
        Ok(u64::try_from(n).unwrap_or(0))
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
