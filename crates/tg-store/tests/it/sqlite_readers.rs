//! A SQLite file is served by threads owning its connections: the writer's, and WAL
//! readers that see what was committed before they began, never wait for the writer and
//! cannot write. A unit of work that panics, on either, fails alone.

use std::time::Duration;

use tg_core::{AccountId, AgentId};
use tg_identity::Agent;
use tg_service::{ServiceError, in_transaction, reading};
use tg_store::{Db, DbConfig};
use tokio::sync::oneshot;

use crate::cases::agent;

async fn file_db(dir: &tempfile::TempDir) -> Db {
    let path = dir.path().join("gateway.db").to_string_lossy().into_owned();
    Db::connect(&DbConfig::Sqlite(path)).await.unwrap()
}

async fn insert(db: &Db, a: Agent) -> Result<(), ServiceError> {
    in_transaction(db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a).await?;
            Ok(())
        })
    })
    .await
}

async fn found(db: &Db, id: &AgentId) -> bool {
    let id = id.clone();
    reading(db, move |tx| {
        Box::pin(async move { Ok(tx.get_agent(&id).await?) })
    })
    .await
    .unwrap()
    .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_does_not_wait_for_an_open_write_and_sees_only_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let db = file_db(&dir).await;
    let account = AccountId::generate();
    let committed = agent(&account, "committed", None);
    let pending = agent(&account, "pending", None);
    let (committed_id, pending_id) = (committed.id.clone(), pending.id.clone());
    insert(&db, committed).await.unwrap();

    let (wrote, has_written) = oneshot::channel();
    let (go, may_commit) = oneshot::channel::<()>();
    let unit = tokio::spawn({
        let db = db.clone();
        async move {
            in_transaction(&db, move |tx| {
                Box::pin(async move {
                    tx.insert_agent(&pending).await?;
                    wrote.send(()).unwrap();
                    may_commit.await.unwrap();
                    Ok(())
                })
            })
            .await
        }
    });
    has_written.await.unwrap();
    // The writer is inside its transaction, and commits only when this test says so. A
    // read that waited for the writer would wait for ever: the guard turns that into a
    // failure.
    let read = async {
        (
            found(&db, &committed_id).await,
            found(&db, &pending_id).await,
        )
    };
    let seen = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("a read waited for the open write transaction");
    assert_eq!(
        seen,
        (true, false),
        "(committed, uncommitted) seen by a read"
    );

    go.send(()).unwrap();
    unit.await.unwrap().unwrap();
    assert!(
        found(&db, &pending_id).await,
        "a read after the commit sees it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = file_db(&dir).await;
    let a = agent(&AccountId::generate(), "sneaky", None);
    let id = a.id.clone();
    let refused = reading(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a).await?;
            Ok(())
        })
    })
    .await
    .expect_err("a read-only unit of work wrote");
    // The database's own words are the cause, under the use case's context.
    let chain = tg_core::ErrorChain(&refused).to_string();
    assert!(chain.contains("readonly"), "{chain}");
    assert!(!found(&db, &id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_panics_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = file_db(&dir).await;
    let a = agent(&AccountId::generate(), "survivor", None);
    let id = a.id.clone();
    insert(&db, a).await.unwrap();
    // More panics than there are readers (at most four): had one taken its reader down,
    // no reader would be left for the read after them.
    for _ in 0..5 {
        let failed = reading(&db, |_tx| {
            Box::pin(async move {
                if true {
                    panic!("a bug in a read");
                }
                Ok(())
            })
        })
        .await
        .expect_err("a panic is an error");
        assert!(
            matches!(failed, ServiceError::Internal { .. }),
            "{failed:?}"
        );
    }
    assert!(found(&db, &id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_panics_inside_its_transaction_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = file_db(&dir).await;
    let account = AccountId::generate();
    let lost = agent(&account, "lost", None);
    let lost_id = lost.id.clone();
    let failed = in_transaction(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&lost).await?;
            if true {
                panic!("a bug after a write");
            }
            Ok(())
        })
    })
    .await
    .expect_err("a panic is an error");
    assert!(
        matches!(failed, ServiceError::Internal { .. }),
        "{failed:?}"
    );
    // The transaction was rolled back, and the writer begins the next one as usual.
    assert!(
        !found(&db, &lost_id).await,
        "a panicked unit's write was kept"
    );
    let kept = agent(&account, "kept", None);
    let kept_id = kept.id.clone();
    insert(&db, kept).await.unwrap();
    assert!(found(&db, &kept_id).await);
}
