use std::any::Any;
use std::sync::Arc;

use diesel::{Connection, SqliteConnection};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tg_core::StoreError;
use tg_service::{CommitHook, EventSignals, PoolStatus, ServiceError, Store, TxWork};

use crate::checkpointer::{self, Checkpointer, WRITER_CHECKPOINT_PAGES};
use crate::conn::{Conn, DbTx, SqliteConn};
use crate::conn_threads::ConnThreads;
use crate::error::store_error;
use crate::pg_pool;

#[cfg(test)]
mod leaf_index_tests;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod upgrade_tests;
#[cfg(test)]
mod wal_tests;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Arbitrary, fixed: the advisory lock id instances take while migrating.
const MIGRATION_LOCK: i64 = 0x7467_6d69_6772_6174;

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbConfig {
    /// A SQLite file path, or `:memory:`.
    Sqlite(String),
    /// A `postgres://` URL and the pool size.
    Postgres { url: String, pool_size: usize },
}

impl DbConfig {
    /// Parses `DATABASE_URL`: `sqlite://PATH`, `sqlite::memory:`, `postgres://…` or
    /// `postgresql://…`.
    pub fn parse(url: &str, pool_size: usize) -> Result<Self, String> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(DbConfig::Sqlite(":memory:".into()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(
                    "`sqlite://` needs a file path, e.g. `sqlite://./trust-gateway.db`".into(),
                );
            }
            return Ok(DbConfig::Sqlite(path.to_owned()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbConfig::Postgres {
                url: url.to_owned(),
                pool_size: pool_size.max(1),
            });
        }
        Err("DATABASE_URL must start with `sqlite://`, `sqlite::memory:` or `postgres://`".into())
    }
}

/// The database: a migrated SQLite connection or a PostgreSQL pool, and the hooks
/// called after commits that raised state signals.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    hooks: Arc<std::sync::RwLock<Vec<CommitHook>>>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Sqlite>),
    /// The pool, and the URL (for the connection that listens for events).
    Postgres(Pool<AsyncPgConnection>, Arc<str>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::Sqlite(_) => "Db(sqlite)",
            Backend::Postgres(..) => "Db(postgres)",
        })
    }
}

/// A SQLite database: a thread owning the one writer connection, and for a file the WAL
/// readers, a thread each owning a `query_only` connection (`crate::conn_threads`).
/// `:memory:` has no readers, since every connection to it is a database of its own: its
/// reads run on the writer.
struct Sqlite {
    writer: ConnThreads,
    readers: Option<ConnThreads>,
    /// For a file: the WAL's checkpoints, beside the writer (`crate::checkpointer`).
    checkpointer: Option<Checkpointer>,
}

/// Reader connections for a SQLite file: one per core, at most four (a read is CPU work on
/// pages the file system holds; more threads than cores only take turns).
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::unavailable_because("cannot connect to the database", e)
}

fn migration_failed(e: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
    StoreError::Other {
        context: "migration failed".into(),
        cause: Some(e.into()),
    }
}

/// A new database file is created readable and writable by its owner only (0600): it holds
/// receipts, keys' hashes and sealed signing keys. SQLite gives its `-wal` and `-shm` files
/// the database file's permissions. An existing file keeps its own.
fn create_private(path: &str) -> Result<(), StoreError> {
    if path.starts_with(':') || path.starts_with("file:") || std::path::Path::new(path).exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it in between: SQLite opens that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::unavailable_because(
            format!("cannot create `{path}`"),
            e,
        )),
    }
}

fn open_sqlite(path: &str) -> Result<SqliteConnection, StoreError> {
    create_private(path)?;
    let mut conn = SqliteConnection::establish(path).map_err(unavailable)?;
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA busy_timeout = 5000",
        "PRAGMA foreign_keys = ON",
    ] {
        diesel::RunQueryDsl::execute(diesel::sql_query(pragma), &mut conn).map_err(store_error)?;
    }
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(migration_failed)?;
    Ok(conn)
}

/// A reader: `query_only`, so a unit of work sent to it by mistake that writes fails
/// instead of writing outside the writer's order.
fn open_reader(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path).map_err(unavailable)?;
    for pragma in [
        "PRAGMA busy_timeout = 5000",
        "PRAGMA foreign_keys = ON",
        "PRAGMA query_only = ON",
    ] {
        diesel::RunQueryDsl::execute(diesel::sql_query(pragma), &mut conn).map_err(store_error)?;
    }
    Ok(conn)
}

/// The writer's page cache (KiB; SQLite's default is 2 MiB). Each write lands on index
/// pages spread over files of many receipts (the log's leaf key, the receipts' primary
/// key); a larger cache keeps those pages instead of reading them back for every round.
/// SQLite allocates cache pages as it uses them, so an idle gateway does not pay for it.
const WRITER_CACHE_KIB: u32 = 32 * 1024;

/// The writer thread and, for a file, the readers, on a migrated database.
fn start_sqlite(path: &str) -> Result<Sqlite, StoreError> {
    let mut writer = open_sqlite(path)?;
    let in_memory = path.starts_with(':') || path.contains("mode=memory");
    if in_memory {
        return Ok(Sqlite {
            writer: ConnThreads::start("sqlite-writer", vec![writer])?,
            readers: None,
            checkpointer: None,
        });
    }
    let conns = (0..reader_count())
        .map(|_| open_reader(path))
        .collect::<Result<Vec<_>, _>>()?;
    diesel::connection::SimpleConnection::batch_execute(
        &mut writer,
        &format!(
            "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}; \
             PRAGMA cache_size = -{WRITER_CACHE_KIB}"
        ),
    )
    .map_err(store_error)?;
    let writer = ConnThreads::start("sqlite-writer", vec![writer])?;
    let on_writer = writer.detached();
    let finish = Box::new(move || on_writer.try_run(checkpointer::finish));
    Ok(Sqlite {
        writer,
        readers: Some(ConnThreads::start("sqlite-reader", conns)?),
        checkpointer: Some(Checkpointer::start(path, finish)?),
    })
}

fn migrate_postgres(url: &str) -> Result<(), StoreError> {
    let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(url)
        .map_err(unavailable)?;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")),
        &mut conn,
    )
    .map_err(store_error)?;
    let result = conn
        .run_pending_migrations(PG_MIGRATIONS)
        .map(|_| ())
        .map_err(migration_failed);
    let unlock = diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")),
        &mut conn,
    )
    .map_err(store_error);
    result.and(unlock.map(|_| ()))
}

/// Applies pending migrations (the `migrate` subcommand; `Db::connect` does it too).
pub async fn migrate(config: &DbConfig) -> Result<(), StoreError> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || match config {
        DbConfig::Sqlite(path) => open_sqlite(&path).map(|_| ()),
        DbConfig::Postgres { url, .. } => migrate_postgres(&url),
    })
    .await
    .map_err(|e| StoreError::other_because("the migration task failed", e))?
}

/// Errors inside a diesel transaction: the database's own, or the unit of work's.
pub(crate) enum TxError {
    Db(diesel::result::Error),
    Work(ServiceError),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

impl From<TxError> for ServiceError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Db(e) => store_error(e).into(),
            TxError::Work(e) => e,
        }
    }
}

/// What a unit of work answered, and the state signals its writes raised.
pub(crate) type Done = (Box<dyn Any + Send>, Vec<String>);

/// Runs `work`; inside a transaction (`atomic`), a storage error it swallowed still fails
/// it. The state signals its writes raised go to this instance's hooks after the commit;
/// other instances hear them from the database itself (PostgreSQL's triggers notify them
/// inside the transaction, migration 000016).
pub(crate) async fn run_work(
    mut tx: DbTx<'_>,
    work: TxWork,
    atomic: bool,
) -> Result<Done, TxError> {
    let out = work(&mut tx).await.map_err(TxError::Work)?;
    if let (Some(e), true) = (tx.poisoned.take(), atomic) {
        return Err(TxError::Work(e.into()));
    }
    let mut changed = std::mem::take(&mut tx.changed);
    changed.sort_unstable();
    changed.dedup();
    Ok((out, changed))
}

/// One SQLite unit of work, begun `IMMEDIATE`: it takes the file's write lock before its
/// first read, waiting for it up to the busy timeout. Begun deferred, a unit that read and
/// then wrote failed at once ("database is locked") whenever another process (the command
/// line, say) wrote in between: SQLite cannot turn a read snapshot another writer has
/// overtaken into a write.
async fn immediate(conn: &mut SqliteConn, work: TxWork) -> Result<Done, TxError> {
    type Manager = <SqliteConn as AsyncConnection>::TransactionManager;
    conn.spawn_blocking(|c| {
        diesel::connection::AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    })
    .await?;
    match run_work(DbTx::new(Conn::Sqlite(conn)), work, true).await {
        Ok(done) => {
            <Manager as diesel_async::TransactionManager<SqliteConn>>::commit_transaction(conn)
                .await?;
            Ok(done)
        }
        Err(e) => {
            // The unit's own error is the answer; a rollback that fails leaves the
            // connection marked broken, and the next unit says so.
            let _ =
                <Manager as diesel_async::TransactionManager<SqliteConn>>::rollback_transaction(
                    conn,
                )
                .await;
            Err(e)
        }
    }
}

/// `work` on a pooled PostgreSQL connection without a transaction: each statement commits
/// by itself.
async fn autocommit(pool: &Pool<AsyncPgConnection>, work: TxWork) -> Result<Done, ServiceError> {
    let mut conn = pool
        .get()
        .await
        .map_err(|e| ServiceError::from(unavailable(e)))?;
    Ok(run_work(DbTx::new(Conn::Pg(&mut conn)), work, false).await?)
}

impl Sqlite {
    /// `work` in one transaction on the writer's thread, to the end: a caller that goes
    /// away mid-way (a client that hangs up) cannot leave the connection inside an open
    /// transaction.
    async fn on_writer(&self, work: TxWork) -> Result<Done, ServiceError> {
        let done = self
            .writer
            .call(move |conn, runtime| runtime.block_on(immediate(conn, work)))
            .await?;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.wake();
        }
        Ok(done?)
    }
}

impl Db {
    fn new(backend: Backend) -> Self {
        Self {
            backend,
            hooks: Arc::default(),
        }
    }

    /// Hands committed state signals to every hook.
    fn committed(&self, done: Done) -> Box<dyn Any + Send> {
        let (out, changed) = done;
        if !changed.is_empty() {
            let hooks = self
                .hooks
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            for hook in hooks {
                hook(&changed);
            }
        }
        out
    }

    /// Connects and migrates.
    pub async fn connect(config: &DbConfig) -> Result<Self, StoreError> {
        match config {
            DbConfig::Sqlite(path) => {
                let path = path.clone();
                let sqlite = tokio::task::spawn_blocking(move || start_sqlite(&path))
                    .await
                    .map_err(|e| StoreError::other_because("the start-up task failed", e))??;
                Ok(Db::new(Backend::Sqlite(Arc::new(sqlite))))
            }
            DbConfig::Postgres { url, pool_size } => {
                migrate(config).await?;
                let pool = pg_pool::pool(url, *pool_size, pg_pool::PING_AFTER_IDLE)
                    .map_err(unavailable)?;
                Ok(Db::new(Backend::Postgres(pool, Arc::from(url.as_str()))))
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for Db {
    async fn transaction(&self, work: TxWork) -> Result<Box<dyn Any + Send>, ServiceError> {
        let done = match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.on_writer(work).await?,
            Backend::Postgres(pool, _) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| ServiceError::from(unavailable(e)))?;
                let out = conn
                    .transaction::<_, TxError, _>(async move |c| {
                        run_work(DbTx::new(Conn::Pg(c)), work, true).await
                    })
                    .await;
                out?
            }
        };
        Ok(self.committed(done))
    }

    async fn single_write(&self, work: TxWork) -> Result<Box<dyn Any + Send>, ServiceError> {
        let done = match &self.backend {
            Backend::Sqlite(sqlite) => sqlite.on_writer(work).await?,
            // Its one statement commits by itself: no transaction to begin or end.
            Backend::Postgres(pool, _) => autocommit(pool, work).await?,
        };
        Ok(self.committed(done))
    }

    async fn read(&self, work: TxWork) -> Result<Box<dyn Any + Send>, ServiceError> {
        let done = match &self.backend {
            Backend::Sqlite(sqlite) => {
                let threads = sqlite.readers.as_ref().unwrap_or(&sqlite.writer);
                threads
                    .call(move |conn, runtime| {
                        runtime.block_on(run_work(DbTx::new(Conn::Sqlite(conn)), work, false))
                    })
                    .await??
            }
            Backend::Postgres(pool, _) => autocommit(pool, work).await?,
        };
        Ok(self.committed(done))
    }

    async fn outside_writes(&self) -> Result<Option<i64>, StoreError> {
        #[derive(diesel::QueryableByName)]
        struct Version {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            data_version: i64,
        }
        let Backend::Sqlite(sqlite) = &self.backend else {
            return Ok(None);
        };
        sqlite
            .writer
            .call(|conn, runtime| {
                runtime
                    .block_on(diesel::sql_query("PRAGMA data_version").get_result::<Version>(conn))
            })
            .await?
            .map(|v| Some(v.data_version))
            .map_err(store_error)
    }

    fn on_commit(&self, hook: CommitHook) {
        self.hooks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(hook);
    }

    async fn signal(&self, signals: &[String]) -> Result<(), StoreError> {
        let Backend::Postgres(pool, _) = &self.backend else {
            return Ok(());
        };
        let mut conn = pool.get().await.map_err(unavailable)?;
        let ids: Vec<&str> = signals.iter().map(String::as_str).collect();
        crate::signals::notify(&mut conn, &ids)
            .await
            .map_err(store_error)
    }

    async fn reclaim_log_queue(&self) -> Result<(), StoreError> {
        let Backend::Postgres(pool, _) = &self.backend else {
            return Ok(());
        };
        let mut conn = pool.get().await.map_err(unavailable)?;
        // `SKIP_LOCKED`: an autovacuum already at it is enough. `TRUNCATE false`: cutting
        // the table's empty end takes a lock that excludes every record's insert, and
        // vacuum polls for it under load (runs from outside every second took 47 ms a
        // vacuum with truncation, 4 ms without). A role that does not own the table gets
        // a warning and no vacuum.
        diesel::sql_query("VACUUM (SKIP_LOCKED, TRUNCATE false) log_queue")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let probe = diesel::sql_query("SELECT 1 FROM __diesel_schema_migrations LIMIT 1");
        match &self.backend {
            Backend::Sqlite(sqlite) => sqlite
                .writer
                .call(move |conn, runtime| runtime.block_on(probe.execute(conn)))
                .await?
                .map(|_| ())
                .map_err(store_error),
            Backend::Postgres(pool, _) => {
                let mut conn = pool.get().await.map_err(unavailable)?;
                probe
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(store_error)
            }
        }
    }

    fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(..) => "postgres",
        }
    }

    fn pool_status(&self) -> PoolStatus {
        match &self.backend {
            Backend::Sqlite(sqlite) => {
                let (_, writing) = sqlite.writer.status();
                let (readers, reading) =
                    sqlite.readers.as_ref().map_or((0, 0), ConnThreads::status);
                let (max, in_use) = (1 + readers, writing + reading);
                PoolStatus {
                    in_use,
                    idle: max - in_use,
                    max,
                }
            }
            Backend::Postgres(pool, _) => {
                let s = pool.status();
                PoolStatus {
                    in_use: s.size.saturating_sub(s.available),
                    idle: s.available,
                    max: s.max_size,
                }
            }
        }
    }

    async fn listen_events(&self) -> Result<Option<EventSignals>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(_, url) => crate::signals::listen(url).await.map(Some),
        }
    }
}
