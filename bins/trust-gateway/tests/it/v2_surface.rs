//! The V2 routes answer V2's shapes (issue 15's reproductions): what the V2 Python SDK
//! sends, byte for byte, and the fields it reads.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

/// V2's registration body: every optional field present and null.
async fn register_v2(s: &Server) -> Value {
    let (status, agent) = s
        .post(
            "/agents/register",
            json!({"name": "email-bot", "provider": "openai", "spiffe_id": null,
                   "config_hash": "a".repeat(64), "capabilities": ["send_email"], "attestation": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    agent
}

async fn get_with_headers(s: &Server, path: &str) -> (reqwest::header::HeaderMap, Value) {
    let r = s
        .client
        .get(format!("{}{path}", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let headers = r.headers().clone();
    (headers, r.json().await.unwrap())
}

pub async fn agent_records_and_receipts_have_v2_shapes(backend: Backend) {
    let s = start(backend).await;
    let agent = register_v2(&s).await;
    assert_eq!(agent["composite_score"], agent["trust_score"]);
    assert_eq!(agent["tier"], agent["trust_tier"]);
    let id = agent["id"].as_str().unwrap();

    // Python's naive datetime.isoformat(), read as UTC.
    let (status, r) = s
        .post(
            "/actions/record",
            json!({"agent_id": id, "action": "send_email", "result": "success",
                   "timestamp": "2026-11-30T09:15:00.123456"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["reported_at"], "2026-11-30T09:15:00.123456Z");
    assert!(r.get("receipt").is_none(), "flat, not nested: {r}");
    for field in [
        "id",
        "agent_id",
        "action",
        "result",
        "timestamp",
        "previous_hash",
        "receipt_hash",
        "signature",
        "new_score",
        "new_tier",
    ] {
        assert!(!r[field].is_null(), "`{field}` missing: {r}");
    }
    assert_eq!(r["previous_hash"], r["prev_hash"]);
    assert_eq!(
        (r["agent_id"].as_str(), r["seq"].as_u64()),
        (Some(id), Some(1))
    );
    let (status, bad) = s
        .post(
            "/actions/record",
            json!({"agent_id": id, "action": "send_email", "result": "success", "timestamp": "yesterday"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    for _ in 0..4 {
        s.record(id, "send_email", "success").await;
    }
    // A list, newest first, paged by query parameters with the cursor in headers.
    let (headers, first) = get_with_headers(&s, &format!("/receipts/{id}?limit=2")).await;
    let seqs = |page: &Value| -> Vec<u64> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(seqs(&first), [5, 4]);
    assert_eq!(headers["x-next-before-seq"], "4");
    assert_eq!(
        headers["link"],
        format!("</receipts/{id}?limit=2&before_seq=4>; rel=\"next\"").as_str()
    );
    assert_eq!(first[0]["previous_hash"], first[1]["receipt_hash"]);
    let (_, second) = get_with_headers(&s, &format!("/receipts/{id}?limit=2&before_seq=4")).await;
    assert_eq!(seqs(&second), [3, 2]);
    let (headers, last) =
        get_with_headers(&s, &format!("/receipts/{id}?limit=2&before_seq=2")).await;
    assert_eq!(seqs(&last), [1]);
    assert!(headers.get("x-next-before-seq").is_none() && headers.get("link").is_none());
    let (_, all) = s.get(&format!("/receipts/{id}")).await;
    assert_eq!(seqs(&all), [5, 4, 3, 2, 1], "V2's call: no parameters");

    let (_, stats) = s.get("/stats").await;
    assert_eq!(
        (
            stats["total_actions"].as_u64(),
            stats["recent_actions"].as_u64()
        ),
        (Some(5), Some(5))
    );
    // Five self-reported successes: out of cold start, in tier 1.
    let (_, agent) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(agent["tier"], 1);
    assert_eq!(
        stats["trust_score_distribution"],
        json!({"0.0-0.2": 0, "0.2-0.5": 1, "0.5-0.8": 0, "0.8-1.0": 0})
    );
}

pub async fn tiers_are_a_list_and_take_v2_tier_objects(backend: Backend) {
    let s = start(backend).await;
    let (_, tiers) = s.get("/tiers").await;
    let tiers = tiers.as_array().unwrap();
    assert_eq!(tiers.len(), 4);
    assert_eq!(
        tiers[0]["description"],
        "Read-only access, no external actions"
    );
    assert_eq!(
        tiers[0]["permissions"],
        json!(["read_config", "view_status"])
    );
    let t1: Vec<&str> = tiers[1]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(t1.contains(&"read_data") && !t1.contains(&"send_email"));

    // V2's update_tier: the whole object. Tier 1 now also permits send_email.
    let mut permissions = t1.clone();
    permissions.push("send_email");
    let v2_tier = json!({"tier": 1, "name": "Basic", "min_score": 0.2, "max_score": 0.5,
                         "description": "Basic actions and mail", "permissions": permissions});
    let (status, tier) = s.put("/tiers/1", v2_tier.clone()).await;
    assert_eq!(status, StatusCode::OK, "{tier}");
    let mut want = v2_tier.clone();
    let mut sorted = permissions.clone();
    sorted.sort_unstable();
    want["permissions"] = json!(sorted);
    assert_eq!(tier, want);
    let (_, tiers) = s.get("/tiers").await;
    assert_eq!(tiers[1], want);
    let (_, catalog) = s.get("/actions").await;
    let email = catalog["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "send_email")
        .unwrap()
        .clone();
    assert_eq!(
        email,
        json!({"action": "send_email", "required_tier": 1, "min_score": 0.2})
    );

    let (status, body) = s.put("/tiers/2", json!({"tier": 1, "name": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = s
        .put("/tiers/1", json!({"permissions": ["Not A Name"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, after) = s.get("/tiers").await;
    assert_eq!(after[1], want, "a refused edit changes nothing");
}

pub async fn the_v2_readme_webhook_and_list_work(backend: Backend) {
    let s =
        crate::support::start_on_fresh(backend, &[("WEBHOOK_ALLOW_NETS", "127.0.0.1/32")]).await;
    // The V2 README's own example secret is short: accepted, with a warning.
    let (status, hook) = s
        .post(
            "/config/webhooks",
            json!({"url": "http://127.0.0.1:9/webhook", "events": ["tier_changed", "authorization_denied"],
                   "secret": "webhook-secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let warning = hook["warnings"][0].as_str().unwrap();
    assert!(warning.contains("14 characters"), "{warning}");
    let (status, list) = s.get("/config/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], hook["id"]);
    assert!(list[0].get("warnings").is_none() && list[0].get("secret").is_none());
    let (status, _) = s
        .post(
            "/config/webhooks",
            json!({"url": "http://127.0.0.1:9/other", "events": ["tier_changed"], "secret": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

pub async fn scores_have_one_scale_per_name_and_decide_as_read(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("scorer").await;
    for _ in 0..6 {
        s.record(&id, "send_email", "success").await;
    }
    let (_, b) = s.get(&format!("/agents/{id}/trust")).await;
    assert!(
        b.get("trust_score").is_none(),
        "0–5 is `joy_score` here: {b}"
    );
    let joy = b["joy_score"].as_f64().unwrap();
    let composite = b["composite_score"].as_f64().unwrap();
    assert_eq!(b["trust_result"]["trust_score"], b["joy_score"]);
    assert_eq!((composite * 1e4).round() / 1e4, composite, "four places");
    assert_eq!((joy * 1e3).round() / 1e3, joy, "three places");
    let (_, agent) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(
        agent["trust_score"].as_f64(),
        Some(composite),
        "0–1 everywhere else"
    );

    // A threshold equal to the score just read meets it.
    let (_, r) = s
        .post("/trust/verify", json!({"agent_id": id, "min_score": joy}))
        .await;
    assert_eq!(r["meets_threshold"], true, "{r}");
    let tier = b["tier"].as_u64().unwrap();
    let (status, _) = s
        .put(
            "/actions/exactly_enough",
            json!({"required_tier": tier, "min_score": composite}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "exactly_enough"}),
        )
        .await;
    assert_eq!(d["allowed"], true, "{d}");

    // Reading the breakdown is a trust check (Joy §5.2).
    let (_, audit) = s.get(&format!("/agents/{id}/audit?type=trust_check")).await;
    let checks = audit["events"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|e| e["details"]["joy_score"].as_f64() == Some(joy)
                && e["details"]["threshold"] == 0.0),
        "{audit}"
    );
}

/// What Schemathesis found, each pinned: 405 with `Allow` for a method a path does not
/// serve, an array is not an object body, `null` is an absent optional body, and the
/// document's limits are the server's.
pub async fn the_contract_holds_at_its_edges(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("edges").await;
    let r = s
        .client
        .request(reqwest::Method::TRACE, format!("{}/health", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    let (status, body) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/agents/{id}/trust"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let (status, body) = s.call(reqwest::Method::DELETE, "/no/such/path", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // An unknown path under a known prefix is still the gateway's own 404, and a method
    // one path does not serve still reaches a later path that does (`GET /agents/register`
    // is `GET /agents/{id}` of an unknown agent).
    for unknown in [format!("/agents/{id}/nothing"), "/agents/".to_owned()] {
        let (status, body) = s.get(&unknown).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
        assert_eq!(
            body["detail"],
            format!("no route for GET {unknown}"),
            "{unknown}"
        );
    }
    let (status, body) = s.get("/agents/register").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["detail"], "agent `register` not found");
    // Paths are routed and their parameters read percent-decoded, as actix's router
    // reads them: `%5F` is `_`, in a literal segment and in an id.
    let escaped = id.replace('_', "%5F");
    let (status, body) = s.get(&format!("/%61gents/{escaped}/trust")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["agent_id"], id.as_str(), "{body}");

    // serde would read an array as a struct's fields in order: refused.
    let (status, body) = s.post("/authorize", json!([id, "read_config"])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("not an array"));
    // The same on the routes that take a form or JSON.
    let (status, body) = s.post("/tokens/revoke", json!(["a.b.c"])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("not an array"));
    // `null` for an optional body is no body.
    let (status, body) = s.post(&format!("/agents/{id}/suspend"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "suspended");
    // The documented maxima are enforced.
    let (status, _) = s.get("/agents?limit=1001").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s.get("/agents?offset=4294967296").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.get("/agents?account=&limit=5").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an empty optional parameter is an absent one"
    );
}
