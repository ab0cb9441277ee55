//! Records for one agent that queue before its batch holds the row lock are appended
//! together in that batch (issue 14, part 3), each answered on its own.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tg_service::BatchBasis;
use tg_store::DbConfig;

use crate::support::{Backend, Server, start};

/// Holds the agent's row lock from another connection, as another instance's writer
/// would, until `release`.
struct RowLock(diesel_async::AsyncPgConnection);

impl RowLock {
    async fn take(db: &DbConfig, agent: &str) -> RowLock {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let DbConfig::Postgres { url, .. } = db else {
            panic!("a row lock needs PostgreSQL");
        };
        let mut c = diesel_async::AsyncPgConnection::establish(url)
            .await
            .unwrap();
        diesel::sql_query("BEGIN").execute(&mut c).await.unwrap();
        let n = diesel::sql_query(format!(
            "SELECT id FROM agents WHERE id = '{agent}' FOR UPDATE"
        ))
        .execute(&mut c)
        .await
        .unwrap();
        assert_eq!(n, 1);
        RowLock(c)
    }

    async fn release(mut self) {
        use diesel_async::RunQueryDsl;
        diesel::sql_query("COMMIT")
            .execute(&mut self.0)
            .await
            .unwrap();
    }
}

/// Waits (yielding, no timer) until the gateway shows `running` agents with `waiting`
/// calls queued and not yet taken by a batch.
async fn until_queued(s: &Server, running: usize, waiting: usize) {
    while s.gateway.record_batches_running() != running || s.gateway.records_waiting() != waiting {
        tokio::task::yield_now().await;
    }
}

fn report(
    s: &Arc<Server>,
    key: &str,
    agent: &str,
    result: &str,
    token: Option<&str>,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let (s, key, agent, result) = (
        Arc::clone(s),
        key.to_owned(),
        agent.to_owned(),
        result.to_owned(),
    );
    let token = token.map(str::to_owned);
    tokio::spawn(async move {
        s.record_as(&key, &agent, "read_data", &result, token.as_deref())
            .await
    })
}

/// While one record's batch waits for the agent's row lock (held by another connection,
/// as another instance's writer would hold it), three more queue behind it, and they commit
/// together once it is done. The first batch began from this instance's memory of the
/// agent (its last batch here) and waited for the lock inside its one guarded statement;
/// the next, holding a witness's token and a violation, runs under the row lock. In that
/// batch a witness's eleventh report with one token is refused (the tenth, earlier in the
/// same batch, counts) and the reports around it still append, in arrival order, on one
/// chain that verifies. (PostgreSQL: a row lock another connection holds is what makes the
/// queue form at a known point; on SQLite the concurrent-writers test and the coalescer's
/// own tests cover the batching.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_records_queued_behind_a_lock_append_together() {
    if tg_store::testing::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    }
    let s = Arc::new(start(Backend::Postgres).await);
    let (_, tenant) = s.tenant("batched").await;
    let agent = s.register_as(&tenant, "busy").await;
    let token = s.token_as(&tenant, &agent).await;
    for _ in 0..9 {
        let (status, r) = s
            .record_as(&s.key, &agent, "read_data", "success", Some(&token))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    let batches = |basis| s.gateway.metrics().record_batches(basis);
    // A witness's report reads its token's uses: under the lock.
    assert_eq!(batches(BatchBasis::locked), 9);
    assert_eq!(batches(BatchBasis::memory), 0);

    let lock = RowLock::take(&s.db, &agent).await;
    // The first batch takes its one report at once and waits on the lock in the database;
    // the next three queue behind it on this instance.
    let first = report(&s, &tenant, &agent, "success", None);
    until_queued(&s, 1, 0).await;
    let tenth = report(&s, &s.key, &agent, "success", Some(&token));
    until_queued(&s, 1, 1).await;
    let eleventh = report(&s, &s.key, &agent, "success", Some(&token));
    until_queued(&s, 1, 2).await;
    let violation = report(&s, &tenant, &agent, "violation", None);
    until_queued(&s, 1, 3).await;
    lock.release().await;

    let (status, first) = first.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, tenth) = tenth.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{tenth}");
    let (status, eleventh) = eleventh.await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{eleventh}");
    assert!(
        eleventh["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("10 reports"),
        "{eleventh}"
    );
    let (status, violation) = violation.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{violation}");
    until_queued(&s, 0, 0).await;

    // Arrival order on the chain; each answer carries its own receipt and score move.
    assert_eq!(first["seq"], 10);
    assert_eq!(tenth["seq"], 11);
    assert_eq!(tenth["provenance"], "witnessed");
    assert_eq!(violation["seq"], 12);
    assert_eq!(violation["result"], "violation");
    assert_eq!(tenth["prev_hash"], first["receipt_hash"]);
    assert_eq!(violation["prev_hash"], tenth["receipt_hash"]);
    let score = |v: &Value, k: &str| v[k].as_f64().unwrap();
    assert!(
        score(&violation, "new_score") < score(&violation, "previous_score"),
        "{violation}"
    );
    let (_, v) = s.get(&format!("/receipts/{agent}/verify")).await;
    assert_eq!(
        v,
        json!({"valid": true, "length": 12, "first_broken_seq": null, "reason": null})
    );
    let (_, card) = s.get(&format!("/agents/{agent}/card")).await;
    assert_eq!(card["total_actions"], 12, "{card}");
    // The first from memory, the three others in one batch under the lock.
    assert_eq!(batches(BatchBasis::memory), 1);
    assert_eq!(batches(BatchBasis::locked), 10);
    assert_eq!(batches(BatchBasis::moved), 0);
    // One audit event per appended receipt, none for the refused report.
    let (_, trail) = s
        .get(&format!(
            "/agents/{agent}/audit?type=receipt_recorded&limit=100"
        ))
        .await;
    assert_eq!(
        trail["events"].as_array().map(Vec::len),
        Some(12),
        "{trail}"
    );
}
