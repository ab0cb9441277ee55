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
//! is not enough: SQLite starts the WAL file over only when a write transaction begins on a
//! WAL whose every page has been copied, which beside a busy writer almost never happens
//! (it appends while a pass copies; with the writer's checkpoint off, the WAL grew past 800
//! MiB in a 10 s load run). So once the WAL holds [`RESTART_PAGES`] and a pass copied them
//! all, this thread passes again until a pass finds little new ([`catch_up`]), then asks
//! the writer's own thread for one more PASSIVE checkpoint, between two units of work
//! ([`finish`]). Nothing can append meanwhile, so it copies the few pages written since
//! the pass, and the writer's next transaction starts the file over.
//!
//! SQLite syncs the database file only after a pass that copied up to the WAL's end as it
//! stands when the copy ends; beside a busy writer a pass almost never does. The pages such
//! passes copy stay unsynced until one that does, which was the writer's last pass: its
//! sync wrote everything the passes before it had copied (at a million receipts a median of
//! 8 ms and up to 117 ms, with every write waiting). So this thread syncs the database file
//! itself after each of its catch-up passes ([`DbFile`]), and the writer's pass syncs only
//! the few pages it copies.
//!
//! This thread used to run a RESTART checkpoint instead, on its own connection. That held
//! the write lock while it copied, synced and waited for readers (a median of 10–18 ms
//! under load), and the writer, blocked meanwhile, slept in SQLite's busy handler in steps
//! of 1, 2, 5, 10 ms and more: a record's p99 at depth followed those steps
//! (docs/PERFORMANCE.md). Here no connection ever waits for another's lock.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use tg_core::StoreError;
use tokio::runtime::Runtime;

use crate::conn::SqliteConn;

/// The WAL size (pages) at which the writer checkpoints in its commit: a safety net, should
/// this thread fall behind (~200 MiB at 4 KiB pages). Well above what this thread lets
/// the WAL reach: at a million receipts under record load the WAL grows by ~30 000 pages a
/// second, and a round asks the writer for its last pass at 5 000–25 000 pages. At 10 000
/// the commit that crossed the net copied and synced thousands of pages itself, 20–120 ms
/// with every write queued behind it (docs/PERFORMANCE.md).
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 50_000;
/// The WAL size (pages) at which this thread starts the WAL over (~16 MiB).
const RESTART_PAGES: i32 = 4_000;
/// The least time between two checkpoint passes (each syncs the WAL and the file).
const PAUSE: Duration = Duration::from_millis(100);
/// The writer is asked for the last pass once a pass found at most this many pages new
/// since the one before (~1 MiB): what it leaves the writer to copy and sync is about as
/// much again.
const LAST_PASS_PAGES: i32 = 256;
/// Most passes in a row before asking the writer anyway (a writer appending faster than a
/// pass copies would otherwise keep this thread passing forever).
const MOST_PASSES: u32 = 8;

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

impl Pass {
    /// Whether the pass copied every page of the WAL it found.
    fn copied_all(&self) -> bool {
        self.checkpointed == self.log
    }
}

/// Asks the writer's thread to run [`finish`] after its current unit of work; false when it
/// could not be asked (its queue is full, or it has stopped).
pub(crate) type Finish = Box<dyn Fn() -> bool + Send>;

impl Checkpointer {
    /// Starts the thread on its own connection to the file at `path`.
    pub(crate) fn start(path: &str, finish: Finish) -> Result<Self, StoreError> {
        let mut conn = open(path)?;
        let file = DbFile::of(&mut conn)?;
        let (wake, woken) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || {
                serve(
                    &mut conn,
                    &file,
                    &woken,
                    RESTART_PAGES,
                    &AtomicU64::new(0),
                    &finish,
                );
            })
            .map_err(|e| StoreError::unavailable_because("cannot start the checkpointer", e))?;
        Ok(Self { wake })
    }

    /// After a write: a checkpoint is due (one already asked for covers this one).
    pub(crate) fn wake(&self) {
        let _ = self.wake.try_send(());
    }
}

/// The database file, opened beside SQLite's own handles only to sync it: a sync through
/// any handle writes the file's pages that the checkpoint passes copied. `None` for a
/// database without a file of its own (in memory, or temporary).
struct DbFile(Option<File>);

#[derive(QueryableByName)]
struct Attached {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    file: String,
}

impl DbFile {
    /// The file of `conn`'s main database (`PRAGMA database_list`).
    fn of(conn: &mut SqliteConnection) -> Result<Self, StoreError> {
        let listed: Vec<Attached> = diesel::sql_query("PRAGMA database_list")
            .load(conn)
            .map_err(|e| StoreError::unavailable_because("cannot list the database file", e))?;
        let Some(main) = listed.into_iter().find(|a| a.name == "main") else {
            return Ok(Self(None));
        };
        if main.file.is_empty() {
            return Ok(Self(None));
        }
        File::open(&main.file)
            .map(|f| Self(Some(f)))
            .map_err(|e| StoreError::unavailable_because("cannot open the database file", e))
    }

    /// Writes the file's copied pages to disk.
    fn sync(&self) -> Result<(), PassError> {
        match &self.0 {
            Some(file) => file.sync_data().map_err(PassError::Sync),
            None => Ok(()),
        }
    }
}

/// Why a round of checkpoint passes stopped short.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error("checkpoint pass failed")]
    Checkpoint(#[from] diesel::result::Error),
    #[error("syncing the database file failed")]
    Sync(#[source] std::io::Error),
}

fn open(path: &str) -> Result<SqliteConnection, StoreError> {
    SqliteConnection::establish(path)
        .map_err(|e| StoreError::unavailable_because("cannot open the checkpoint connection", e))
}

fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> Result<Pass, diesel::result::Error> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)
}

/// On the writer's thread, between two units of work: a PASSIVE checkpoint of what the
/// last pass left. Nothing can append meanwhile, so it copies every page (unless a reader
/// still reads an older snapshot), and the writer's next transaction starts the WAL over.
/// It never waits: a checkpoint running on the other connection makes it a no-op.
pub(crate) fn finish(conn: &mut SqliteConn, runtime: &Runtime) {
    let pass = runtime.block_on(diesel_async::RunQueryDsl::get_result::<Pass>(
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)"),
        conn,
    ));
    match pass {
        Ok(pass) => {
            tracing::debug!(
                pages = pass.log,
                copied = pass.checkpointed,
                busy = pass.busy,
                "the writer copied the WAL's last pages"
            );
        }
        Err(e) => {
            tracing::warn!(error = %tg_core::ErrorChain(&e), "the writer's WAL checkpoint failed");
        }
    }
}

/// Checkpoints when woken until the sender is dropped; counts the times it asked the
/// writer to [`finish`].
fn serve(
    conn: &mut SqliteConnection,
    file: &DbFile,
    woken: &Receiver<()>,
    restart_pages: i32,
    finishes: &AtomicU64,
    finish: &dyn Fn() -> bool,
) {
    let mut failures = Failures::default();
    // Until the last sender (the `Db`) is dropped.
    while woken.recv().is_ok() {
        let done = catch_up(conn, restart_pages, &|| file.sync()).map(|pages| {
            if let Some(pages) = pages
                && finish()
            {
                let n = finishes.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(
                    finishes = n,
                    pages,
                    "the writer is asked to copy the WAL's last pages"
                );
            }
        });
        failures.record(done);
        std::thread::sleep(PAUSE);
    }
}

/// One PASSIVE pass; once a pass has copied a WAL of `restart_pages` or more, passes
/// again at once until one finds little new since the pass before ([`next`]). The WAL's
/// size when the writer should run the last pass, or `None`.
///
/// The writer's last pass copies what was appended since this thread's, then syncs the
/// database file before the WAL may start over, and every write waits meanwhile. Asked
/// after one pass, it copied what a whole pass had left (at a million receipts, pages
/// spread over a 500 MiB file): its sync took 10–50 ms (docs/PERFORMANCE.md). Each pass
/// here leaves only what the writer appended while it ran, so a few passes bring that to a
/// few hundred pages. And each is followed by `sync` (the database file's), since SQLite
/// syncs after a pass only when nothing was appended while it copied: what the passes
/// copied is on disk before the writer is asked, and its sync writes only its own pages.
fn catch_up(
    conn: &mut SqliteConnection,
    restart_pages: i32,
    sync: &dyn Fn() -> Result<(), PassError>,
) -> Result<Option<i32>, PassError> {
    let mut pass = checkpoint(conn, "PASSIVE")?;
    if pass.log < restart_pages || !pass.copied_all() {
        return Ok(None);
    }
    sync()?;
    for _ in 1..MOST_PASSES {
        let again = checkpoint(conn, "PASSIVE")?;
        let step = next(&pass, &again);
        if step == Next::Stop {
            return Ok(None);
        }
        sync()?;
        if step == Next::Finish {
            return Ok(Some(again.log));
        }
        pass = again;
    }
    Ok(Some(pass.log))
}

/// What follows a pass that copied its whole WAL, given the pass after it.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Little was new: ask the writer for the last pass.
    Finish,
    /// Much was new: pass again.
    PassAgain,
    /// The pass could not copy everything (a reader holds an older snapshot), or the WAL
    /// started over meanwhile (the writer's own checkpoint): nothing for the writer to do.
    Stop,
}

fn next(pass: &Pass, again: &Pass) -> Next {
    if !again.copied_all() || again.log < pass.log {
        Next::Stop
    } else if again.log - pass.log <= LAST_PASS_PAGES {
        Next::Finish
    } else {
        Next::PassAgain
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
    fn record(&mut self, pass: Result<(), PassError>) -> Logged {
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
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::conn_threads::ConnThreads;

    /// A lasting failure is logged once, and its end once with the count.
    #[test]
    fn a_run_of_failures_is_logged_once_and_its_end_once() {
        let failed = || Err(diesel::result::Error::BrokenTransactionManager.into());
        let mut failures = Failures::default();
        assert_eq!(failures.record(Ok(())), Logged::Nothing);
        assert_eq!(failures.record(failed()), Logged::Failed);
        assert_eq!(failures.record(failed()), Logged::Nothing);
        assert_eq!(failures.record(failed()), Logged::Nothing);
        assert_eq!(failures.record(Ok(())), Logged::Recovered(3));
        assert_eq!(failures.record(Ok(())), Logged::Nothing);
        assert_eq!(failures.record(failed()), Logged::Failed);
    }

    fn pass(log: i32, checkpointed: i32) -> Pass {
        Pass {
            busy: 0,
            log,
            checkpointed,
        }
    }

    /// After a pass that copied its whole WAL, the writer is asked for the last pass only
    /// once a pass finds little new; a pass that could not copy everything, or a WAL that
    /// started over, asks nothing of it.
    #[test]
    fn the_writer_is_asked_once_little_is_new() {
        let first = pass(5_000, 5_000);
        assert_eq!(next(&first, &pass(5_000, 5_000)), Next::Finish);
        assert_eq!(
            next(
                &first,
                &pass(5_000 + LAST_PASS_PAGES, 5_000 + LAST_PASS_PAGES)
            ),
            Next::Finish
        );
        assert_eq!(
            next(
                &first,
                &pass(5_001 + LAST_PASS_PAGES, 5_001 + LAST_PASS_PAGES)
            ),
            Next::PassAgain
        );
        assert_eq!(next(&first, &pass(5_100, 5_000)), Next::Stop);
        assert_eq!(next(&first, &pass(40, 40)), Next::Stop);
    }

    fn wal_pages(conn: &mut SqliteConnection) -> i32 {
        checkpoint(conn, "PASSIVE").unwrap().log
    }

    /// A file in `dir` whose WAL holds 100 pages, and its writer, which never checkpoints.
    fn wal_of_100_pages(dir: &tempfile::TempDir) -> (String, SqliteConnection) {
        let path = dir.path().join("wal.db").to_string_lossy().into_owned();
        let mut writer = SqliteConnection::establish(&path).unwrap();
        write(
            &mut writer,
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
             CREATE TABLE t (x BLOB); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
             INSERT INTO t SELECT randomblob(4000) FROM n;",
        );
        (path, writer)
    }

    fn write(conn: &mut SqliteConnection, sql: &str) {
        diesel::connection::SimpleConnection::batch_execute(conn, sql).unwrap();
    }

    /// The thread asks for the last pass once its own has copied a WAL past the
    /// threshold (here 50 pages); after it, the writer's next write starts the WAL over.
    #[test]
    fn the_wal_starts_over_once_the_writer_has_run_the_last_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_of_100_pages(&dir);
        let before = std::fs::metadata(&path).unwrap().len();
        let writer = Arc::new(Mutex::new(writer));

        let (wake, woken) = sync_channel(1);
        let finishes = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&finishes);
        let on_writer = Arc::clone(&writer);
        // The last pass, on the writer's connection.
        let finish = move || checkpoint(&mut on_writer.lock().unwrap(), "PASSIVE").is_ok();
        let mut conn = open(&path).unwrap();
        let file = DbFile::of(&mut conn).unwrap();
        let thread = std::thread::spawn(move || {
            serve(&mut conn, &file, &woken, 50, &counted, &finish);
        });
        wake.send(()).unwrap();
        while finishes.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        drop(wake);
        thread.join().unwrap();
        assert!(
            std::fs::metadata(&path).unwrap().len() >= before + 100 * 4000,
            "the pages reached the database file"
        );
        let mut writer = writer.lock().unwrap();
        write(&mut writer, "INSERT INTO t VALUES (randomblob(10))");
        let pages = wal_pages(&mut writer);
        assert!(pages < 10, "the WAL holds {pages} pages");
    }

    /// Every catch-up pass is followed by a sync of the database file, before the writer
    /// is asked for the last pass; a WAL under the threshold asks for neither. A failed
    /// sync ends the round: the writer is not asked.
    #[test]
    fn the_passes_copies_are_synced_before_the_writer_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = wal_of_100_pages(&dir);
        let mut conn = open(&path).unwrap();
        let syncs = std::cell::Cell::new(0);
        let counting = || {
            syncs.set(syncs.get() + 1);
            Ok(())
        };
        assert_eq!(catch_up(&mut conn, 1_000, &counting).unwrap(), None);
        assert_eq!(syncs.get(), 0, "under the threshold: no round");

        let pages = catch_up(&mut conn, 50, &counting).unwrap();
        assert!(
            pages.is_some_and(|p| p >= 100),
            "the writer is asked: {pages:?}"
        );
        // The first pass copied the WAL; the second found nothing new. Both synced.
        assert_eq!(syncs.get(), 2);

        let failing = || Err(PassError::Sync(std::io::Error::other("disk gone")));
        assert!(matches!(
            catch_up(&mut conn, 50, &failing),
            Err(PassError::Sync(_))
        ));
    }

    /// The file the checkpoint thread syncs is the connection's own; a database in memory
    /// has none, and syncing it does nothing.
    #[test]
    fn the_synced_file_is_the_databases_own() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = wal_of_100_pages(&dir);
        let file = DbFile::of(&mut open(&path).unwrap()).unwrap();
        let held = file.0.as_ref().unwrap().metadata().unwrap();
        let on_disk = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((held.dev(), held.ino()), (on_disk.dev(), on_disk.ino()));
        file.sync().unwrap();

        let memory = DbFile::of(&mut open(":memory:").unwrap()).unwrap();
        assert!(memory.0.is_none());
        memory.sync().unwrap();
    }

    /// `finish`, queued on the writer's own thread behind its work, copies the WAL there:
    /// the next unit of work starts it over. Without it, nothing copies and it grows.
    #[test]
    fn the_last_pass_runs_on_the_writers_thread() {
        for last_pass in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (_, conn) = wal_of_100_pages(&dir);
            let writer = ConnThreads::start("test-writer", vec![conn]).unwrap();
            if last_pass {
                assert!(writer.detached().try_run(finish));
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let pages = runtime
                .block_on(writer.call(|conn, runtime| {
                    runtime.block_on(async {
                        let insert = diesel::sql_query("INSERT INTO t VALUES (randomblob(10))");
                        diesel_async::RunQueryDsl::execute(insert, conn).await?;
                        let pass = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)");
                        diesel_async::RunQueryDsl::get_result::<Pass>(pass, conn).await
                    })
                }))
                .unwrap()
                .unwrap()
                .log;
            match last_pass {
                true => assert!(pages < 10, "the WAL holds {pages} pages"),
                false => assert!(pages > 100, "the WAL holds {pages} pages"),
            }
        }
    }
}
