use diesel::SqliteConnection;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel_async::AsyncPgConnection;
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};
use futures_util::future::BoxFuture;

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;

/// How a SQLite connection runs its statements: at once, on the calling thread, which is
/// the thread that owns the connection (`crate::conn_threads`).
pub(crate) struct Inline;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        Box::pin(std::future::ready(Ok(task())))
    }

    fn get_runtime() -> Self {
        Inline
    }
}

/// One borrowed connection of either backend.
pub(crate) enum Conn<'c> {
    Pg(&'c mut AsyncPgConnection),
    Sqlite(&'c mut SqliteConn),
}

/// The `Tx` handed to units of work: every storage trait over one connection.
///
/// The first storage error of a unit of work poisons it: the transaction then rolls back
/// even if the work swallowed the error and returned `Ok` (PostgreSQL would discard the
/// rest of an aborted transaction silently; SQLite would commit it; this makes both fail).
pub struct DbTx<'c> {
    pub(crate) conn: Conn<'c>,
    pub(crate) poisoned: Option<tg_core::StoreError>,
    /// State signals raised by this unit of work's writes (`tg_service::state_signals`).
    pub(crate) changed: Vec<String>,
}

impl<'c> DbTx<'c> {
    pub(crate) fn new(conn: Conn<'c>) -> Self {
        Self {
            conn,
            poisoned: None,
            changed: Vec::new(),
        }
    }

    /// Records a state signal, sent when the unit of work commits.
    pub(crate) fn changed(&mut self, signal: String) {
        self.changed.push(signal);
    }

    pub(crate) fn poison<T>(
        &mut self,
        r: Result<T, tg_core::StoreError>,
    ) -> Result<T, tg_core::StoreError> {
        if let Err(e) = &r {
            self.poisoned.get_or_insert_with(|| e.clone());
        }
        r
    }
}

impl std::fmt::Debug for DbTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.conn {
            Conn::Pg(_) => "DbTx(postgres)",
            Conn::Sqlite(_) => "DbTx(sqlite)",
        })
    }
}

/// Runs the same diesel expression on whichever backend `$tx` holds, mapping errors.
macro_rules! run {
    ($tx:expr, |$c:ident| $body:expr) => {{
        let result = match &mut $tx.conn {
            $crate::conn::Conn::Pg(inner) => {
                let $c: &mut diesel_async::AsyncPgConnection = &mut **inner;
                $body.map_err($crate::error::store_error)
            }
            $crate::conn::Conn::Sqlite(inner) => {
                let $c: &mut $crate::conn::SqliteConn = &mut **inner;
                $body.map_err($crate::error::store_error)
            }
        };
        $tx.poison(result)
    }};
}
pub(crate) use run;

/// `q`, checked at compile time to be kept in diesel's statement cache by its type. Any
/// other statement has its SQL text built, hashed and looked up on every execution. An
/// `Insertable` row with an `Option` field does that unless it is marked
/// `#[diesel(treat_none_as_default_value = false)]` (then `None` is bound as NULL, not
/// left out of the column list, and the text is the same for every row).
pub(crate) fn prepared_by_type<Q: diesel::query_builder::QueryId>(q: Q) -> Q {
    const {
        assert!(
            Q::HAS_STATIC_QUERY_ID,
            "a per-row insert whose SQL depends on the row (see prepared_by_type)"
        )
    };
    q
}

/// An UPDATE kept prepared by its SQL text. diesel never keeps an UPDATE in its statement
/// cache (a changeset's text may vary from call to call), so without this each call
/// parses and plans it again: on SQLite's writer that was 6 % of its time under record
/// load. Only for a changeset whose text is the same on every call (no field skipped
/// when `None`): each distinct text stays prepared for the connection's life.
pub(crate) struct FixedText<Q>(pub Q);

impl<Q, DB> QueryFragment<DB> for FixedText<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache keys the statement by its SQL text and bind types.
impl<Q> QueryId for FixedText<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for FixedText<Q> {
    type SqlType = Q::SqlType;
}

/// Rows per multi-row insert on SQLite: one prepared statement (kept by its type) per
/// full group, the remainder one row at a time.
pub(crate) const SQLITE_ROWS_PER_INSERT: usize = 16;

/// Inserts `$rows` (a `Vec<$row>`) into `$table` within `$tx`'s transaction: on
/// PostgreSQL one `INSERT … SELECT * FROM unnest(…)` (`$row::unnest`) whatever the count,
/// prepared once per connection; on SQLite a prepared `VALUES` of
/// [`SQLITE_ROWS_PER_INSERT`] rows per full group and one per remaining row (each kept
/// prepared by its type, checked by [`prepared_by_type`]), all in one call on the
/// connection's thread. Errors are mapped and poison the unit of work.
macro_rules! insert_rows {
    ($tx:expr, $table:expr, $row:ty, $rows:expr) => {{
        let rows: Vec<$row> = $rows;
        let result = match &mut $tx.conn {
            _ if rows.is_empty() => Ok(0),
            $crate::conn::Conn::Pg(c) => {
                let q = $crate::pg_unnest::Insert::<$row>::new(<$row>::unnest(rows));
                diesel_async::RunQueryDsl::execute(q, &mut **c).await
            }
            $crate::conn::Conn::Sqlite(c) => {
                c.spawn_blocking(move |conn| {
                    let (full, rest) = rows.as_chunks::<{ $crate::conn::SQLITE_ROWS_PER_INSERT }>();
                    for chunk in full {
                        diesel::RunQueryDsl::execute(
                            $crate::conn::prepared_by_type(
                                diesel::insert_into($table).values(chunk),
                            ),
                            conn,
                        )?;
                    }
                    for row in rest {
                        diesel::RunQueryDsl::execute(
                            $crate::conn::prepared_by_type(diesel::insert_into($table).values(row)),
                            conn,
                        )?;
                    }
                    Ok(rows.len())
                })
                .await
            }
        }
        .map_err($crate::error::store_error);
        $tx.poison(result)
    }};
}
pub(crate) use insert_rows;
