//! SQLite plans a statement once, whatever its parameters are bound to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel_async::RunQueryDsl;

use super::Backend;
use crate::{Db, DbConfig};

/// `sql`'s rows, run on the writer of a fresh in-memory SQLite store.
pub(super) async fn sqlite_rows<T>(sql: String) -> Vec<T>
where
    T: diesel::QueryableByName<diesel::sqlite::Sqlite> + Send + 'static,
{
    let db = Db::connect(&DbConfig::Sqlite(":memory:".into()))
        .await
        .unwrap();
    let Backend::Sqlite(sqlite) = &db.backend else {
        panic!("a SQLite store")
    };
    sqlite
        .writer
        .call(move |conn, runtime| runtime.block_on(diesel::sql_query(sql).load::<T>(conn)))
        .await
        .unwrap()
        .unwrap()
}

#[derive(diesel::QueryableByName)]
struct CompileOption {
    #[diesel(sql_type = diesel::sql_types::Text)]
    compile_options: String,
}

/// Without the query planner stability guarantee, SQLite 3.53 plans `LIMIT ?` for the
/// value bound, so every statement diesel writes with a limit (each `.first()`) is
/// prepared again whenever it runs. `.cargo/config.toml` builds the bundled SQLite with
/// it on (`LIBSQLITE3_FLAGS`); a build that lost that setting fails here.
#[tokio::test]
async fn sqlite_is_built_with_the_query_planner_stability_guarantee() {
    let options: Vec<String> = sqlite_rows::<CompileOption>("PRAGMA compile_options".into())
        .await
        .into_iter()
        .map(|o| o.compile_options)
        .collect();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "compile options: {options:?}"
    );
}

/// diesel keeps no UPDATE in its statement cache, so one it runs as it stands is parsed
/// and planned on every call. The agent's state update runs once per recorded batch, on
/// SQLite's one writer: it is kept prepared by its text ([`crate::conn::FixedText`]).
#[tokio::test]
async fn the_trust_state_updates_stay_prepared() {
    use std::sync::{Arc, Mutex};

    use tg_core::{AgentId, Timestamp};
    use tg_service::{TrustState, in_transaction};

    let db = Db::connect(&DbConfig::Sqlite(":memory:".into()))
        .await
        .unwrap();
    let Backend::Sqlite(sqlite) = &db.backend else {
        panic!("a SQLite store")
    };
    let cached = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = cached.clone();
    sqlite
        .writer
        .call(move |conn, _| {
            diesel_async::AsyncConnection::set_instrumentation(
                conn,
                move |event: diesel::connection::InstrumentationEvent<'_>| {
                    if let diesel::connection::InstrumentationEvent::CacheQuery { sql, .. } = event
                    {
                        seen.lock().unwrap().push(sql.to_owned());
                    }
                },
            );
        })
        .await
        .unwrap();
    let state = TrustState::new(AgentId::generate(), Timestamp::from_micros(0));
    for _ in 0..3 {
        let (s, id) = (state.clone(), state.agent_id.clone());
        // No such agent: each update finds no row, but each statement runs.
        let refused = in_transaction(&db, move |tx| {
            Box::pin(async move {
                let updated = tx.update_trust(&s).await;
                let bumped = tx.bump_state(&id).await;
                assert!(updated.is_err() && bumped.is_err(), "no such agent");
                Ok(())
            })
        })
        .await;
        refused.unwrap();
    }
    let cached = cached.lock().unwrap();
    let updates: Vec<&String> = cached
        .iter()
        .filter(|sql| sql.starts_with("UPDATE `agent_trust`"))
        .collect();
    assert_eq!(
        updates.len(),
        2,
        "each update prepared once, then kept: {updates:?}"
    );
}
