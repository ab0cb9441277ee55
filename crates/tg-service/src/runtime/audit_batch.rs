//! Group commit for high-volume audit events: a background writer appends everything
//! queued in one transaction.
//!
//! Two ways in:
//! - `append` / `push` / `queue_now` (`trust_check`, `authorization_denied`): the caller
//!   enqueues and returns. Cost, by design: events still queued when the process dies are
//!   lost (what the queue held: under steady load a batch or two, ~10 ms of decisions; at
//!   most `AUDIT_QUEUE` events when the database has fallen behind).
//! - `append_durable` (`token_issued`): the caller waits until the batch holding its event
//!   has committed, and gets the batch's error if it did not; a token is handed out only
//!   once its issue is on record. Many callers share one commit.
//!
//! Readers of the trail on this instance first `flush`, so an instance always reads its
//! own writes. The queue is bounded: a caller that finds it full waits for room
//! (backpressure, counted in `trust_gateway_audit_queue_full_total`), so events are never
//! dropped and the queue never grows past its bound (`AUDIT_QUEUE`).

use std::sync::Arc;

use tg_audit::EncodedEvent;
use tg_webhooks::OutboxEvent;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{Metrics, ServiceError, Store, in_transaction};

/// Most events written in one transaction.
const BATCH: usize = 512;
/// Batches being written at once (each its own transaction, on its own connection where
/// the store has several): the next batch is formed and sent while one commits. A batch
/// with outbox events waits until the batches before it have committed, so webhooks and
/// the live feed see `authorization_denied` events in the order they were decided.
const IN_FLIGHT: usize = 2;
/// How long events nobody waits on (decisions' `trust_check`) gather before their batch is
/// written, unless it fills first. Under load this makes a few large transactions of many
/// small ones: the database's cost per event falls (one commit, one statement's overhead
/// shared by up to `BATCH` rows), and nothing answered waits for it. A durable record or a
/// flush ends the wait at once.
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// What the writer appends: audit events, and the outbox events that go with them
/// (`authorization_denied` webhooks), in the same transaction.
#[derive(Debug)]
pub(crate) enum Record {
    Audit(EncodedEvent),
    Outbox(OutboxEvent),
}

/// Told whether the batch holding a durable record committed.
type Committed = oneshot::Sender<Result<(), ServiceError>>;

enum Msg {
    Event(Record),
    Durable(Record, Committed),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone)]
pub(crate) struct AuditBatcher {
    tx: mpsc::Sender<Msg>,
    store: Arc<dyn Store>,
    outbox_written: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// Rung when a record someone waits on is queued: the writer stops gathering.
    urgent: Arc<Notify>,
}

fn has_outbox(records: &[Record]) -> bool {
    records.iter().any(|r| matches!(r, Record::Outbox(_)))
}

/// Writes `records` in one transaction; wakes the delivery worker if outbox events were
/// among them.
async fn write(
    store: &dyn Store,
    records: Vec<Record>,
    outbox_written: &Notify,
) -> Result<(), ServiceError> {
    let has_outbox = has_outbox(&records);
    in_transaction(store, move |tx| {
        Box::pin(async move {
            let mut audit = Vec::with_capacity(records.len());
            let mut outbox = Vec::new();
            for r in records {
                match r {
                    Record::Audit(e) => audit.push(e),
                    Record::Outbox(e) => outbox.push(e),
                }
            }
            tx.append_encoded_audit(audit).await?;
            if !outbox.is_empty() {
                tx.append_outbox_batch(&outbox).await?;
            }
            Ok(())
        })
    })
    .await?;
    if has_outbox {
        outbox_written.notify_one();
    }
    Ok(())
}

/// The records of one transaction, and who waits on it.
#[derive(Default)]
struct Batch {
    events: Vec<Record>,
    durable: Vec<Committed>,
    acks: Vec<oneshot::Sender<()>>,
}

impl Batch {
    /// Adds `msg`, then whatever is queued behind it, up to `BATCH` events.
    fn take(&mut self, msg: Msg, rx: &mut mpsc::Receiver<Msg>) {
        let mut next = Some(msg);
        while let Some(msg) = next {
            match msg {
                Msg::Event(e) => self.events.push(e),
                Msg::Durable(e, committed) => {
                    self.events.push(e);
                    self.durable.push(committed);
                }
                Msg::Flush(ack) => self.acks.push(ack),
            }
            next = if self.events.len() < BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
    }

    /// Whether nobody waits on this batch and it has room: then it may wait for more.
    fn may_gather(&self) -> bool {
        self.durable.is_empty() && self.acks.is_empty() && self.events.len() < BATCH
    }

    /// Writes the events in one transaction and tells each durable record's caller how it
    /// went.
    async fn commit(self, store: &dyn Store, outbox_written: &Notify) {
        let written = if self.events.is_empty() {
            Ok(())
        } else {
            write(store, self.events, outbox_written).await
        };
        if let Err(e) = &written {
            tracing::error!(error = %tg_core::ErrorChain(e), "could not write a batch of audit events");
        }
        for committed in self.durable {
            let _ = committed.send(written.clone());
        }
    }

    /// Lets events gather for `GATHER`, or until someone waits on them (a durable record
    /// or a flush rings `urgent`), then takes what is queued. It sleeps rather than waking
    /// for each event: a wake-up per decision would cost more than the batching saves.
    async fn gather(&mut self, rx: &mut mpsc::Receiver<Msg>, urgent: &Notify) {
        tokio::select! {
            () = tokio::time::sleep(GATHER) => {}
            () = urgent.notified() => {}
        }
        if let Ok(msg) = rx.try_recv() {
            self.take(msg, rx);
        }
    }
}

impl AuditBatcher {
    /// Starts the writer on the current tokio runtime, with room for `queue` events; it
    /// notifies `outbox_written` after committing outbox events.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        outbox_written: Arc<Notify>,
        metrics: Arc<Metrics>,
        queue: usize,
    ) -> Self {
        // Beyond `queue` events callers wait for room (none is dropped).
        let (tx, mut rx) = mpsc::channel::<Msg>(queue.max(1));
        let writer_store = Arc::clone(&store);
        let writer_wake = Arc::clone(&outbox_written);
        let urgent = Arc::new(Notify::new());
        let writer_urgent = Arc::clone(&urgent);
        tokio::spawn(async move {
            let mut in_flight = tokio::task::JoinSet::new();
            while let Some(first) = rx.recv().await {
                let mut batch = Batch::default();
                batch.take(first, &mut rx);
                if batch.may_gather() {
                    batch.gather(&mut rx, &writer_urgent).await;
                }
                let room = if has_outbox(&batch.events) {
                    1
                } else {
                    IN_FLIGHT
                };
                while in_flight.len() >= room {
                    in_flight.join_next().await;
                }
                let acks = std::mem::take(&mut batch.acks);
                let (store, wake) = (Arc::clone(&writer_store), Arc::clone(&writer_wake));
                in_flight.spawn(async move { batch.commit(store.as_ref(), &wake).await });
                // A flush is answered once everything taken before it has committed,
                // whichever writer holds it.
                if !acks.is_empty() {
                    while in_flight.join_next().await.is_some() {}
                    for ack in acks {
                        let _ = ack.send(());
                    }
                }
            }
            while in_flight.join_next().await.is_some() {}
        });
        Self {
            tx,
            store,
            outbox_written,
            metrics,
            urgent,
        }
    }

    /// Queues `records` without waiting (for callers that must not await), all or none:
    /// when the queue has no room for them all they come back, and the caller takes the
    /// path that waits (so a full queue slows callers down instead of growing).
    pub(crate) fn queue_now(&self, records: Vec<Record>) -> Result<(), Vec<Record>> {
        match self.tx.try_reserve_many(records.len()) {
            Ok(permits) => {
                for (permit, record) in permits.zip(records) {
                    permit.send(Msg::Event(record));
                }
                Ok(())
            }
            Err(_) => Err(records),
        }
    }

    /// Queues an audit event, waiting for room when the queue is full.
    pub(crate) async fn append(&self, event: EncodedEvent) {
        self.push(Record::Audit(event)).await;
    }

    /// Queues `record`, waiting for room when the queue is full. Only if the writer has
    /// stopped (the runtime is shutting down) is it written here, on its own.
    pub(crate) async fn push(&self, record: Record) {
        let Err(Msg::Event(record)) = self.enqueue(Msg::Event(record)).await else {
            return;
        };
        if let Err(err) = write(self.store.as_ref(), vec![record], &self.outbox_written).await {
            tracing::error!(error = %tg_core::ErrorChain(&err), "could not write an audit event");
        }
    }

    /// Appends `record` in the next batch and waits until that batch has committed: the
    /// batch's error if it did not (or the direct write's, if the writer has stopped).
    pub(crate) async fn append_durable(&self, record: Record) -> Result<(), ServiceError> {
        let (committed, outcome) = oneshot::channel();
        match self.enqueue(Msg::Durable(record, committed)).await {
            Ok(()) => {}
            Err(Msg::Durable(record, _)) => {
                return write(self.store.as_ref(), vec![record], &self.outbox_written).await;
            }
            Err(_) => return Err(ServiceError::internal("the audit writer refused a record")),
        }
        self.urgent.notify_one();
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServiceError::internal_because(
                "the audit record was not written",
                e,
            )),
            Err(_) => Err(ServiceError::internal("the audit writer stopped")),
        }
    }

    /// Sends `msg`, waiting for room when the queue is full (counted); gives it back if
    /// the writer has stopped.
    async fn enqueue(&self, msg: Msg) -> Result<(), Msg> {
        let msg = match self.tx.try_send(msg) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(msg)) => return Err(msg),
            Err(mpsc::error::TrySendError::Full(msg)) => msg,
        };
        self.metrics.audit_queue_full();
        self.tx.send(msg).await.map_err(|e| e.0)
    }

    /// Events queued and not yet taken by the writer.
    pub(crate) fn queued(&self) -> usize {
        self.tx.max_capacity().saturating_sub(self.tx.capacity())
    }

    /// Waits until every event queued before this call is written.
    pub(crate) async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            self.urgent.notify_one();
            let _ = done.await;
        }
    }
}
