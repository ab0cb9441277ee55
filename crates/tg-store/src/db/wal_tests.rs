//! A SQLite file's WAL is checkpointed by a thread beside the writer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tg_log::TileId;
use tg_service::in_transaction;

use super::Backend;
use crate::{Db, DbConfig};

#[tokio::test]
async fn a_sqlite_file_is_checkpointed_beside_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db").to_string_lossy().into_owned();
    let db = Db::connect(&DbConfig::Sqlite(path.clone())).await.unwrap();
    let Backend::Sqlite(sqlite) = &db.backend else {
        panic!("a SQLite store")
    };
    assert!(sqlite.checkpointer.is_some());

    // A write of ~400 KiB, far from the 1000 pages at which the writer checkpoints: its
    // pages reach the database file through this thread's checkpoint.
    let before = std::fs::metadata(&path).unwrap().len();
    in_transaction(&db, |tx| {
        Box::pin(async move {
            let tiles: Vec<_> = (0..50)
                .map(|index| (TileId { level: 0, index }, vec![[7u8; 32]; 256]))
                .collect();
            tx.put_tiles(&tiles).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    while std::fs::metadata(&path).unwrap().len() < before + 50 * 8192 {
        tokio::task::yield_now().await;
    }

    // An in-memory database has no WAL and no checkpointer.
    let memory = Db::connect(&DbConfig::Sqlite(":memory:".into()))
        .await
        .unwrap();
    let Backend::Sqlite(sqlite) = &memory.backend else {
        panic!("a SQLite store")
    };
    assert!(sqlite.checkpointer.is_none());
    drop(db);
}
