//! SQLite's WAL checkpoints, on a thread of their own.
//!
//! By default SQLite checkpoints inside the commit that finds the WAL at 1000 pages or
//! more: that commit copies every page no checkpoint has copied yet into the database file
//! before it returns. After the transparency log's integration round (thousands of pages at
//! random places in a large file) the copy took 60–150 ms on one record's commit, with every
//! later write queued behind it on the one writer (docs/PERFORMANCE.md).
//!
//! Here the writer's own checkpoint starts only at [`WRITER_CHECKPOINT_PAGES`], a safety net.
//! This thread, woken after writes, runs a PASSIVE checkpoint on its own connection: it
//! copies beside the writer (WAL mode lets a checkpoint and a write run together). Copying
//! is not enough: SQLite starts the WAL file over only after a checkpoint that copied every
//! page with no reader left on the WAL, which a checkpoint beside a busy writer almost never
//! sees (with the writer's checkpoint off, the WAL grew past 800 MiB in a 10 s load run). So
//! once the WAL holds [`RESTART_PAGES`] and a PASSIVE pass copied them all, this thread
//! runs a RESTART checkpoint: it holds the write lock while it copies the few pages written
//! since and waits for readers to leave the WAL, at most [`RESTART_WAIT_MS`], then the
//! writer's next transaction starts the file over. A long read makes it give up and try
//! again later, never hold the writer longer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use tg_core::StoreError;

use crate::error::store_error;

/// The WAL size (pages) at which the writer checkpoints in its commit: a safety net, should
/// this thread fall behind (~40 MiB at 4 KiB pages).
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 10_000;
/// The WAL size (pages) at which this thread starts the WAL over (~16 MiB).
const RESTART_PAGES: i32 = 4_000;
/// How long a RESTART checkpoint waits for the writer and for readers before it gives up.
const RESTART_WAIT_MS: u32 = 20;
/// The least time between two checkpoint passes (each syncs the WAL and the file).
const PAUSE: Duration = Duration::from_millis(100);

/// The checkpoint thread; it ends when this is dropped.
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
}

#[derive(QueryableByName)]
struct Pass {
    /// 1 when the checkpoint could not finish (a writer or a reader was in the way).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Pages in the WAL.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    /// Of those, pages copied into the database file.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

impl Checkpointer {
    /// Starts the thread on its own connection to the file at `path`.
    pub(crate) fn start(path: &str) -> Result<Self, StoreError> {
        let mut conn = open(path)?;
        let (wake, woken) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || serve(&mut conn, &woken, RESTART_PAGES, &AtomicU64::new(0)))
            .map_err(|e| StoreError::unavailable_because("cannot start the checkpointer", e))?;
        Ok(Self { wake })
    }

    /// After a write: a checkpoint is due (one already asked for covers this one).
    pub(crate) fn wake(&self) {
        let _ = self.wake.try_send(());
    }
}

fn open(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| StoreError::unavailable_because("cannot open the checkpoint connection", e))?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {RESTART_WAIT_MS}"))
        .map_err(store_error)?;
    Ok(conn)
}

fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> Result<Pass, diesel::result::Error> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)
}

/// Checkpoints when woken until the sender is dropped; counts the RESTARTs that finished.
fn serve(
    conn: &mut SqliteConnection,
    woken: &Receiver<()>,
    restart_pages: i32,
    restarts: &AtomicU64,
) {
    let mut failures = Failures::default();
    // Until the last sender (the `Db`) is dropped.
    while woken.recv().is_ok() {
        let done = checkpoint(conn, "PASSIVE").and_then(|pass| {
            if pass.log < restart_pages || pass.checkpointed < pass.log {
                return Ok(());
            }
            if checkpoint(conn, "RESTART")?.busy == 0 {
                let n = restarts.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(restarts = n, pages = pass.log, "the WAL starts over");
            }
            Ok(())
        });
        failures.record(done);
        std::thread::sleep(PAUSE);
    }
}

/// What [`Failures::record`] logged.
#[derive(Debug, PartialEq, Eq)]
enum Logged {
    Nothing,
    /// The first failure of a run.
    Failed,
    /// The first success after a run of this many failures.
    Recovered(u64),
}

/// Checkpoint failures, logged once per run of them: a lasting cause (a full disk, a
/// file made read-only) would otherwise log a warning on every pass, ten a second.
#[derive(Default)]
struct Failures {
    run: u64,
}

impl Failures {
    fn record(&mut self, pass: Result<(), diesel::result::Error>) -> Logged {
        match pass {
            Err(e) => {
                self.run += 1;
                if self.run > 1 {
                    return Logged::Nothing;
                }
                tracing::warn!(
                    error = %tg_core::ErrorChain(&e),
                    "WAL checkpoint failed; logged again only once checkpoints succeed"
                );
                Logged::Failed
            }
            Ok(()) if self.run > 0 => {
                let failed = std::mem::take(&mut self.run);
                tracing::warn!(failed, "WAL checkpoints succeed again");
                Logged::Recovered(failed)
            }
            Ok(()) => Logged::Nothing,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A lasting failure is logged once, and its end once with the count.
    #[test]
    fn a_run_of_failures_is_logged_once_and_its_end_once() {
        let failed = || Err(diesel::result::Error::BrokenTransactionManager);
        let mut failures = Failures::default();
        assert_eq!(failures.record(Ok(())), Logged::Nothing);
        assert_eq!(failures.record(failed()), Logged::Failed);
        assert_eq!(failures.record(failed()), Logged::Nothing);
        assert_eq!(failures.record(failed()), Logged::Nothing);
        assert_eq!(failures.record(Ok(())), Logged::Recovered(3));
        assert_eq!(failures.record(Ok(())), Logged::Nothing);
        assert_eq!(failures.record(failed()), Logged::Failed);
    }

    fn wal_pages(conn: &mut SqliteConnection) -> i32 {
        checkpoint(conn, "PASSIVE").unwrap().log
    }

    /// Beside a writer that never checkpoints, a WAL past the threshold is copied and
    /// started over: the writer's next transaction writes from the WAL's start.
    #[test]
    fn the_wal_starts_over_beside_a_writer_that_never_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db").to_string_lossy().into_owned();
        let mut writer = SqliteConnection::establish(&path).unwrap();
        writer
            .batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (x BLOB); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
                 INSERT INTO t SELECT randomblob(4000) FROM n;",
            )
            .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();

        let (wake, woken) = sync_channel(1);
        let restarts = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&restarts);
        let mut conn = open(&path).unwrap();
        let thread = std::thread::spawn(move || serve(&mut conn, &woken, 50, &counted));
        wake.send(()).unwrap();
        while restarts.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        // The pages reached the file, and the next write starts the WAL over.
        assert!(std::fs::metadata(&path).unwrap().len() >= before + 100 * 4000);
        writer
            .batch_execute("INSERT INTO t VALUES (randomblob(10))")
            .unwrap();
        let pages = wal_pages(&mut writer);
        assert!(pages < 10, "the WAL holds {pages} pages");

        drop(wake);
        thread.join().unwrap();
        drop(writer);
    }
}
