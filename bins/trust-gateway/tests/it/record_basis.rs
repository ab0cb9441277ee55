//! A batch of records begun from the instance's memory of the agent (the agent as its last
//! batch there left it) commits only while that memory is current. A record on another
//! instance, a revocation there, or an edit of the agent's row by hand sends the batch to
//! the row lock, where it is decided again on what is stored; the chain stays one line.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tg_service::BatchBasis;

use crate::support::{Backend, Server, fresh_db, start, start_on, tamper};

/// Batches on `s` that began as `basis`.
fn batches(s: &Server, basis: BatchBasis) -> u64 {
    s.gateway.metrics().record_batches(basis)
}

/// (locked, memory, moved) batches on `s`.
fn bases(s: &Server) -> (u64, u64, u64) {
    (
        batches(s, BatchBasis::locked),
        batches(s, BatchBasis::memory),
        batches(s, BatchBasis::moved),
    )
}

async fn verified(s: &Server, id: &str) -> Value {
    s.get(&format!("/receipts/{id}/verify")).await.1
}

/// Two instances on one PostgreSQL database record for one agent in turn. `a`'s second
/// record commits from memory; after `b` records, `a`'s memory is one receipt behind, its
/// next batch writes nothing from it and appends after `b`'s receipt under the lock. Once
/// `b` revokes the agent, `a`'s next record is refused, though `a` last saw it active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_batch_from_memory_sees_the_other_instances_writes() {
    if tg_store::testing::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    }
    let (db, dir) = fresh_db(Backend::Postgres).await;
    let a = start_on(&db, dir, &[]).await;
    let b = start_on(&db, tempfile::tempdir().unwrap(), &[]).await;
    let id = a.register("shared").await;

    let first = a.record(&id, "call_api", "success").await;
    let second = a.record(&id, "call_api", "success").await;
    assert_eq!(bases(&a), (1, 1, 0), "nothing held, then from memory");
    let third = b.record(&id, "call_api", "success").await;
    let fourth = a.record(&id, "call_api", "success").await;
    assert_eq!(
        bases(&a),
        (1, 1, 1),
        "memory had moved: again under the lock"
    );
    let seqs: Vec<&Value> = [&first, &second, &third, &fourth]
        .iter()
        .map(|r| &r["seq"])
        .collect();
    assert_eq!(seqs, [&json!(1), &json!(2), &json!(3), &json!(4)]);
    assert_eq!(fourth["prev_hash"], third["receipt_hash"]);
    // The state version each answer names is the one its commit raised.
    assert!(fourth["state_version"].as_u64() > third["state_version"].as_u64());

    let (status, body) = b.post(&format!("/agents/{id}/revoke"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = a.record_as(&a.key, &id, "call_api", "success", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(bases(&a), (1, 1, 2));
    assert_eq!(
        verified(&a, &id).await,
        json!({"valid": true, "length": 4, "first_broken_seq": null, "reason": null})
    );
}

/// An edit of the agent's row by hand (not through the gateway, which raises the agent's
/// state version itself) raises the version too: a database trigger does. A batch from
/// memory after it writes nothing and is decided again under the lock, on the edited row.
pub async fn a_batch_from_memory_sees_an_edit_by_hand(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("edited").await;
    s.record(&id, "call_api", "success").await;
    s.record(&id, "call_api", "success").await;
    assert_eq!(bases(&s), (1, 1, 0));

    tamper(
        &s.db,
        &format!("UPDATE agents SET status = 'revoked' WHERE id = '{id}'"),
    )
    .await;
    let (status, body) = s.record_as(&s.key, &id, "call_api", "success", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(bases(&s), (1, 1, 1));
    assert_eq!(
        verified(&s, &id).await,
        json!({"valid": true, "length": 2, "first_broken_seq": null, "reason": null})
    );
}
