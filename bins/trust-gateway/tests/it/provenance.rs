//! Issue 13's red-team cases on evidence, as regression tests: farming by self-reports,
//! rings witnessing each other, witnesses without proof, and griefing through delegations
//! another tenant invents. Three accounts on one gateway: the operator, acme, globex.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

async fn trust(s: &Server, agent: &str) -> Value {
    let (status, t) = s.get(&format!("/agents/{agent}/trust")).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    t
}

async fn allowed(s: &Server, agent: &str, action: &str) -> bool {
    let (_, d) = s
        .post("/authorize", json!({"agent_id": agent, "action": action}))
        .await;
    d["allowed"].as_bool().unwrap()
}

async fn self_report(s: &Server, key: &str, agent: &str, result: &str, times: usize) {
    for _ in 0..times {
        let (status, r) = s.record_as(key, agent, "read_data", result, None).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
}

/// 200 self-reported successes, and a ring of accounts that vouch for and witness each
/// other, all stay at tier 1 under the default policy.
pub async fn self_reports_and_rings_stay_at_tier_one(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let farmer = s.register_as(&acme, "farmer").await;
    self_report(&s, &acme, &farmer, "success", 200).await;
    let t = trust(&s, &farmer).await;
    assert!(
        t["base_score"].as_f64().unwrap() >= 0.5,
        "tier 2 by arithmetic alone: {t}"
    );
    assert_eq!(t["tier"], 1, "{t}");
    assert_eq!(t["proof"]["capped_at_tier"], 1);
    assert_eq!(t["proof"]["self_reported"], 200);
    assert!(!allowed(&s, &farmer, "send_email").await);

    // Three ring accounts: each agent self-reports 30 successes, vouches for the others and
    // is witnessed ten times by each other ring account with its token.
    let mut ring = Vec::new();
    for i in 0..3 {
        let (_, key) = s.tenant(&format!("ring-{i}")).await;
        let agent = s.register_as(&key, &format!("ring-agent-{i}")).await;
        self_report(&s, &key, &agent, "success", 30).await;
        ring.push((key, agent));
    }
    for (key, agent) in &ring {
        let token = s.token_as(key, agent).await;
        for (other_key, other_agent) in &ring {
            if other_agent == agent {
                continue;
            }
            let (status, v) = s
                .call_as(
                    key,
                    Method::POST,
                    &format!("/agents/{other_agent}/vouches"),
                    Some(json!({"from_agent": agent, "weight": 1.0})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            for _ in 0..10 {
                let (status, r) = s
                    .record_as(other_key, agent, "read_data", "success", Some(&token))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{r}");
                assert_eq!(r["provenance"], "witnessed");
            }
        }
    }
    for (_, agent) in &ring {
        let t = trust(&s, agent).await;
        assert_eq!(t["tier"], 1, "{t}");
        assert_eq!(
            (
                t["proof"]["witnessed"].clone(),
                t["proof"]["proven_weight"].clone()
            ),
            (json!(20), json!(0.0)),
            "witnesses nobody trusts prove nothing"
        );
        assert!(!allowed(&s, agent, "send_email").await);
    }
}

/// A report by another account needs the agent's token; the token bounds how much it can
/// report; a credible witness's reports prove, and its violation costs a tier at once.
pub async fn witnesses_prove_with_the_agents_token(backend: Backend) {
    let s = start(backend).await;
    let (acme_id, acme) = s.tenant("acme").await;
    let (globex_id, globex) = s.tenant("globex").await;
    let agent = s.register_as(&acme, "acme-bot").await;
    let sibling = s.register_as(&acme, "acme-other").await;
    self_report(&s, &acme, &agent, "success", 10).await;
    let token = s.token_as(&acme, &agent).await;
    let sibling_token = s.token_as(&acme, &sibling).await;

    // No proof: the agent might as well not exist.
    let (status, r) = s
        .record_as(&globex, &agent, "read_data", "failure", None)
        .await;
    assert_eq!(
        (status, r["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Another agent's token, or a forged one: refused.
    let (status, r) = s
        .record_as(
            &globex,
            &agent,
            "read_data",
            "failure",
            Some(&sibling_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("another agent"));
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (status, _) = s
        .record_as(&globex, &agent, "read_data", "failure", Some(&forged))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .record_as(&globex, &agent, "read_data", "failure", Some("not-a-jwt"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // With the token: witnessed, attributed to globex, ten reports per token.
    for i in 0..10 {
        let (status, r) = s
            .record_as(&globex, &agent, "read_data", "success", Some(&token))
            .await;
        assert_eq!(status, StatusCode::CREATED, "report {i}: {r}");
        assert_eq!(r["witness"]["account_id"], globex_id.as_str());
    }
    let (status, r) = s
        .record_as(&globex, &agent, "read_data", "failure", Some(&token))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{r}");
    let t = trust(&s, &agent).await;
    assert_eq!(
        (
            t["proof"]["self_reported"].clone(),
            t["proof"]["witnessed"].clone()
        ),
        (json!(10), json!(10))
    );
    assert_eq!(t["tier"], 1, "globex traces to no one trusted: {t}");
    // The owner's own report with its token is still its own.
    let (_, r) = s
        .record_as(&acme, &agent, "read_data", "success", Some(&token))
        .await;
    assert_eq!(r["provenance"], "self");

    // The operator's reports prove; its witnessed violation costs a tier at once.
    for _ in 0..5 {
        let (status, r) = s
            .record_as(&s.key, &agent, "read_data", "success", Some(&token))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    let t = trust(&s, &agent).await;
    let proven_tier = t["tier"].as_u64().unwrap();
    assert!(proven_tier >= 2, "{t}");
    assert_eq!(t["proof"]["proven"], true);
    assert!(allowed(&s, &agent, "send_email").await);
    let (status, r) = s
        .record_as(&s.key, &agent, "send_email", "violation", Some(&token))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert!(r["new_tier"].as_u64().unwrap() < proven_tier, "{r}");
    let t = trust(&s, &agent).await;
    assert!(
        t["proof"]["reason"]
            .as_str()
            .unwrap()
            .contains("witnessed violation"),
        "{t}"
    );

    // The receipts say who stands behind them, and the chain still verifies.
    let (_, page) = s.get(&format!("/receipts/{agent}?limit=3")).await;
    let newest = &page[0];
    assert_eq!(newest["provenance"], "witnessed");
    assert_ne!(newest["witness"]["account_id"], acme_id.as_str());
    let (_, report) = s.get(&format!("/receipts/{agent}/verify")).await;
    assert_eq!(report["valid"], true, "{report}");
    // Offline, from the export: the witness is covered by the receipt hash.
    let doc: Value = s
        .fetch(&format!("/receipts/{agent}/export"))
        .await
        .json()
        .await
        .unwrap();
    let check = |receipts: &Value| {
        let receipts: Vec<tg_receipts::Receipt> = serde_json::from_value(receipts.clone()).unwrap();
        let mut verifier = tg_receipts::ChainVerifier::links_only();
        for r in &receipts {
            let _ = verifier.push(r);
        }
        verifier.finish()
    };
    assert!(check(&doc["receipts"]).valid);
    let mut forged = doc["receipts"].clone();
    let witnessed = forged
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["provenance"] == "witnessed")
        .unwrap();
    witnessed["witness"]["account_id"] = json!(acme_id);
    let report = check(&forged);
    assert!(!report.valid);
    assert!(report.reason.unwrap().contains("receipt_hash"));
    // And the trail names the witness.
    let (_, trail) = s
        .get(&format!(
            "/agents/{agent}/audit?type=receipt_recorded&limit=1000"
        ))
        .await;
    let by_globex = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["witness"]["account_id"] == globex_id.as_str())
        .count();
    assert_eq!(by_globex, 10);
}

/// Thirty failed delegations another tenant invents do not move an agent; a delegation
/// counts once the delegatee's account accepts it (or the delegator shows its token).
pub async fn invented_delegations_move_nothing_until_accepted(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let (_, globex) = s.tenant("globex").await;
    let agent = s.proven_agent(&acme, "acme-bot").await;
    let before = trust(&s, &agent).await;
    assert!(allowed(&s, &agent, "send_email").await, "{before}");

    let delegate = |key: String, body: Value| {
        let s = &s;
        async move {
            let (status, d) = s
                .call_as(&key, Method::POST, "/delegations", Some(body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{d}");
            d
        }
    };
    let outcome = |key: String, id: Value, outcome: &'static str| {
        let s = &s;
        async move {
            let path = format!("/delegations/{}/outcome", id.as_str().unwrap());
            s.call_as(
                &key,
                Method::PATCH,
                &path,
                Some(json!({"outcome": outcome})),
            )
            .await
        }
    };
    let claim = json!({"from_principal": "user:mallory", "to_agent": agent, "task_type": "t", "threshold": 0});
    for _ in 0..30 {
        let d = delegate(globex.clone(), claim.clone()).await;
        assert!(d["accepted_at"].is_null());
        let (status, done) = outcome(globex.clone(), d["delegation_id"].clone(), "failure").await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert!(done.get("delegatee_score").is_none(), "{done}");
    }
    let after = trust(&s, &agent).await;
    let moved =
        after["composite_score"].as_f64().unwrap() - before["composite_score"].as_f64().unwrap();
    assert!(moved.abs() < 1e-6, "only read-time decay: {moved}");
    assert_eq!(after["proof"]["delegation"], 0);
    assert!(allowed(&s, &agent, "send_email").await);

    // The operator delegates; only acme can accept, and only before the outcome.
    let d = delegate(s.key.clone(), claim.clone()).await;
    let accept = format!(
        "/delegations/{}/accept",
        d["delegation_id"].as_str().unwrap()
    );
    let (status, _) = s.call_as(&globex, Method::POST, &accept, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, accepted) = s.call_as(&acme, Method::POST, &accept, None).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert!(accepted["accepted_at"].is_string());
    let (status, done) = outcome(s.key.clone(), d["delegation_id"].clone(), "failure").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        done["delegatee_score"].as_f64().unwrap() < before["composite_score"].as_f64().unwrap()
    );
    assert_eq!(trust(&s, &agent).await["proof"]["delegation"], 1);
    let (status, _) = s.call_as(&acme, Method::POST, &accept, None).await;
    assert_eq!(status, StatusCode::OK, "accepting twice is idempotent");
    let late = delegate(s.key.clone(), claim.clone()).await;
    outcome(s.key.clone(), late["delegation_id"].clone(), "success").await;
    let late_accept = format!(
        "/delegations/{}/accept",
        late["delegation_id"].as_str().unwrap()
    );
    let (status, _) = s.call_as(&acme, Method::POST, &late_accept, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "too late to accept a known outcome"
    );

    // The delegator proves the hand-off with the delegatee's token: accepted at once.
    let token = s.token_as(&acme, &agent).await;
    let mut proven = claim.clone();
    proven["token"] = json!(token);
    let d = delegate(s.key.clone(), proven).await;
    assert!(d["accepted_at"].is_string(), "{d}");
    let mut wrong = claim.clone();
    wrong["token"] = json!(
        s.token_as(&globex, &s.register_as(&globex, "g").await)
            .await
    );
    let (status, _) = s
        .call_as(&s.key, Method::POST, "/delegations", Some(wrong))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
