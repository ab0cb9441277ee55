use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, start};

/// The audit trail: every operation's event with its fields, period and type filters,
/// cursor paging, JSON and CSV exports that agree with each other and with the summary,
/// and no reading another account's trail.
pub async fn audit_trail_query_and_exports(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("audited").await;
    for r in ["success", "failure", "success"] {
        s.record(&id, "read_data", r).await;
    }
    for _ in 0..2 {
        s.post("/trust/verify", json!({"agent_id": id, "min_score": 1}))
            .await;
    }
    s.post(&format!("/agents/{id}/token"), json!({})).await;
    s.post(
        "/authorize",
        json!({"agent_id": id, "action": "delete_database"}),
    )
    .await;

    let (status, page) = s.get(&format!("/agents/{id}/audit")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["events"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types[..7],
        [
            "agent_registered",
            "receipt_recorded",
            "receipt_recorded",
            "receipt_recorded",
            "trust_check",
            "trust_check",
            "token_issued"
        ]
    );
    // One decision call: its trust check and its denial share a timestamp.
    let mut last: Vec<&str> = types[7..].to_vec();
    last.sort_unstable();
    assert_eq!(last, ["authorization_denied", "trust_check"]);
    for e in events {
        assert!(e["event_id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(e["agent_id"], id.as_str());
        assert_eq!(
            e["api_key_prefix"], "env:API_KEY",
            "the environment key's characters are never recorded"
        );
        let ip_hash = e["ip_hash"].as_str().unwrap();
        assert_eq!(ip_hash.len(), 32);
        assert!(!ip_hash.contains("127.0.0.1"));
        // The address the connection came from, hashed once when it opened.
        assert_eq!(ip_hash, s.gateway.ip_hash("127.0.0.1"));
    }
    assert_eq!(events[1]["details"]["seq"], 1);
    let denial = events
        .iter()
        .find(|e| e["event_type"] == "authorization_denied")
        .unwrap();
    assert_eq!(denial["details"]["reason"], "Insufficient trust tier");
    let check = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "trust_check")
        .unwrap();
    assert_eq!(
        check["details"]["decisions"],
        json!([{"action": "delete_database", "allowed": false}])
    );
    // The decision's numbers and the caller's account, and nothing else.
    let details = check["details"].as_object().unwrap();
    let mut keys: Vec<&str> = details.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "caller_account",
            "current_score",
            "current_tier",
            "decisions"
        ]
    );
    assert!(check["details"]["current_tier"].is_u64());
    assert!(check["details"]["current_score"].is_f64());
    assert!(
        check["details"]["caller_account"]
            .as_str()
            .unwrap()
            .starts_with("acct_")
    );
    // A trust read's check: its threshold, score and verdict.
    let read = events
        .iter()
        .find(|e| e["event_type"] == "trust_check")
        .unwrap();
    let mut keys: Vec<&str> = read["details"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["error", "joy_score", "meets_threshold", "threshold"]);

    // Type filter, paging, periods.
    let (_, page) = s
        .get(&format!("/agents/{id}/audit?type=receipt_recorded&limit=2"))
        .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = s
        .get(&format!(
            "/agents/{id}/audit?type=receipt_recorded&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert_eq!(rest["events"][0]["details"]["seq"], 3);
    assert_eq!(rest["next_cursor"], Value::Null);
    let (_, future) = s
        .get(&format!(
            "/agents/{id}/audit?start=2999-01-01&end=2999-12-31"
        ))
        .await;
    assert!(future["events"].as_array().unwrap().is_empty());
    let today = events[0]["timestamp"].as_str().unwrap()[..10].to_owned();
    let (_, whole_day) = s
        .get(&format!("/agents/{id}/audit?start={today}&end={today}"))
        .await;
    assert_eq!(
        whole_day["events"].as_array().unwrap().len(),
        9,
        "a date as `end` covers its whole day"
    );
    for bad in [
        "start=yesterday",
        "start=2026-02-01&end=2026-01-01",
        "type=gossip",
        "limit=0",
        "cursor=zzz",
    ] {
        let (status, body) = s.get(&format!("/agents/{id}/audit?{bad}")).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{bad}: {status} {body}"
        );
    }

    // Exports.
    let (status, export) = s
        .get(&format!("/agents/{id}/audit/export?format=json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let exported = export["events"].as_array().unwrap();
    assert_eq!(exported.len(), 9);
    assert!(export["export_id"].as_str().unwrap().starts_with("export_"));
    assert_eq!(export["agent_id"], id.as_str());
    assert_eq!(export["summary"]["total_events"], 9);
    assert_eq!(export["summary"]["trust_checks_received"], 3);
    let resp = s
        .client
        .get(format!("{}/agents/{id}/audit/export?format=csv", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "event_id",
            "timestamp",
            "event_type",
            "agent_id",
            "ip_hash",
            "api_key_prefix",
            "details_json"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    for (row, e) in rows.iter().zip(exported) {
        assert_eq!(&row[0], e["event_id"].as_str().unwrap());
        assert_eq!(&row[2], e["event_type"].as_str().unwrap());
        assert_eq!(
            serde_json::from_str::<Value>(&row[6]).unwrap(),
            e["details"]
        );
    }
    let (status, _) = s
        .get(&format!("/agents/{id}/audit/export?format=xml"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another account cannot read this trail.
    let (_, acct) = s
        .post("/admin/accounts", json!({"name": "snoop", "plan": "pro"}))
        .await;
    let (_, key) = s
        .post(
            &format!("/admin/accounts/{}/keys", acct["id"].as_str().unwrap()),
            json!({"scope": "read"}),
        )
        .await;
    let key = key["key"].as_str().unwrap();
    for path in [
        format!("/agents/{id}/audit"),
        format!("/agents/{id}/audit/export"),
    ] {
        let resp = s
            .client
            .get(format!("{}{path}", s.base))
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// `GET /admin/audit`: what operators did (keys, accounts, policy, signing keys), paged,
/// filtered, admin only — and never the agents' own events.
pub async fn the_gateway_trail_records_operator_actions(backend: Backend) {
    use reqwest::Method;
    let s = start(backend).await;
    let agent = s.register("bystander").await;
    s.record(&agent, "read_data", "success").await;
    let (_, acme) = s
        .post("/admin/accounts", json!({"name": "acme", "plan": "pro"}))
        .await;
    let acme = acme["id"].as_str().unwrap().to_owned();
    let key = crate::accounts::new_key(&s, &acme, "read").await;
    let (status, _) = s.put("/tiers/1", json!({"name": "Probation"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.post("/admin/signing-keys", json!(null)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, page) = s.get("/admin/audit").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let types: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for expected in ["api_key_created", "policy_changed", "signing_key_rotated"] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    assert!(
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["agent_id"].is_null()),
        "no agent's events: {page}"
    );
    assert!(!types.contains(&"agent_registered"));

    // Filtered by type, and paged one event at a time to the end.
    let (_, rotated) = s.get("/admin/audit?type=signing_key_rotated").await;
    assert_eq!(rotated["events"].as_array().unwrap().len(), 1);
    let mut seen = Vec::new();
    let mut path = "/admin/audit?limit=1".to_owned();
    loop {
        let (status, p) = s.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{p}");
        seen.extend(p["events"].as_array().unwrap().iter().cloned());
        match p["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/audit?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, *page["events"].as_array().unwrap());

    let (status, e) = s.get("/admin/audit?type=nonsense").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, e) = crate::accounts::as_key(&s, &key, Method::GET, "/admin/audit", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
}
