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

type PgConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// A SQLite file migrated to just before the migration named `before…`, given its rows by
/// `store`, then upgraded by [`Db::connect`]. The file lives as long as the directory.
async fn sqlite_upgraded(
    before: &str,
    store: impl FnOnce(&mut SqliteConnection),
) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db").to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&path).unwrap();
    migrate_before(&mut conn, SQLITE_MIGRATIONS, before);
    store(&mut conn);
    drop(conn);
    let db = Db::connect(&DbConfig::Sqlite(path)).await.unwrap();
    (dir, db)
}

/// The same in a fresh PostgreSQL schema; `None` without `TEST_DATABASE_URL`.
async fn postgres_upgraded(
    before: &'static str,
    store: impl FnOnce(&mut PgConn) + Send + 'static,
) -> Option<Db> {
    let Some(config) = crate::testing::postgres_schema().await else {
        eprintln!("TEST_DATABASE_URL unset: the PostgreSQL upgrade case not run");
        return None;
    };
    let DbConfig::Postgres { url, .. } = config.clone() else {
        unreachable!("a PostgreSQL config")
    };
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConn::establish(&url).unwrap();
        migrate_before(&mut conn, PG_MIGRATIONS, before);
        store(&mut conn);
    })
    .await
    .unwrap();
    Some(Db::connect(&config).await.unwrap())
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

/// Where each of [`leaves`] is stored: both sides of the first epochs' bounds (migration
/// 000025 indexes leaves by `log_index / 65536`) and one far on.
const LEAF_INDEXES: [u64; 5] = [0, 65_535, 65_536, 200_000, 1_000_000];

/// Stores each leaf on `$conn` as the schema before `leaf_key` did (`$sql` in the
/// backend's placeholders).
macro_rules! store_old_entries {
    ($conn:expr, $sql:expr) => {
        for (i, leaf) in leaves().iter().enumerate() {
            let at = LEAF_INDEXES[i] as i64;
            let i = i as i64;
            diesel::sql_query($sql)
                .bind::<BigInt, _>(at)
                .bind::<BigInt, _>(i + 1)
                .bind::<Binary, _>(vec![i as u8; 32])
                .bind::<Binary, _>(leaf.to_vec())
                .execute($conn)
                .unwrap();
        }
    };
}

/// Every stored leaf is found by its hash in a tree that holds it, in whichever epoch;
/// a hash sharing only the first 8 bytes is not.
async fn leaves_are_found_by_hash(db: &Db) {
    const SIZE: u64 = 1_000_001;
    for (i, leaf) in leaves().into_iter().enumerate() {
        let found = reading(db, move |tx| {
            Box::pin(async move { Ok(tx.leaf_index(&leaf, SIZE).await?) })
        })
        .await
        .unwrap();
        assert_eq!(found, Some(LEAF_INDEXES[i]), "leaf {i}");
        let just_holding = LEAF_INDEXES[i] + 1;
        let found = reading(db, move |tx| {
            Box::pin(async move { Ok(tx.leaf_index(&leaf, just_holding).await?) })
        })
        .await
        .unwrap();
        assert_eq!(
            found,
            Some(LEAF_INDEXES[i]),
            "leaf {i}, the last of the tree"
        );
        let mut sibling = leaf;
        sibling[31] ^= 1;
        let found = reading(db, move |tx| {
            Box::pin(async move { Ok(tx.leaf_index(&sibling, SIZE).await?) })
        })
        .await
        .unwrap();
        assert_eq!(found, None, "a hash sharing leaf {i}'s key");
    }
}

#[tokio::test]
async fn sqlite_log_entries_stored_before_leaf_key_are_found_by_hash() {
    let (_dir, db) = sqlite_upgraded(LEAF_KEY, |conn| {
        store_old_entries!(
            conn,
            "INSERT INTO log_entries (log_index, agent_id, seq, receipt_hash, leaf_hash) \
             VALUES (?1, 'agent', ?2, ?3, ?4)"
        );
    })
    .await;
    leaves_are_found_by_hash(&db).await;
}

#[tokio::test]
async fn postgres_log_entries_stored_before_leaf_key_are_found_by_hash() {
    let Some(db) = postgres_upgraded(LEAF_KEY, |conn| {
        store_old_entries!(
            conn,
            "INSERT INTO log_entries (log_index, agent_id, seq, receipt_hash, leaf_hash) \
             VALUES ($1, 'agent', $2, $3, $4)"
        );
    })
    .await
    else {
        return;
    };
    leaves_are_found_by_hash(&db).await;
}

const LOG_QUEUE: &str = "2026-12-05-000021";
const OLD_AGENT: &str = "ag_0123456789abcdef01234567";

/// Stores three receipts of [`OLD_AGENT`] on `$conn` as the schema before `log_queue` did:
/// seq 1 and 2 integrated (a `log_index` and the log's entry), seq 3 not yet. `$receipt` and
/// `$entry` are the inserts in the backend's placeholders: (seq, ts, log_index or NULL,
/// hash) and (log_index, seq, hash, leaf hash).
macro_rules! store_old_receipts {
    ($conn:expr, $receipt:expr, $entry:expr) => {
        for (seq, index) in [(1i64, Some(0i64)), (2, Some(1)), (3, None)] {
            let hash = vec![seq as u8; 32];
            diesel::sql_query($receipt)
                .bind::<BigInt, _>(seq)
                .bind::<BigInt, _>(1_000 + seq)
                .bind::<diesel::sql_types::Nullable<BigInt>, _>(index)
                .bind::<Binary, _>(hash.clone())
                .execute($conn)
                .unwrap();
            if let Some(index) = index {
                let leaf = leaf_hash(&[seq as u8; 32]);
                diesel::sql_query($entry)
                    .bind::<BigInt, _>(index)
                    .bind::<BigInt, _>(seq)
                    .bind::<Binary, _>(hash)
                    .bind::<Binary, _>(leaf.to_vec())
                    .execute($conn)
                    .unwrap();
            }
        }
    };
}

/// After the upgrade the sequencer's queue holds exactly the receipt that had no log index,
/// and the receipts read back with the indexes they had.
async fn only_the_unlogged_receipt_is_queued(db: &Db) {
    let queued = reading(db, |tx| {
        Box::pin(async move { Ok(tx.unlogged_receipts(10).await?) })
    })
    .await
    .unwrap();
    let queued: Vec<(String, u64)> = queued
        .into_iter()
        .map(|e| (e.agent_id.to_string(), e.seq))
        .collect();
    assert_eq!(queued, vec![(OLD_AGENT.to_owned(), 3)]);
    let agent = tg_core::AgentId::parse(OLD_AGENT).unwrap();
    let receipts = reading(db, move |tx| {
        Box::pin(async move { Ok(tx.scan_receipts(&agent, 0, 10).await?) })
    })
    .await
    .unwrap();
    let indexes: Vec<(u64, Option<u64>)> = receipts.iter().map(|r| (r.seq, r.log_index)).collect();
    assert_eq!(indexes, vec![(1, Some(0)), (2, Some(1)), (3, None)]);
}

const OLD_RECEIPT_COLUMNS: &str = "agent_id, seq, id, action, result, ts, prev_hash, \
     receipt_hash, signature, key_id, log_index";

#[tokio::test]
async fn sqlite_receipts_stored_before_log_queue_keep_their_place_in_the_log() {
    let (_dir, db) = sqlite_upgraded(LOG_QUEUE, |conn| {
        store_old_receipts!(
            conn,
            &format!(
                "INSERT INTO receipts ({OLD_RECEIPT_COLUMNS}) VALUES ('{OLD_AGENT}', ?1, \
                 'rcpt_' || printf('%024x', ?1), 'read', 'success', ?2, zeroblob(32), ?4, \
                 zeroblob(32), 'k', ?3)"
            ),
            &format!(
                "INSERT INTO log_entries \
                 (log_index, agent_id, seq, receipt_hash, leaf_hash, leaf_key) \
                 VALUES (?1, '{OLD_AGENT}', ?2, ?3, ?4, 0)"
            )
        );
    })
    .await;
    only_the_unlogged_receipt_is_queued(&db).await;
}

#[tokio::test]
async fn postgres_receipts_stored_before_log_queue_keep_their_place_in_the_log() {
    let Some(db) = postgres_upgraded(LOG_QUEUE, |conn| {
        store_old_receipts!(
            conn,
            &format!(
                "INSERT INTO receipts ({OLD_RECEIPT_COLUMNS}) VALUES ('{OLD_AGENT}', $1, \
                 'rcpt_' || lpad(to_hex($1), 24, '0'), 'read', 'success', $2, \
                 decode(repeat('00', 32), 'hex'), $4, decode(repeat('00', 32), 'hex'), 'k', $3)"
            ),
            &format!(
                "INSERT INTO log_entries \
                 (log_index, agent_id, seq, receipt_hash, leaf_hash, leaf_key) \
                 VALUES ($1, '{OLD_AGENT}', $2, $3, $4, 0)"
            )
        );
    })
    .await
    else {
        return;
    };
    only_the_unlogged_receipt_is_queued(&db).await;
}

const OUTBOX_QUEUE: &str = "2026-12-05-000022";
const OLD_EVENT: &str = "INSERT INTO event_outbox \
     (id, kind, account_id, agent_id, payload, created_at, fanned_out) \
     VALUES ('evt_' || ";

/// Two outbox events stored as the schema before `outbox_queue` did: `evt_1` fanned out,
/// `evt_2` not yet (`$fanned` and `$pending` are the backend's booleans).
fn old_events(fanned: &str, pending: &str) -> Vec<String> {
    [(1, fanned), (2, pending)]
        .into_iter()
        .map(|(n, flag)| {
            format!("{OLD_EVENT}'{n}', 'agent_registered', NULL, NULL, '{{}}', {n}, {flag})")
        })
        .collect()
}

/// One fan-out pass, in its own transaction.
async fn fan_out_pass(db: &Db) -> Vec<tg_webhooks::OutboxEvent> {
    let admin = tg_core::AccountId::generate();
    tg_service::in_transaction(db, move |tx| {
        Box::pin(async move {
            Ok(tx
                .fan_out(&admin, tg_core::Timestamp::from_micros(9), 10)
                .await?)
        })
    })
    .await
    .unwrap()
}

/// After the upgrade the fan-out's next pass routes exactly the event not fanned out, and
/// the pass after it nothing.
async fn only_the_pending_event_is_fanned_out(db: &Db) {
    let ids: Vec<String> = fan_out_pass(db).await.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, vec!["evt_2"]);
    let again = fan_out_pass(db).await;
    assert!(again.is_empty(), "fanned out twice: {again:?}");
}

#[tokio::test]
async fn sqlite_outbox_events_stored_before_outbox_queue_are_fanned_out_once() {
    let (_dir, db) = sqlite_upgraded(OUTBOX_QUEUE, |conn| {
        for sql in old_events("1", "0") {
            diesel::sql_query(sql).execute(conn).unwrap();
        }
    })
    .await;
    only_the_pending_event_is_fanned_out(&db).await;
}

#[tokio::test]
async fn postgres_outbox_events_stored_before_outbox_queue_are_fanned_out_once() {
    let Some(db) = postgres_upgraded(OUTBOX_QUEUE, |conn| {
        for sql in old_events("true", "false") {
            diesel::sql_query(sql).execute(conn).unwrap();
        }
    })
    .await
    else {
        return;
    };
    only_the_pending_event_is_fanned_out(&db).await;
}
