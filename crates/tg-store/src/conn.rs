use diesel::SqliteConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// One borrowed connection of either backend.
pub(crate) enum Conn<'c> {
    Pg(&'c mut AsyncPgConnection),
    Sqlite(&'c mut SqliteConn),
}

/// The `Tx` handed to units of work: every storage trait over one connection.
pub struct DbTx<'c>(pub(crate) Conn<'c>);

impl std::fmt::Debug for DbTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Conn::Pg(_) => "DbTx(postgres)",
            Conn::Sqlite(_) => "DbTx(sqlite)",
        })
    }
}

/// Runs the same diesel expression on whichever backend `$tx` holds, mapping errors.
macro_rules! run {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.0 {
            $crate::conn::Conn::Pg(inner) => {
                let $c: &mut diesel_async::AsyncPgConnection = &mut **inner;
                $body.map_err($crate::error::store_error)
            }
            $crate::conn::Conn::Sqlite(inner) => {
                let $c: &mut $crate::conn::SqliteConn = &mut **inner;
                $body.map_err($crate::error::store_error)
            }
        }
    };
}
pub(crate) use run;
