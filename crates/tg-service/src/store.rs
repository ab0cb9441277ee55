//! The unit-of-work contract the storage adapter implements.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use tg_access::AccessStore;
use tg_audit::AuditStore;
use tg_core::StoreError;
use tg_delegation::DelegationStore;
use tg_identity::{AgentStore, ChallengeStore, NonceStore};
use tg_receipts::ReceiptStore;
use tg_tokens::{RevocationStore, SigningKeyStore};
use tg_vouch::VouchStore;
use tg_webhooks::WebhookStore;

use crate::{ServiceError, TrustStore};

/// Every storage trait at once, over one connection (and, inside `transaction`, one
/// database transaction).
pub trait Tx:
    AgentStore
    + ChallengeStore
    + NonceStore
    + DelegationStore
    + ReceiptStore
    + AuditStore
    + AccessStore
    + SigningKeyStore
    + RevocationStore
    + TrustStore
    + VouchStore
    + WebhookStore
    + crate::LeaseStore
    + tg_log::LogStore
    + Send
{
}

impl<T> Tx for T where
    T: AgentStore
        + ChallengeStore
        + NonceStore
        + DelegationStore
        + ReceiptStore
        + AuditStore
        + AccessStore
        + SigningKeyStore
        + RevocationStore
        + TrustStore
        + VouchStore
        + WebhookStore
        + crate::LeaseStore
        + tg_log::LogStore
        + Send
{
}

/// Ids of outbox events fanned out by any instance on the same database, one batch per
/// notification, in commit order. Ends when the listening connection is lost.
pub type EventSignals =
    Pin<Box<dyn futures_util::Stream<Item = Result<Vec<String>, StoreError>> + Send>>;

/// Called after each commit with the state signals the transaction raised
/// ([`crate::state_signals`]), before `transaction` returns.
pub type CommitHook = std::sync::Arc<dyn Fn(&[String]) + Send + Sync>;

pub type TxFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Any + Send>, ServiceError>> + Send + 'a>>;
pub type TxWork = Box<dyn for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a> + Send>;

/// A database.
///
/// Contract:
/// - `transaction` runs `work` inside one database transaction and commits only if it
///   returns `Ok`; on `Err` (or a storage error) nothing it wrote remains.
/// - `read` runs read-only `work` on a connection without an explicit transaction (each
///   statement is atomic on its own and sees what was committed before it began); for
///   read-only use cases on the hot path. It need not wait for writers: on a SQLite file it
///   runs on a WAL reader connection, which refuses writes.
/// - `single_write` runs `work` that writes with one statement at most, atomic on its own:
///   on PostgreSQL without `BEGIN`/`COMMIT` (a round trip each), elsewhere as
///   `transaction`. Its signals reach the hooks as a transaction's do.
/// - The first storage error inside `transaction` aborts it: even if `work` swallows the
///   error and returns `Ok`, nothing is committed and the error is returned.
/// - Events fanned out inside `transaction` are signalled to `listen_events` streams when
///   (and only if) it commits.
/// - Every write that changes an agent, its score state, an account, an API key or the
///   policy raises a state signal ([`crate::state_signals`]). When the unit of work
///   commits, the signals reach every
///   [`Store::on_commit`] hook before `transaction` returns, and every `listen_events`
///   stream of every instance (where the database has such a channel; there the
///   database raises them itself, so rows changed by any writer are signalled).
/// - Errors from the database arrive as `ServiceError::Unavailable` (cannot reach it) or
///   `Internal`; constraint violations as `Conflict`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    async fn transaction(&self, work: TxWork) -> Result<Box<dyn Any + Send>, ServiceError>;
    async fn read(&self, work: TxWork) -> Result<Box<dyn Any + Send>, ServiceError>;
    async fn single_write(&self, work: TxWork) -> Result<Box<dyn Any + Send>, ServiceError>;
    /// Reachable and migrated.
    async fn ready(&self) -> Result<(), StoreError>;
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Listens for events fanned out by every instance sharing this database (listening
    /// has begun when this returns). `None`: the database has no such channel, and an
    /// instance publishes what it fans out itself (SQLite: one instance per file).
    async fn listen_events(&self) -> Result<Option<EventSignals>, StoreError>;
    /// A number that changes whenever another process commits to this database (SQLite's
    /// `data_version`); `None` where other instances' writes arrive as signals instead.
    async fn outside_writes(&self) -> Result<Option<i64>, StoreError>;
    /// Registers a hook called after every commit that raised state signals.
    fn on_commit(&self, hook: CommitHook);
    /// Sends `signals` to every `listen_events` stream now, outside any transaction (a
    /// no-op where the database has no such channel).
    async fn signal(&self, signals: &[String]) -> Result<(), StoreError>;
    /// The connections this instance holds now.
    fn pool_status(&self) -> crate::PoolStatus;
    /// Frees the space of the rows the sequencer deleted from its queue, outside any
    /// transaction: PostgreSQL keeps a deleted row, and its index entry, until a vacuum,
    /// and every read of the queue's head walks them (docs/PERFORMANCE.md, thirty-eighth
    /// session). A no-op where a delete frees its space at once (SQLite).
    async fn reclaim_log_queue(&self) -> Result<(), StoreError>;
}

/// A typed unit of work's future, borrowing the transaction it runs in.
type Working<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServiceError>> + Send + 'a>>;

fn erase<T, F>(work: F) -> TxWork
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn Tx) -> Working<'a, T> + Send + 'static,
{
    Box::new(move |tx| {
        let fut = work(tx);
        Box::pin(async move { fut.await.map(|v| Box::new(v) as Box<dyn Any + Send>) })
    })
}

fn unerase<T: 'static>(value: Box<dyn Any + Send>) -> Result<T, ServiceError> {
    value
        .downcast::<T>()
        .map(|b| *b)
        .map_err(|_| ServiceError::internal("unit of work returned an unexpected type"))
}

/// Runs `work` in one transaction and returns its typed result.
pub async fn in_transaction<T, F>(store: &dyn Store, work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn Tx) -> Working<'a, T> + Send + 'static,
{
    unerase(store.transaction(erase(work)).await?)
}

/// Runs `work`, which writes with one statement at most, and returns its typed result
/// ([`Store::single_write`]).
pub async fn single_write<T, F>(store: &dyn Store, work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn Tx) -> Working<'a, T> + Send + 'static,
{
    unerase(store.single_write(erase(work)).await?)
}

/// Runs read-only `work` without a transaction and returns its typed result.
pub async fn reading<T, F>(store: &dyn Store, work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut dyn Tx) -> Working<'a, T> + Send + 'static,
{
    unerase(store.read(erase(work)).await?)
}
