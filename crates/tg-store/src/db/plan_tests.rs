//! SQLite plans a statement once, whatever its parameters are bound to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel_async::RunQueryDsl;

use super::Backend;
use crate::{Db, DbConfig};

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
    let db = Db::connect(&DbConfig::Sqlite(":memory:".into()))
        .await
        .unwrap();
    let Backend::Sqlite(sqlite) = &db.backend else {
        panic!("a SQLite store")
    };
    let options: Vec<String> = sqlite
        .writer
        .call(|conn, runtime| {
            runtime
                .block_on(diesel::sql_query("PRAGMA compile_options").load::<CompileOption>(conn))
        })
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|o| o.compile_options)
        .collect();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "compile options: {options:?}"
    );
}
