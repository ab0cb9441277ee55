//! Group commit for high-volume audit events: a background writer appends everything
//! queued in one transaction.
//!
//! Two ways in:
//! - `append` / `push` / `queue_now` (`trust_check`, `authorization_denied`): the caller
//!   enqueues and returns. Cost, by design: events still queued when the process dies are
//!   lost (at most one batch, a few milliseconds of decisions).
//! - `append_durable` (`token_issued`): the caller waits until the batch holding its event
//!   has committed, and gets the batch's error if it did not; a token is handed out only
//!   once its issue is on record. Many callers share one commit.
//!
//! Readers of the trail on this instance first `flush`, so an instance always reads its
//! own writes. A full queue falls back to writing directly.

use std::sync::Arc;

use tg_audit::EncodedEvent;
use tg_webhooks::OutboxEvent;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{ServiceError, Store, in_transaction};

/// Most events written in one transaction.
const BATCH: usize = 512;
/// Queue bound; beyond it events are written synchronously instead of dropped.
const QUEUE: usize = 65_536;

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
}

/// Writes `records` in one transaction; wakes the delivery worker if outbox events were
/// among them.
async fn write(
    store: &dyn Store,
    records: Vec<Record>,
    outbox_written: &Notify,
) -> Result<(), ServiceError> {
    let has_outbox = records.iter().any(|r| matches!(r, Record::Outbox(_)));
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

impl AuditBatcher {
    /// Starts the writer on the current tokio runtime; it notifies `outbox_written` after
    /// committing outbox events.
    pub(crate) fn start(store: Arc<dyn Store>, outbox_written: Arc<Notify>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        let writer_store = Arc::clone(&store);
        let writer_wake = Arc::clone(&outbox_written);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut events = Vec::new();
                let mut acks = Vec::new();
                let mut durable: Vec<Committed> = Vec::new();
                let mut next = Some(first);
                while let Some(msg) = next {
                    match msg {
                        Msg::Event(e) => events.push(e),
                        Msg::Durable(e, committed) => {
                            events.push(e);
                            durable.push(committed);
                        }
                        Msg::Flush(ack) => acks.push(ack),
                    }
                    next = if events.len() < BATCH {
                        rx.try_recv().ok()
                    } else {
                        None
                    };
                }
                let written = if events.is_empty() {
                    Ok(())
                } else {
                    write(writer_store.as_ref(), events, &writer_wake).await
                };
                if let Err(e) = &written {
                    tracing::error!(error = %tg_core::ErrorChain(e), "could not write a batch of audit events");
                }
                let outcome = written;
                for committed in durable {
                    let _ = committed.send(outcome.clone());
                }
                for ack in acks {
                    let _ = ack.send(());
                }
            }
        });
        Self {
            tx,
            store,
            outbox_written,
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

    /// Queues an audit event; when the queue is full, writes it now.
    pub(crate) async fn append(&self, event: EncodedEvent) {
        self.push(Record::Audit(event)).await;
    }

    pub(crate) async fn push(&self, record: Record) {
        match self.tx.try_send(Msg::Event(record)) {
            Ok(()) => {}
            Err(
                mpsc::error::TrySendError::Full(Msg::Event(e))
                | mpsc::error::TrySendError::Closed(Msg::Event(e)),
            ) => {
                if let Err(err) = write(self.store.as_ref(), vec![e], &self.outbox_written).await {
                    tracing::error!(error = %tg_core::ErrorChain(&err), "could not write an audit event");
                }
            }
            Err(_) => {}
        }
    }

    /// Appends `record` in the next batch and waits until that batch has committed: the
    /// batch's error if it did not (or the direct write's, when the queue is full).
    pub(crate) async fn append_durable(&self, record: Record) -> Result<(), ServiceError> {
        let (committed, outcome) = oneshot::channel();
        match self.tx.try_send(Msg::Durable(record, committed)) {
            Ok(()) => match outcome.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(ServiceError::internal_because(
                    "the audit record was not written",
                    e,
                )),
                Err(_) => Err(ServiceError::internal("the audit writer stopped")),
            },
            Err(
                mpsc::error::TrySendError::Full(Msg::Durable(e, _))
                | mpsc::error::TrySendError::Closed(Msg::Durable(e, _)),
            ) => write(self.store.as_ref(), vec![e], &self.outbox_written).await,
            Err(_) => Err(ServiceError::internal("the audit writer refused a record")),
        }
    }

    /// Waits until every event queued before this call is written.
    pub(crate) async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}
