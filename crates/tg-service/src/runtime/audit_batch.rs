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
//!
//! The writer lingers: woken by the first event of a batch, it lets [`LINGER`] pass before
//! it takes the batch, so a steady stream of decisions costs one wake-up and one commit
//! per linger instead of one per handful of events. A durable record or a flush cuts the
//! linger short: only fire-and-forget events wait on it.

use std::sync::Arc;

use tg_audit::AuditEvent;
use tg_webhooks::OutboxEvent;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{ServiceError, Store, in_transaction};

/// Most events written in one transaction.
const BATCH: usize = 512;
/// Queue bound; beyond it events are written synchronously instead of dropped.
const QUEUE: usize = 65_536;
/// How long the writer lets fire-and-forget events gather before it commits them.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// What the writer appends: audit events, and the outbox events that go with them
/// (`authorization_denied` webhooks), in the same transaction.
#[derive(Debug)]
pub(crate) enum Record {
    Audit(AuditEvent),
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
    /// Told when someone waits on the writer (a durable record, a flush): ends a linger.
    urgent: Arc<Notify>,
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
            tx.append_audit_batch(&audit).await?;
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

/// What the writer takes in one go: the records, and who waits on their commit.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    durable: Vec<Committed>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Event(e) => self.records.push(e),
            Msg::Durable(e, committed) => {
                self.records.push(e);
                self.durable.push(committed);
            }
            Msg::Flush(ack) => self.flushes.push(ack),
        }
    }

    fn is_full(&self) -> bool {
        self.records.len() >= BATCH
    }

    /// Someone waits on this batch: it is written without lingering.
    fn is_urgent(&self) -> bool {
        !self.durable.is_empty() || !self.flushes.is_empty()
    }

    /// Takes what is queued, up to a full batch.
    fn drain(&mut self, rx: &mut mpsc::Receiver<Msg>) {
        while !self.is_full() {
            match rx.try_recv() {
                Ok(msg) => self.take(msg),
                Err(_) => return,
            }
        }
    }

    /// Writes the records in one transaction, then tells everyone waiting how it went.
    async fn commit(self, store: &dyn Store, outbox_written: &Notify) {
        let written = if self.records.is_empty() {
            Ok(())
        } else {
            write(store, self.records, outbox_written).await
        };
        if let Err(e) = &written {
            tracing::error!(error = %tg_core::ErrorChain(e), "could not write a batch of audit events");
        }
        for committed in self.durable {
            let _ = committed.send(written.clone());
        }
        for ack in self.flushes {
            let _ = ack.send(());
        }
    }
}

impl AuditBatcher {
    /// Starts the writer on the current tokio runtime; it notifies `outbox_written` after
    /// committing outbox events.
    pub(crate) fn start(store: Arc<dyn Store>, outbox_written: Arc<Notify>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        let writer_store = Arc::clone(&store);
        let writer_wake = Arc::clone(&outbox_written);
        let urgent = Arc::new(Notify::new());
        let writer_urgent = Arc::clone(&urgent);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = Batch::default();
                batch.take(first);
                batch.drain(&mut rx);
                if !batch.is_urgent() && !batch.is_full() {
                    tokio::select! {
                        () = tokio::time::sleep(LINGER) => {}
                        () = writer_urgent.notified() => {}
                    }
                    batch.drain(&mut rx);
                }
                batch.commit(writer_store.as_ref(), &writer_wake).await;
            }
        });
        Self {
            tx,
            store,
            outbox_written,
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

    /// Queues an audit event; when the queue is full, writes it now.
    pub(crate) async fn append(&self, event: AuditEvent) {
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
            Ok(()) => match self.waited_on(outcome).await {
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
            let _ = self.waited_on(done).await;
        }
    }

    /// Ends the writer's linger (its answer is awaited now), then awaits the answer.
    async fn waited_on<T>(
        &self,
        answer: oneshot::Receiver<T>,
    ) -> Result<T, oneshot::error::RecvError> {
        self.urgent.notify_one();
        answer.await
    }
}
