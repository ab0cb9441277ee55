use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, fresh_db, start, start_on};

pub async fn health_is_public_and_the_rest_needs_a_key(backend: Backend) {
    let s = start(backend).await;
    let health: serde_json::Value = s
        .client
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy");
    let ready = s
        .client
        .get(format!("{}/ready", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let jwks = s
        .client
        .get(format!("{}/.well-known/jwks.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);

    let protected = [
        (Method::POST, "/agents/register"),
        (Method::GET, "/agents/ag_000000000000000000000000"),
        (Method::GET, "/agents/ag_000000000000000000000000/trust"),
        (Method::GET, "/agents/ag_000000000000000000000000/history"),
        (Method::GET, "/agents/ag_000000000000000000000000/card"),
        (Method::POST, "/agents/ag_000000000000000000000000/token"),
        (Method::POST, "/actions/record"),
        (Method::GET, "/receipts/ag_000000000000000000000000"),
        (Method::GET, "/receipts/ag_000000000000000000000000/verify"),
        (Method::POST, "/authorize"),
        (Method::POST, "/authorize/batch"),
        (Method::GET, "/tiers"),
        (Method::PUT, "/tiers/1"),
        (Method::GET, "/actions"),
        (Method::PUT, "/actions/x"),
        (Method::GET, "/stats"),
    ];
    for (method, path) in protected {
        for key in [
            None,
            Some("wrong-key-wrong-key-wrong"),
            Some("tgk_00000000_forged"),
        ] {
            let mut req = s
                .client
                .request(method.clone(), format!("{}{path}", s.base))
                .json(&json!({}));
            if let Some(k) = key {
                req = req.header("X-API-Key", k);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {key:?}"
            );
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["code"], "unauthorized", "{method} {path}");
            assert!(body["detail"].as_str().unwrap().contains("API key"));
        }
    }
    // The generated admin key (from the key file) works as well as API_KEY.
    let generated = std::fs::read_to_string(s.dir.path().join("admin.key")).ok();
    let generated = generated.or_else(|| {
        let secrets = s
            .sqlite_path()
            .map(|p| format!("{}.secrets.json", p.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(secrets).ok()?).ok()?;
        v["admin_api_key"].as_str().map(str::to_owned)
    });
    // On PostgreSQL with API_KEY set no key is generated; on SQLite the secrets file holds one.
    if let Some(k) = generated {
        let resp = s
            .client
            .get(format!("{}/stats", s.base))
            .header("X-API-Key", k.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    } else {
        assert_eq!(backend, Backend::Postgres);
    }
}

pub async fn register_and_read_back_in_v2_shapes(backend: Backend) {
    let s = start(backend).await;
    let (status, agent) = s
        .post(
            "/agents/register",
            json!({
                "name": "email-bot",
                "provider": "openai",
                "spiffe_id": "spiffe://example.org/agent/email-bot",
                "config_hash": "sha256-hash",
                "capabilities": ["send_email", "read_inbox"]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let id = agent["id"].as_str().unwrap();
    assert!(id.starts_with("ag_") && id.len() == 27, "{id}");
    assert_eq!(agent["name"], "email-bot");
    assert_eq!(agent["spiffe_id"], "spiffe://example.org/agent/email-bot");
    assert_eq!(agent["capabilities"], json!(["send_email", "read_inbox"]));
    assert_eq!(agent["status"], "active");
    assert_eq!(agent["attestation_type"], "self_declared");
    assert_eq!(agent["verification_level"], 0);
    assert_eq!(agent["trust_score"], 0.1, "cold start");
    assert!(agent["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, fetched) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["id"], agent["id"]);

    let (_, trust) = s.get(&format!("/agents/{id}/trust")).await;
    for field in [
        "identity_score",
        "config_score",
        "behavior_score",
        "vouch_score",
        "activity_score",
        "composite_score",
    ] {
        let v = trust[field].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "{field} = {v}");
    }
    assert_eq!(trust["identity_score"], 0.3);
    assert_eq!(trust["tier"], 0);
    assert_eq!(trust["tier_name"], "Untrusted");
    assert_eq!(trust["cold_start"], true);
    let weights = &trust["weights"];
    let sum: f64 = ["identity", "config", "behavior", "vouch", "activity"]
        .iter()
        .map(|k| weights[k].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9);
    assert_eq!(trust["factors"].as_array().unwrap().len(), 5);

    let (_, history) = s.get(&format!("/agents/{id}/history?limit=10")).await;
    assert_eq!(history["history"][0]["trigger"], "registered");
    assert_eq!(history["history"][0]["composite_score"], 0.1);

    let (_, card) = s.get(&format!("/agents/{id}/card")).await;
    assert_eq!(card["agent_id"], agent["id"]);
    assert_eq!(card["trust_tier"], 0);
    assert_eq!(card["total_actions"], 0);
    assert_eq!(
        card["permitted_actions"],
        json!(["read_config", "view_status"])
    );
    assert!(card["metadata"]["identity_score"].is_number());

    // Same name again in the same account: 409. The same SPIFFE ID under another name, as
    // unproven as the first: both are claims, and a claim blocks nothing (a registration
    // that proves the ID supersedes them).
    let (status, body) = s
        .post(
            "/agents/register",
            json!({"name": "email-bot", "provider": "x", "config_hash": "h"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["detail"],
        "an agent named `email-bot` already exists in this account"
    );
    let (status, body) = s
        .post("/agents/register", json!({"name": "other", "provider": "x", "config_hash": "h", "spiffe_id": "spiffe://example.org/agent/email-bot"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

pub async fn recording_actions_moves_score_tier_and_decisions(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let id = s.register_as(&acme, "worker").await;
    // Cold: only tier-0 actions.
    let (status, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "send_email"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["allowed"], false);
    assert_eq!(d["reason"], "Insufficient trust tier");
    assert_eq!(
        (
            d["current_tier"].clone(),
            d["required_tier"].clone(),
            d["required_score"].clone()
        ),
        (json!(0), json!(2), json!(0.5))
    );

    let mut last = json!(null);
    for _ in 0..12 {
        let (status, r) = s.record_as(&acme, &id, "send_email", "success", None).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        last = r;
    }
    assert_eq!(last["seq"], 12);
    assert_eq!(last["receipt_hash"].as_str().unwrap().len(), 64);
    assert_eq!(last["provenance"], "self");
    // Under the default policy, what the agent's own account says reaches tier 1 at most.
    assert_eq!(last["new_tier"], 1, "{last}");
    let (_, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "send_email"}),
        )
        .await;
    assert_eq!(d["allowed"], false);
    let (_, trust) = s.get(&format!("/agents/{id}/trust")).await;
    assert!(trust["base_score"].as_f64().unwrap() >= 0.5, "{trust}");
    assert_eq!(trust["proof"]["capped_at_tier"], 1);
    assert_eq!(trust["proof"]["self_reported"], 12);

    // The operator's tool server witnesses five interactions with the agent's token: proof.
    let token = s.token_as(&acme, &id).await;
    for _ in 0..5 {
        let (status, r) = s
            .record_as(&s.key, &id, "send_email", "success", Some(&token))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        last = r;
    }
    assert_eq!(last["provenance"], "witnessed");
    let (_, introspected) = s.post("/tokens/introspect", json!({"token": token})).await;
    assert_eq!(last["witness"]["token_jti"], introspected["jti"]);
    let score = last["new_score"].as_f64().unwrap();
    assert!(score >= 0.5, "proven, the score stands: {last}");
    assert_eq!(last["new_tier"], 2);

    let (_, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "send_email", "context": {"to": "a@example.org"}}),
        )
        .await;
    assert_eq!(
        (d["allowed"].clone(), d["reason"].clone()),
        (json!(true), json!("Authorized"))
    );
    let (_, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "delete_database"}),
        )
        .await;
    assert_eq!(d["allowed"], false);
    let (status, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "launch_rockets"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            d["allowed"].clone(),
            d["reason"].clone(),
            d["required_tier"].clone()
        ),
        (json!(false), json!("unknown action"), json!(null))
    );

    let (status, b) = s.post("/authorize/batch", json!({"agent_id": id, "actions": ["send_email", "delete_file", "query_db", "send_email"]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["results"]["send_email"]["allowed"], true);
    assert_eq!(b["results"]["delete_file"]["allowed"], false);
    assert_eq!(
        b["results"]["delete_file"]["reason"],
        "Insufficient trust tier"
    );
    assert_eq!(b["results"]["query_db"]["allowed"], true);
    assert_eq!(b["results"].as_object().unwrap().len(), 3);

    // One violation costs more than many successes earned.
    let (_, after) = s
        .record_as(&acme, &id, "delete_data", "violation", None)
        .await;
    assert!(
        after["new_score"].as_f64().unwrap() < score - 0.05,
        "{after}"
    );

    let (_, history) = s.get(&format!("/agents/{id}/history?limit=1000")).await;
    let points = history["history"].as_array().unwrap();
    assert_eq!(points[0]["trigger"], "action_recorded");
    assert_eq!(points.last().unwrap()["trigger"], "registered");
    let times: Vec<&str> = points
        .iter()
        .map(|p| p["timestamp"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let (_, receipts) = s.get(&format!("/receipts/{id}?limit=5")).await;
    let seqs: Vec<i64> = receipts
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![18, 17, 16, 15, 14]);

    let (_, stats) = s.get("/stats").await;
    assert_eq!(stats["total_agents"], 1);
    assert_eq!(stats["total_receipts"], 18);
    assert_eq!(
        stats["actions_by_result"],
        json!({"success": 17, "failure": 0, "violation": 1})
    );
}

pub async fn tier_and_catalog_edits_are_persisted_and_used(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let a = start_on(&db, dir, &[]).await;
    let id = a.register("editor").await;
    let (_, tiers) = a.get("/tiers").await;
    assert_eq!(tiers.as_array().unwrap().len(), 4);
    assert_eq!(tiers[3]["name"], "Privileged");
    assert_eq!(
        (
            tiers[3]["min_score"].as_f64(),
            tiers[3]["max_score"].as_f64()
        ),
        (Some(0.8), Some(1.0))
    );

    // Tier 1 now starts at 0.05: the cold agent (0.1) moves up to tier 1.
    let (status, edited) = a
        .put("/tiers/1", json!({"min_score": 0.05, "name": "Probation"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["tier"].as_u64(), edited["name"].as_str()),
        (Some(1), Some("Probation"))
    );
    assert_eq!(edited["min_score"], 0.05);
    let (_, tiers) = a.get("/tiers").await;
    assert_eq!(
        tiers[0]["max_score"], 0.05,
        "the neighbour's edge moved with it"
    );
    let (status, body) = a.put("/tiers/0", json!({"min_score": 0.1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = a.put("/tiers/9", json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = a.put("/tiers/abc", json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = a
        .put(
            "/actions/summarize",
            json!({"required_tier": 1, "min_score": 0.05}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = a
        .put(
            "/actions/Bad Name",
            json!({"required_tier": 1, "min_score": 0.05}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = a
        .put(
            "/actions/deploy",
            json!({"required_tier": 7, "min_score": 0.5}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A second instance on the same database sees the edits.
    let b = start_on(&db, tempfile::tempdir().unwrap(), &[]).await;
    let (_, d) = b
        .post("/authorize", json!({"agent_id": id, "action": "summarize"}))
        .await;
    assert_eq!(
        (d["allowed"].clone(), d["current_tier"].clone()),
        (json!(true), json!(1)),
        "{d}"
    );
    let (_, actions) = b.get("/actions").await;
    assert!(
        actions["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "summarize")
    );
    assert_eq!(actions["version"], 2);
}

/// HEAD is answered wherever GET is: the same status and headers, no body; authentication
/// applies as it does to GET.
pub async fn head_is_answered_where_get_is(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("headed").await;
    let head = |path: String, key: Option<String>| {
        let s = &s;
        async move {
            let mut req = s.client.head(format!("{}{path}", s.base));
            if let Some(k) = key {
                req = req.header("X-API-Key", k);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let content_type = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = resp.bytes().await.unwrap();
            (status, content_type, body.len())
        }
    };
    let key = Some(s.key.clone());
    let (status, content_type, len) = head("/health".into(), None).await;
    assert_eq!((status, len), (StatusCode::OK, 0));
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(
        head("/stats".into(), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, content_type, len) = head("/stats".into(), key.clone()).await;
    assert_eq!((status, len), (StatusCode::OK, 0));
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(
        head(format!("/agents/{id}"), key.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        head("/agents/ag_000000000000000000000000".into(), key.clone())
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        head("/.well-known/jwks.json".into(), None).await.0,
        StatusCode::OK
    );
    let (status, _, _) = head("/actions/record".into(), key).await;
    assert!(
        !status.is_success(),
        "no HEAD for a POST-only route: {status}"
    );
}
