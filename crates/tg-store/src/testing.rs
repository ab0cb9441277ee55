//! Fresh stores for tests: every call gets its own database, so tests run in parallel and
//! never share state.
#![allow(clippy::panic, clippy::expect_used)]

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::{Db, DbConfig};

/// A fresh in-memory SQLite store, migrated.
pub async fn sqlite() -> Db {
    Db::connect(&DbConfig::Sqlite(":memory:".into()))
        .await
        .expect("in-memory SQLite opens")
}

/// `TEST_DATABASE_URL`, if set. When it is set, every PostgreSQL test runs and fails loudly
/// if the server cannot be reached; when unset the PostgreSQL half is not run (`.ci/run`
/// always sets it).
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh, migrated schema on the `TEST_DATABASE_URL` server, and the config that reaches
/// it (to start a second instance on the same data).
pub async fn postgres() -> Option<(Db, DbConfig)> {
    let config = postgres_schema().await?;
    let db = Db::connect(&config).await.expect("migrate the test schema");
    Some((db, config))
}

/// A fresh, empty schema on the `TEST_DATABASE_URL` server (no migration run yet), and the
/// config that reaches it.
pub async fn postgres_schema() -> Option<DbConfig> {
    let url = postgres_url()?;
    let schema = format!("tg_test_{}", tg_core::random_hex::<8>());
    let mut conn = AsyncPgConnection::establish(&url)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(DbConfig::Postgres {
        url: format!("{url}{sep}options=-csearch_path%3D{schema}"),
        pool_size: 8,
    })
}
