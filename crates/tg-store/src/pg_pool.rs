//! The PostgreSQL connection pool: a connection is checked for life only when it may have
//! gone stale, not on every check-out.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::{BuildError, Hook, HookError, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
};

/// A connection not checked out for this long is pinged before it is handed out again.
/// One in steady use is not: a round trip saved on every unit of work under load.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A pool of at most `size` connections to `url`.
///
/// Every check-out drops a connection whose socket has closed (the server restarted or
/// ended it) or whose last transaction broke: diesel-async's check, which costs nothing.
/// A connection idle for longer than `ping_after_idle` is also sent `SELECT 1`, and
/// replaced if that fails, since a connection lost without the socket closing can only be
/// found by using it. diesel-async's default pings on every check-out, one more round trip
/// for each of the record path's commits.
pub(crate) fn pool(
    url: &str,
    size: usize,
    ping_after_idle: Duration,
) -> Result<Pool<AsyncPgConnection>, BuildError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(size)
        .post_recycle(Hook::async_fn(move |conn, metrics| {
            Box::pin(async move {
                if metrics.last_used() < ping_after_idle {
                    return Ok(());
                }
                let ping: &mut AsyncPgConnection = conn;
                diesel::sql_query("SELECT 1")
                    .execute(ping)
                    .await
                    .map(|_| ())
                    .map_err(|e| HookError::Backend(PoolError::QueryError(e)))
            })
        }))
        .build()
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::{Bool, Integer, Text};
    use diesel_async::AsyncConnection;

    use super::*;

    async fn backend_pid(conn: &mut AsyncPgConnection) -> i32 {
        diesel::select(diesel::dsl::sql::<Integer>("pg_backend_pid()"))
            .get_result(conn)
            .await
            .expect("pg_backend_pid")
    }

    /// The last statement the server process `pid` ran.
    async fn last_statement(admin: &mut AsyncPgConnection, pid: i32) -> String {
        diesel::select(diesel::dsl::sql::<Text>(&format!(
            "(SELECT query FROM pg_stat_activity WHERE pid = {pid})"
        )))
        .get_result(admin)
        .await
        .expect("pg_stat_activity")
    }

    /// A connection is pinged at check-out only once it has been idle for the bound.
    #[tokio::test]
    async fn postgres_only_an_idle_connection_is_pinged() {
        let Some(url) = crate::testing::postgres_url() else {
            eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
            return;
        };
        let mut admin = AsyncPgConnection::establish(&url).await.expect("connect");
        for (idle_bound, pinged) in [(Duration::ZERO, true), (Duration::MAX, false)] {
            let pool = pool(&url, 1, idle_bound).expect("pool");
            let pid = backend_pid(&mut pool.get().await.expect("a connection")).await;
            let _again = pool.get().await.expect("the same connection");
            let last = last_statement(&mut admin, pid).await;
            assert_eq!(last == "SELECT 1", pinged, "{idle_bound:?}: {last}");
        }
    }

    /// A connection whose server process ended while it sat in the pool is not handed
    /// out: the next check-out gets a working connection to a new process.
    #[tokio::test]
    async fn postgres_a_connection_ended_while_idle_is_replaced() {
        let Some(url) = crate::testing::postgres_url() else {
            eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
            return;
        };
        let pool = pool(&url, 1, Duration::ZERO).expect("pool");
        let first = backend_pid(&mut pool.get().await.expect("a connection")).await;
        let mut admin = AsyncPgConnection::establish(&url).await.expect("connect");
        // Waits (up to 10 s) until the process has exited.
        let ended: bool = diesel::select(diesel::dsl::sql::<Bool>(&format!(
            "pg_terminate_backend({first}, 10000)"
        )))
        .get_result(&mut admin)
        .await
        .expect("pg_terminate_backend");
        assert!(ended);
        let second = backend_pid(&mut pool.get().await.expect("a connection")).await;
        assert_ne!(first, second);
    }
}
