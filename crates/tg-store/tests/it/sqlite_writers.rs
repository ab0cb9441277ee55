//! A SQLite file is shared with other processes (the command line writes it while the
//! server runs): a unit of work must not fail because another writer came between its
//! read and its write.

use diesel::{Connection, RunQueryDsl, SqliteConnection};
use tg_core::AccountId;
use tg_service::in_transaction;
use tg_store::{Db, DbConfig};
use tokio::sync::oneshot;

use crate::cases::agent;

/// Another process's write, with no busy wait: `Err` when the file's write lock is held.
fn write_from_another_process(path: &str) -> Result<usize, diesel::result::Error> {
    let mut c = SqliteConnection::establish(path).unwrap();
    diesel::sql_query("PRAGMA busy_timeout = 0").execute(&mut c)?;
    diesel::sql_query("CREATE TABLE another_process (x INTEGER)").execute(&mut c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_of_work_holds_the_write_lock_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db").to_string_lossy().into_owned();
    let db = Db::connect(&DbConfig::Sqlite(path.clone())).await.unwrap();
    let a = agent(&AccountId::generate(), "writer", None);
    let id = a.id.clone();

    let (has_read, read) = oneshot::channel();
    let (go, may_write) = oneshot::channel::<()>();
    let unit = tokio::spawn({
        let db = db.clone();
        async move {
            in_transaction(&db, move |tx| {
                Box::pin(async move {
                    let before = tx.get_agent(&id).await?;
                    has_read.send(()).unwrap();
                    may_write.await.unwrap();
                    tx.insert_agent(&a).await?;
                    Ok(before)
                })
            })
            .await
        }
    });
    read.await.unwrap();
    // The unit of work has read and not yet written. Another process writing now must
    // find the file locked; had it got in, the unit's write would meet a snapshot that
    // is no longer the newest and fail with "database is locked".
    let other = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || write_from_another_process(&path))
            .await
            .unwrap()
    };
    let locked = other.expect_err("another process wrote inside the unit of work");
    assert!(locked.to_string().contains("locked"), "{locked}");
    go.send(()).unwrap();
    assert_eq!(unit.await.unwrap(), Ok(None));

    // Once it has committed, the other process writes as usual.
    tokio::task::spawn_blocking(move || write_from_another_process(&path))
        .await
        .unwrap()
        .unwrap();
}
