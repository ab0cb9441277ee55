//! Threads that own SQLite connections and run whole units of work on them.
//!
//! A SQLite file is served by one writer thread and its WAL readers (`crate::db`). Each
//! thread owns one connection and runs what it is given there, statement after statement,
//! at once ([`Inline`]): a unit of work costs one hand-off to the thread and one back,
//! however many statements it makes, where running each statement on the runtime's
//! blocking pool cost one per statement. The threads take work from one queue; they end
//! when the last handle to them is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::SqliteConnection;
use diesel_async::{AsyncConnection, TransactionManager};
use tg_core::StoreError;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::conn::{Inline, SqliteConn};

/// Calls waiting for a thread, per thread, before callers wait to queue more.
const QUEUE_PER_THREAD: usize = 64;

type Task = Box<dyn FnOnce(&mut SqliteConn, &Runtime) + Send>;

/// Threads owning a connection each, and the queue they take work from.
pub(crate) struct ConnThreads {
    queue: mpsc::Sender<Task>,
    count: usize,
    busy: Arc<AtomicUsize>,
}

impl ConnThreads {
    /// Starts a thread per connection, named `{name}-{n}`.
    pub(crate) fn start(name: &str, conns: Vec<SqliteConnection>) -> Result<Self, StoreError> {
        let count = conns.len();
        let (queue, tasks) = mpsc::channel(count.max(1) * QUEUE_PER_THREAD);
        let tasks = Arc::new(Mutex::new(tasks));
        let busy = Arc::new(AtomicUsize::new(0));
        for (n, conn) in conns.into_iter().enumerate() {
            let tasks = Arc::clone(&tasks);
            let busy = Arc::clone(&busy);
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || serve(conn, &tasks, &busy))
                .map_err(|e| StoreError::unavailable_because(format!("cannot start {name}"), e))?;
        }
        Ok(Self { queue, count, busy })
    }

    /// Runs `f` on the next free thread's connection, with a runtime to drive the
    /// connection's futures (they complete at once: nothing there waits on I/O but the
    /// connection). A panic in `f` fails this call alone.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteConn, &Runtime) -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move |conn, runtime| {
            let out = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn, runtime)));
            let _ = reply.send(out.map_err(|_| ()));
        });
        let stopped = || StoreError::unavailable("the database's connection threads have stopped");
        self.queue.send(task).await.map_err(|_| stopped())?;
        match answer.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(())) => Err(StoreError::other("a unit of work panicked")),
            Err(_) => Err(stopped()),
        }
    }

    /// A handle that queues work no caller waits for (for a thread of its own).
    pub(crate) fn detached(&self) -> Detached {
        Detached {
            queue: self.queue.clone(),
        }
    }

    /// The threads, and how many are running a call now.
    pub(crate) fn status(&self) -> (usize, usize) {
        (
            self.count,
            self.busy.load(Ordering::Relaxed).min(self.count),
        )
    }
}

/// Queues work on the threads from any thread, without waiting for it. The threads run
/// as long as a handle is held.
pub(crate) struct Detached {
    queue: mpsc::Sender<Task>,
}

impl Detached {
    /// Queues `f` after the calls already queued; false when the queue is full or the
    /// threads have stopped. A panic in `f` is logged.
    pub(crate) fn try_run(
        &self,
        f: impl FnOnce(&mut SqliteConn, &Runtime) + Send + 'static,
    ) -> bool {
        let task: Task = Box::new(move |conn, runtime| {
            if std::panic::catch_unwind(AssertUnwindSafe(|| f(conn, runtime))).is_err() {
                tracing::error!("work queued on a SQLite connection thread panicked");
            }
        });
        self.queue.try_send(task).is_ok()
    }
}

/// One thread: takes tasks off the queue until it is closed.
fn serve(conn: SqliteConnection, tasks: &Mutex<mpsc::Receiver<Task>>, busy: &AtomicUsize) {
    // Timers on, for a unit of work that waits on one; no I/O driver (SQLite's I/O is
    // blocking, on this thread).
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        tracing::error!("a SQLite connection thread could not start its runtime");
        return;
    };
    let mut conn = SqliteConn::with_runtime(conn, Inline);
    loop {
        let task = tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(task) = task else {
            return;
        };
        busy.fetch_add(1, Ordering::Relaxed);
        task(&mut conn, &runtime);
        // A unit that panicked inside its transaction left it open: end it here, or every
        // later `BEGIN` on this connection would fail.
        if inside_transaction(&mut conn) {
            type Manager = <SqliteConn as AsyncConnection>::TransactionManager;
            if let Err(e) = runtime.block_on(Manager::rollback_transaction(&mut conn)) {
                tracing::error!(error = %tg_core::ErrorChain(&e), "could not roll back an abandoned transaction");
            }
        }
        busy.fetch_sub(1, Ordering::Relaxed);
    }
}

fn inside_transaction(conn: &mut SqliteConn) -> bool {
    type Manager = <SqliteConn as AsyncConnection>::TransactionManager;
    !matches!(
        Manager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    )
}
