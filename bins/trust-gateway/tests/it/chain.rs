use std::sync::Arc;

use serde_json::json;

use crate::support::{Backend, Server, fresh_db, start, start_on, tamper};

const WRITERS: usize = 16;
const EACH: usize = 8;

/// 16 concurrent writers on one agent — through two instances sharing one PostgreSQL, or one
/// instance on SQLite — leave one contiguous chain that verifies.
pub async fn concurrent_writers_leave_one_contiguous_chain(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let a = Arc::new(start_on(&db, dir, &[]).await);
    let b = match backend {
        Backend::Postgres => Arc::new(start_on(&db, tempfile::tempdir().unwrap(), &[]).await),
        Backend::Sqlite => Arc::clone(&a),
    };
    let id = a.register("busy").await;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let server: Arc<Server> = if w % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let result = if (w + i) % 5 == 0 {
                    "failure"
                } else {
                    "success"
                };
                server.record(&id, "call_api", result).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = (WRITERS * EACH) as i64;
    let (_, v) = a.get(&format!("/receipts/{id}/verify")).await;
    assert_eq!(
        v,
        json!({"valid": true, "length": total, "first_broken_seq": null, "reason": null})
    );
    let (_, page) = b.get(&format!("/receipts/{id}?limit=1000")).await;
    let seqs: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=total).rev().collect::<Vec<_>>());
    let (_, card) = a.get(&format!("/agents/{id}/card")).await;
    assert_eq!(
        card["total_actions"], total,
        "every receipt counted once in the score state"
    );
}

/// Altering any stored field is caught at the altered link.
pub async fn tampering_is_detected_at_the_right_link(backend: Backend) {
    let s = start(backend).await;
    let table = "receipts";
    let cases: &[(&str, i64, &str)] = &[
        (
            "UPDATE {t} SET action = 'delete_database' WHERE agent_id = '{a}' AND seq = 3",
            3,
            "receipt_hash",
        ),
        (
            "UPDATE {t} SET result = 'success' WHERE agent_id = '{a}' AND seq = 4",
            4,
            "receipt_hash",
        ),
        (
            "UPDATE {t} SET ts = ts + 1 WHERE agent_id = '{a}' AND seq = 2",
            2,
            "receipt_hash",
        ),
        (
            "UPDATE {t} SET reported_at = 0 WHERE agent_id = '{a}' AND seq = 5",
            5,
            "receipt_hash",
        ),
        (
            "UPDATE {t} SET signature = receipt_hash WHERE agent_id = '{a}' AND seq = 1",
            1,
            "signature",
        ),
        (
            "UPDATE {t} SET prev_hash = receipt_hash WHERE agent_id = '{a}' AND seq = 3",
            3,
            "prev_hash",
        ),
        (
            "UPDATE {t} SET key_id = 'hmac-0000' WHERE agent_id = '{a}' AND seq = 2",
            2,
            "unknown key",
        ),
        (
            "DELETE FROM {t} WHERE agent_id = '{a}' AND seq = 3",
            3,
            "expected seq 3",
        ),
        (
            "DELETE FROM {t} WHERE agent_id = '{a}' AND seq = 5",
            5,
            "chain ends at seq 4",
        ),
    ];
    for (sql, broken, reason) in cases {
        let id = s
            .register(&format!("victim-{broken}-{}", reason.len()))
            .await;
        for i in 0..5 {
            s.record(&id, "read_data", if i == 3 { "failure" } else { "success" })
                .await;
        }
        let (_, ok) = s.get(&format!("/receipts/{id}/verify")).await;
        assert_eq!(ok["valid"], true);
        tamper(&s.db, &sql.replace("{t}", table).replace("{a}", &id)).await;
        let (_, v) = s.get(&format!("/receipts/{id}/verify")).await;
        assert_eq!(v["valid"], false, "{sql}: {v}");
        assert_eq!(v["first_broken_seq"], *broken, "{sql}: {v}");
        assert!(v["reason"].as_str().unwrap().contains(reason), "{sql}: {v}");
    }
}

/// `GET /receipts/{id}/export` over more than one page: every receipt in order, then a
/// statement of length and head that verifies with the published key.
pub async fn receipt_exports_are_signed_over_the_whole_chain(backend: Backend) {
    let s = crate::support::start(backend).await;
    let id = s.register("exported").await;
    for i in 0..1005 {
        s.record(
            &id,
            "read_data",
            if i % 7 == 0 { "failure" } else { "success" },
        )
        .await;
    }
    let r = s.fetch(&format!("/receipts/{id}/export")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("receipts-{id}.json"))
    );
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["format"], "trust-gateway/receipts/v1");
    let receipts = doc["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 1005);
    assert!(
        receipts
            .iter()
            .enumerate()
            .all(|(i, r)| r["seq"] == i as u64 + 1)
    );
    let statement: tg_receipts::ExportStatement =
        serde_json::from_value(doc["statement"].clone()).unwrap();
    assert_eq!(statement.length, 1005);
    assert_eq!(statement.agent_id, id);
    assert_eq!(
        statement.head_hash,
        receipts[1004]["receipt_hash"].as_str().unwrap()
    );
    let (_, jwks) = s.get("/.well-known/jwks.json").await;
    let jws = tg_tokens::DetachedJws {
        protected: doc["signature"]["protected"].as_str().unwrap().to_owned(),
        signature: doc["signature"]["signature"].as_str().unwrap().to_owned(),
    };
    let canonical = serde_jcs::to_vec(&statement).unwrap();
    assert!(
        tg_tokens::verify_detached(&jwks, &jws, &canonical, tg_tokens::Signed::ExportStatement)
            .is_ok()
    );
    let (status, _) = s.get("/receipts/ag_000000000000000000000000/export").await;
    assert_eq!(status, 404);
}
