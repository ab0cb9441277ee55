use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, start};

const TRUST_RESULT_FIELDS: [&str; 16] = [
    "agent_id",
    "agent_name",
    "trust_score",
    "verified",
    "meets_threshold",
    "threshold_used",
    "vouch_count",
    "evidence_count",
    "capabilities",
    "tier",
    "badges",
    "last_activity",
    "withheld",
    "error",
    "provider",
    "provider_version",
];

fn has_every_field(r: &Value) {
    let obj = r.as_object().unwrap();
    for f in TRUST_RESULT_FIELDS {
        assert!(obj.contains_key(f), "TrustResult lacks `{f}`: {r}");
    }
    assert_eq!(obj.len(), TRUST_RESULT_FIELDS.len(), "no extra fields: {r}");
    assert_eq!(r["provider"], "trust-gateway");
    assert_eq!(r["provider_version"], env!("CARGO_PKG_VERSION"));
}

/// Joy §3.2 trust results: every field, fail closed on every lookup failure.
pub async fn trust_verify_returns_joy_trust_results(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("reviewer").await;
    for _ in 0..8 {
        s.record(&id, "read_data", "success").await;
    }
    let (status, r) = s
        .post("/trust/verify", json!({"agent_id": id, "min_score": 1.5}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    has_every_field(&r);
    assert_eq!(
        (
            r["meets_threshold"].clone(),
            r["withheld"].clone(),
            r["error"].clone()
        ),
        (json!(true), json!(false), Value::Null)
    );
    assert_eq!(
        r["tier"], "enterprise",
        "the plan of the owning (admin) account"
    );
    assert_eq!(r["evidence_count"], 8);
    assert_eq!(r["verified"], false, "api_key attestation is level 1");
    let (_, trust) = s.get(&format!("/agents/{id}/trust")).await;
    let score = trust["trust_result"]["trust_score"].as_f64().unwrap();
    assert!((score - 5.0 * trust["composite_score"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(trust["trust_result"]["threshold_used"], 0.0);
    assert_eq!(trust["plan"], "enterprise");
    has_every_field(&trust["trust_result"]);

    let (_, r) = s
        .post(
            "/trust/verify",
            json!({"agent_name": "reviewer", "min_score": 4.9}),
        )
        .await;
    assert_eq!(
        (r["meets_threshold"].clone(), r["agent_id"].clone()),
        (json!(false), json!(id))
    );

    // Cold start: withheld, never meets a threshold, even 0.
    let cold = s.register("newcomer").await;
    let (_, r) = s
        .post("/trust/verify", json!({"agent_id": cold, "min_score": 0}))
        .await;
    assert_eq!(
        (r["withheld"].clone(), r["meets_threshold"].clone()),
        (json!(true), json!(false))
    );

    // Every failure is a denial with `error`, never a 404.
    for (body, error) in [
        (
            json!({"agent_id": "ag_000000000000000000000000", "min_score": 0}),
            "unknown agent",
        ),
        (
            json!({"agent_id": "not-an-id", "min_score": 0}),
            "unknown agent",
        ),
        (
            json!({"agent_name": "nobody", "min_score": 0}),
            "unknown agent",
        ),
    ] {
        let (status, r) = s.post("/trust/verify", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        has_every_field(&r);
        assert_eq!(r["meets_threshold"], false);
        assert!(r["error"].as_str().unwrap().contains(error), "{r}");
    }
    let (_, r) = s.post(&format!("/agents/{id}/suspend"), json!({})).await;
    assert_eq!(r["status"], "suspended");
    let (_, r) = s
        .post("/trust/verify", json!({"agent_id": id, "min_score": 0}))
        .await;
    assert_eq!(
        (r["meets_threshold"].clone(), r["error"].clone()),
        (json!(false), json!("agent is suspended"))
    );

    // A name two accounts use is ambiguous.
    let (_, acct) = s
        .post("/admin/accounts", json!({"name": "other", "plan": "free"}))
        .await;
    let (_, key) = s
        .post(
            &format!("/admin/accounts/{}/keys", acct["id"].as_str().unwrap()),
            json!({"scope": "write"}),
        )
        .await;
    let resp = s
        .client
        .post(format!("{}/agents/register", s.base))
        .header("X-API-Key", key["key"].as_str().unwrap())
        .json(&json!({"name": "reviewer", "provider": "p", "config_hash": "h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let (_, r) = s
        .post(
            "/trust/verify",
            json!({"agent_name": "reviewer", "min_score": 0}),
        )
        .await;
    assert!(r["error"].as_str().unwrap().contains("ambiguous"), "{r}");

    // Malformed requests are the only 4xx.
    for body in [
        json!({"agent_id": id, "agent_name": "x", "min_score": 1}),
        json!({"min_score": 1}),
        json!({"agent_id": id, "min_score": 5.5}),
        json!({"agent_id": id, "min_score": -1}),
    ] {
        let (status, _) = s.post("/trust/verify", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

/// `GET /agents/discover?query=` by name or capability, paged.
pub async fn discover_finds_agents_by_name_and_capability(backend: Backend) {
    let s = start(backend).await;
    for (name, cap) in [
        ("mail-sorter", "read_inbox"),
        ("mail-sender", "send_email"),
        ("db-reader", "query_db"),
        ("100%-bot", "x"),
    ] {
        let (status, _) = s
            .post(
                "/agents/register",
                json!({"name": name, "provider": "p", "config_hash": "h", "capabilities": [cap]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let names = |v: &Value| {
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let (_, r) = s.get("/agents/discover?query=MAIL").await;
    assert_eq!(names(&r), vec!["mail-sender", "mail-sorter"]);
    let (_, r) = s.get("/agents/discover?query=query_db").await;
    assert_eq!(names(&r), vec!["db-reader"]);
    let (_, r) = s.get("/agents/discover?query=%25").await;
    assert_eq!(
        names(&r),
        vec!["100%-bot"],
        "`%` is a literal, not a wildcard"
    );
    let (_, page) = s.get("/agents/discover?query=mail&limit=1").await;
    assert_eq!(
        (names(&page), page["next_offset"].clone()),
        (vec!["mail-sender".to_owned()], json!(1))
    );
    let (_, page) = s.get("/agents/discover?query=mail&limit=1&offset=1").await;
    assert_eq!(names(&page), vec!["mail-sorter"]);
    let (status, _) = s.get("/agents/discover?query=").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s.get("/agents/discover?query=x&limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
