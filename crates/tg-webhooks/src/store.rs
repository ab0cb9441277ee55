use tg_core::{AccountId, StoreError, Timestamp, WebhookId};

use crate::{Attempt, Delivery, Endpoint, OutboxEvent};

/// Storage of endpoints, the outbox, deliveries and attempts.
///
/// - `list_endpoints(None)` lists every endpoint; `Some(account)` that account's.
/// - `update_endpoint` / `delete_endpoint`: `NotFound` when absent; deleting an endpoint
///   marks its pending deliveries failed.
/// - `append_outbox`: one row per event, in the caller's transaction.
/// - `fan_out`: takes up to `limit` outbox events not yet fanned out (oldest first; one
///   transaction at a time fans out, and a concurrent one takes nothing rather than
///   waiting), creates one pending delivery per enabled endpoint subscribed to the event's
///   kind whose account owns the event's agent or is `admin`, marks the events fanned out,
///   and returns the events it took, in outbox order (the live feed publishes them; where
///   the database signals events across instances, it signals these on commit).
/// - `claim_due`: leases up to `limit` pending deliveries due at `now` whose lease is free
///   or expired, until `lease_until`; concurrent claimers never get the same delivery.
/// - `finish_attempt` appends the attempt and overwrites the delivery's state.
#[async_trait::async_trait]
pub trait WebhookStore: Send {
    async fn insert_endpoint(&mut self, e: &Endpoint) -> Result<(), StoreError>;
    async fn get_endpoint(&mut self, id: &WebhookId) -> Result<Option<Endpoint>, StoreError>;
    async fn list_endpoints(
        &mut self,
        account: Option<&AccountId>,
    ) -> Result<Vec<Endpoint>, StoreError>;
    async fn update_endpoint(&mut self, e: &Endpoint) -> Result<(), StoreError>;
    async fn delete_endpoint(&mut self, id: &WebhookId) -> Result<(), StoreError>;
    async fn append_outbox(&mut self, event: &OutboxEvent) -> Result<(), StoreError>;
    /// [`WebhookStore::append_outbox`] for many events, in order, in as few statements
    /// as the backend allows.
    async fn append_outbox_batch(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError>;
    async fn fan_out(
        &mut self,
        admin: &AccountId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxEvent>, StoreError>;
    async fn claim_due(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn outbox_event(&mut self, id: &str) -> Result<Option<OutboxEvent>, StoreError>;
    /// The events with these ids (any order; unknown ids are left out).
    async fn outbox_events(&mut self, ids: &[String]) -> Result<Vec<OutboxEvent>, StoreError>;
    async fn finish_attempt(
        &mut self,
        attempt: &Attempt,
        delivery: &Delivery,
    ) -> Result<(), StoreError>;
    /// `finish_attempt` for many deliveries at once (one batch on PostgreSQL).
    async fn finish_attempts(&mut self, done: &[(Attempt, Delivery)]) -> Result<(), StoreError>;
    /// Puts a delivery back in the queue (manual retry): status, next attempt and lease.
    async fn requeue_delivery(&mut self, delivery: &Delivery) -> Result<(), StoreError>;
    /// Puts the endpoint's failed deliveries created in `[since, until)` back in the queue,
    /// due at `now` (recovery after an outage); returns how many.
    async fn requeue_failed(
        &mut self,
        endpoint: &WebhookId,
        since: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
    async fn get_delivery(
        &mut self,
        event_id: &str,
        endpoint: &WebhookId,
    ) -> Result<Option<Delivery>, StoreError>;
    async fn list_attempts(
        &mut self,
        endpoint: &WebhookId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Attempt>, StoreError>;
}
