//! SQLite's WAL readers: read-only units of work that never wait for the writer.
//!
//! Each reader is a thread that owns one connection to the database file, opened
//! `query_only`, and runs whole units of read work on it: the statements of a unit run one
//! after another on that thread ([`Runner::Inline`]), so a unit costs one hand-off to the
//! reader and one back, however many statements it makes. In WAL mode a reader sees every
//! transaction committed before its statement began and does not wait for the writer, so a
//! batch of audit events being committed does not hold up the reads of a decision or a
//! token exchange.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::{Connection, SqliteConnection};
use tg_core::StoreError;
use tg_service::{ServiceError, TxWork};
use tokio::sync::{mpsc, oneshot};

use crate::conn::{Conn, DbTx, Runner, SqliteConn};
use crate::db::{Done, TxError, run_work};
use crate::error::store_error;

/// Units of work waiting for a reader, per reader, before callers wait to queue more.
const QUEUE_PER_READER: usize = 64;

/// The reader threads of one database file, and the queue they take work from.
pub(crate) struct Readers {
    queue: mpsc::Sender<Job>,
    count: usize,
    busy: Arc<AtomicUsize>,
}

struct Job {
    work: TxWork,
    reply: oneshot::Sender<Result<Done, TxError>>,
}

impl Readers {
    /// Opens `count` read-only connections to the (migrated) database file at `path`, each
    /// on its own thread. The threads end when the last handle to these readers is dropped.
    pub(crate) fn open(path: &str, count: usize) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel(count.max(1) * QUEUE_PER_READER);
        let jobs = Arc::new(Mutex::new(jobs));
        let busy = Arc::new(AtomicUsize::new(0));
        for n in 0..count {
            let conn = open_reader(path)?;
            let jobs = Arc::clone(&jobs);
            let busy = Arc::clone(&busy);
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                .spawn(move || serve(conn, &jobs, &busy))
                .map_err(|e| StoreError::Unavailable(format!("cannot start a reader: {e}")))?;
        }
        Ok(Self { queue, count, busy })
    }

    /// Runs read-only `work` on the next free reader.
    pub(crate) async fn run(&self, work: TxWork) -> Result<Done, TxError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { work, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// The reader connections, and how many are running a unit of work now.
    pub(crate) fn status(&self) -> (usize, usize) {
        (
            self.count,
            self.busy.load(Ordering::Relaxed).min(self.count),
        )
    }
}

fn gone() -> TxError {
    TxError::Work(ServiceError::Unavailable(
        "the database's readers have stopped".into(),
    ))
}

fn open_reader(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn =
        SqliteConnection::establish(path).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    // `query_only`: a unit of work sent here by mistake that writes fails instead of
    // writing outside the writer's order.
    for pragma in [
        "PRAGMA busy_timeout = 5000",
        "PRAGMA foreign_keys = ON",
        "PRAGMA query_only = ON",
    ] {
        diesel::RunQueryDsl::execute(diesel::sql_query(pragma), &mut conn).map_err(store_error)?;
    }
    Ok(conn)
}

/// One reader thread: takes units of work off the queue until it is closed.
fn serve(conn: SqliteConnection, jobs: &Mutex<mpsc::Receiver<Job>>, busy: &AtomicUsize) {
    // Drives a unit's futures on this thread; with `Runner::Inline` they never wait on
    // anything but the connection, so no I/O or timer driver is needed.
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        tracing::error!("a SQLite reader could not start its runtime");
        return;
    };
    let mut conn = SqliteConn::with_runtime(conn, Runner::Inline);
    loop {
        let job = jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(Job { work, reply }) = job else {
            return;
        };
        busy.fetch_add(1, Ordering::Relaxed);
        let unit = run_work(DbTx::new(Conn::Sqlite(&mut conn)), work, false);
        // A unit that panics fails alone; the reader goes on serving.
        let done = std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(unit)))
            .unwrap_or_else(|_| {
                Err(TxError::Work(ServiceError::Internal(
                    "a read-only unit of work panicked".into(),
                )))
            });
        busy.fetch_sub(1, Ordering::Relaxed);
        let _ = reply.send(done);
    }
}
