//! Upgrading a database that holds data: each case migrates a fresh database to the schema
//! just before a migration, stores rows as that schema had them, lets [`Db::connect`]
//! apply the rest (as a server upgrading in place does) and reads them through the store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use diesel::backend::Backend;
use diesel::sql_types::{BigInt, Binary};
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use tg_log::{Hash, leaf_hash};
use tg_service::reading;

use super::{PG_MIGRATIONS, SQLITE_MIGRATIONS};
use crate::{Db, DbConfig};

/// Applies every migration of `source` that comes before the one named `before…`.
fn migrate_before<DB: Backend>(
    conn: &mut impl MigrationHarness<DB>,
    source: EmbeddedMigrations,
    before: &str,
) {
    for m in conn.pending_migrations(source).unwrap() {
        if m.name().to_string().starts_with(before) {
            return;
        }
        conn.run_migration(&*m).unwrap();
    }
    panic!("no migration `{before}`");
}

const LEAF_KEY: &str = "2026-12-03-000019";

/// Leaf hashes whose first 8 bytes cover the sign bit and both ends of the key's range.
fn leaves() -> Vec<Hash> {
    let mut top = [0x7f; 32];
    top[8] = 1;
    let mut bottom = [0u8; 32];
    bottom[0] = 0x80;
    vec![[0xff; 32], bottom, top, [0; 32], leaf_hash(&[7; 32])]
}

/// Stores each leaf on `$conn` as the schema before `leaf_key` did (`$sql` in the
/// backend's placeholders).
macro_rules! store_old_entries {
    ($conn:expr, $sql:expr) => {
        for (i, leaf) in leaves().iter().enumerate() {
            let i = i as i64;
            diesel::sql_query($sql)
                .bind::<BigInt, _>(i)
                .bind::<BigInt, _>(i + 1)
                .bind::<Binary, _>(vec![i as u8; 32])
                .bind::<Binary, _>(leaf.to_vec())
                .execute($conn)
                .unwrap();
        }
    };
}

/// Every stored leaf is found by its hash; a hash sharing only the first 8 bytes is not.
async fn leaves_are_found_by_hash(db: &Db) {
    for (i, leaf) in leaves().into_iter().enumerate() {
        let found = reading(db, move |tx| {
            Box::pin(async move { Ok(tx.leaf_index(&leaf).await?) })
        })
        .await
        .unwrap();
        assert_eq!(found, Some(i as u64), "leaf {i}");
        let mut sibling = leaf;
        sibling[31] ^= 1;
        let found = reading(db, move |tx| {
            Box::pin(async move { Ok(tx.leaf_index(&sibling).await?) })
        })
        .await
        .unwrap();
        assert_eq!(found, None, "a hash sharing leaf {i}'s key");
    }
}

#[tokio::test]
async fn sqlite_log_entries_stored_before_leaf_key_are_found_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db").to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&path).unwrap();
    migrate_before(&mut conn, SQLITE_MIGRATIONS, LEAF_KEY);
    store_old_entries!(
        &mut conn,
        "INSERT INTO log_entries (log_index, agent_id, seq, receipt_hash, leaf_hash) \
         VALUES (?1, 'agent', ?2, ?3, ?4)"
    );
    drop(conn);
    let db = Db::connect(&DbConfig::Sqlite(path)).await.unwrap();
    leaves_are_found_by_hash(&db).await;
    drop(db);
}

#[tokio::test]
async fn postgres_log_entries_stored_before_leaf_key_are_found_by_hash() {
    let Some(config) = crate::testing::postgres_schema().await else {
        eprintln!("TEST_DATABASE_URL unset: the PostgreSQL upgrade case not run");
        return;
    };
    let DbConfig::Postgres { url, .. } = config.clone() else {
        unreachable!("a PostgreSQL config")
    };
    tokio::task::spawn_blocking(move || {
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url).unwrap();
        migrate_before(&mut conn, PG_MIGRATIONS, LEAF_KEY);
        store_old_entries!(
            &mut conn,
            "INSERT INTO log_entries (log_index, agent_id, seq, receipt_hash, leaf_hash) \
             VALUES ($1, 'agent', $2, $3, $4)"
        );
    })
    .await
    .unwrap();
    let db = Db::connect(&config).await.unwrap();
    leaves_are_found_by_hash(&db).await;
}
