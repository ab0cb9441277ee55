//! The lookup by leaf hash probes each epoch's part of `log_entries_leaf_epoch`
//! (migration 000025): both stores must match its filter to the index's expression, or
//! every inclusion proof by hash would read the whole log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::plan_tests::sqlite_rows;
use crate::log::{epochs_below, leaf_lookup};
use crate::{Db, DbConfig};

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The query's SQL as the backend is sent it (diesel's debug form, without the binds).
fn sql_of(debug: String) -> String {
    debug
        .split(" -- binds:")
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn sqlite_looks_up_a_leaf_by_the_epoch_index() {
    let leaf = [7u8; 32];
    let query = leaf_lookup!(epochs_below(200_000).unwrap(), &leaf);
    let sql = sql_of(diesel::debug_query::<Sqlite, _>(&query).to_string());
    let plan: Vec<String> = sqlite_rows::<SqlitePlanRow>(format!("EXPLAIN QUERY PLAN {sql}"))
        .await
        .into_iter()
        .map(|r| r.detail)
        .collect();
    assert!(
        plan.iter()
            .any(|d| d.contains("USING INDEX log_entries_leaf_epoch (<expr>=? AND leaf_key=?)")),
        "plan: {plan:?}"
    );
}

#[tokio::test]
async fn postgres_looks_up_a_leaf_by_the_epoch_index() {
    let Some(config) = crate::testing::postgres_schema().await else {
        eprintln!("TEST_DATABASE_URL unset: the PostgreSQL plan case not run");
        return;
    };
    let DbConfig::Postgres { url, .. } = &config else {
        unreachable!("a PostgreSQL config")
    };
    let _migrated = Db::connect(&config).await.unwrap();
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let leaf = [7u8; 32];
    let query = leaf_lookup!(epochs_below(200_000).unwrap(), &leaf);
    let sql = sql_of(diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string());
    // An empty table is read whole whatever the indexes; with sequential scans priced
    // out, only a filter that matches the index's expression can use it.
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(format!("PREPARE leaf_lookup AS {sql}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let plan: Vec<String> = diesel::sql_query(
        "EXPLAIN EXECUTE leaf_lookup('{0,1,2,3}', 1, '\\x0707070707070707070707070707070707070707070707070707070707070707')",
    )
    .load::<PgPlanRow>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.line)
    .collect();
    let text = plan.join("\n");
    assert!(
        text.contains("Index Scan using log_entries_leaf_epoch")
            && text.contains("Index Cond: (((log_index / 65536) = ANY (")
            && text.contains("AND (leaf_key = "),
        "plan:\n{text}"
    );
}
