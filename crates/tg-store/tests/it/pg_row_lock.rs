//! PostgreSQL's row lock on an agent: a writer that takes `locked_snapshot` while another
//! transaction holds the lock waits for it, and then reads what that transaction
//! committed. (On SQLite the one writer serialises every transaction; nothing waits.)

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tg_core::AccountId;
use tg_service::{TrustState, in_transaction};
use tokio::sync::oneshot;

use crate::cases::{agent, first_policy, state};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Backends of this database waiting for a lock in a `FOR UPDATE` statement.
async fn lock_waiters(conn: &mut AsyncPgConnection) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock' \
         AND query LIKE '%FOR UPDATE%'",
    )
    .get_result::<Count>(conn)
    .await
    .unwrap()
    .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_snapshot_waits_for_the_holder_and_reads_its_commit() {
    let Some((db, _)) = tg_store::testing::postgres().await else {
        eprintln!("TEST_DATABASE_URL unset: a PostgreSQL-only test not run");
        return;
    };
    let a = agent(&AccountId::generate(), "locked", None);
    let id = a.id.clone();
    let (a2, st) = (a.clone(), state(&id));
    in_transaction(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a2).await?;
            Ok(tx.insert_trust(&st).await?)
        })
    })
    .await
    .unwrap();

    // The holder: takes the lock, says so, and on `go` changes the state and the policy
    // before it commits.
    let (locked, is_locked) = oneshot::channel();
    let (go, wait_go) = oneshot::channel::<()>();
    let holder = {
        let (db, id) = (db.clone(), id.clone());
        tokio::spawn(async move {
            in_transaction(&db, move |tx| {
                Box::pin(async move {
                    let (_, before, _) = tx.locked_snapshot(&id).await?.unwrap();
                    locked.send(()).unwrap();
                    wait_go.await.unwrap();
                    tx.update_trust(&TrustState {
                        history_seq: before.history_seq + 5,
                        ..before
                    })
                    .await?;
                    Ok(tx.save_policy_document(&first_policy()).await?)
                })
            })
            .await
        })
    };
    is_locked.await.unwrap();

    // The waiter: its snapshot must be taken after the holder's commit.
    let waiter = {
        let (db, id) = (db.clone(), id.clone());
        tokio::spawn(async move {
            in_transaction(&db, move |tx| {
                Box::pin(async move { Ok(tx.locked_snapshot(&id).await?.unwrap()) })
            })
            .await
        })
    };
    // Let the holder go only once the waiter waits on the lock (or has already answered,
    // which it must not: the assertions below then fail).
    let url = tg_store::testing::postgres_url().unwrap();
    let mut watch = AsyncPgConnection::establish(&url).await.unwrap();
    while lock_waiters(&mut watch).await == 0 && !waiter.is_finished() {
        tokio::task::yield_now().await;
    }
    go.send(()).unwrap();
    holder.await.unwrap().unwrap();
    let (_, seen, policy_version) = waiter.await.unwrap().unwrap();
    assert_eq!(seen.history_seq, 5, "the state the holder committed");
    assert_eq!(seen.version, 1, "the state version the holder raised");
    assert_eq!(policy_version, 1, "the policy version the holder saved");
}
