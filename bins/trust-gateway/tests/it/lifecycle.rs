use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

async fn introspect(s: &Server, token: &str) -> Value {
    let resp = s
        .client
        .post(format!("{}/tokens/introspect", s.base))
        .header("X-API-Key", &s.key)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn decide(s: &Server, id: &str) -> Value {
    s.post("/authorize", json!({"agent_id": id, "action": "read_data"}))
        .await
        .1
}

/// Suspended and revoked agents are denied everything, get no tokens, and their tokens
/// stop introspecting as active; revocation is final.
pub async fn lifecycle_suspend_reactivate_revoke(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("lifecycle").await;
    for _ in 0..6 {
        s.record(&id, "read_data", "success").await;
    }
    assert_eq!(decide(&s, &id).await["allowed"], true);
    let (_, t) = s.post(&format!("/agents/{id}/token"), json!({})).await;
    let token = t["token"].as_str().unwrap().to_owned();
    let active = introspect(&s, &token).await;
    assert_eq!(
        (active["active"].clone(), active["sub"].clone()),
        (json!(true), json!(id))
    );

    let (status, agent) = s
        .post(
            &format!("/agents/{id}/suspend"),
            json!({"reason": "investigating"}),
        )
        .await;
    assert_eq!(
        (status, agent["status"].clone()),
        (StatusCode::OK, json!("suspended"))
    );
    let d = decide(&s, &id).await;
    assert_eq!(
        (d["allowed"].clone(), d["reason"].clone()),
        (json!(false), json!("agent suspended"))
    );
    let (status, _) = s.post(&format!("/agents/{id}/token"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(introspect(&s, &token).await, json!({"active": false}));

    let (status, _) = s.post(&format!("/agents/{id}/reactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decide(&s, &id).await["allowed"], true);
    // Reactivation revives no token from before the suspension; new ones are good.
    assert_eq!(introspect(&s, &token).await, json!({"active": false}));
    let (_, t) = s.post(&format!("/agents/{id}/token"), json!({})).await;
    let token = t["token"].as_str().unwrap().to_owned();
    assert_eq!(introspect(&s, &token).await["active"], true);

    let resp = s
        .client
        .post(format!("{}/agents/{id}/revoke", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "a body is optional");
    let d = decide(&s, &id).await;
    assert_eq!(
        (d["allowed"].clone(), d["reason"].clone()),
        (json!(false), json!("agent revoked"))
    );
    assert_eq!(introspect(&s, &token).await, json!({"active": false}));
    for change in ["reactivate", "suspend", "revoke"] {
        let (status, body) = s.post(&format!("/agents/{id}/{change}"), json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{change}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("final"));
    }
    let (status, _) = s
        .post(
            "/actions/record",
            json!({"agent_id": id, "action": "read_data", "result": "success"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Bad input.
    let other = s.register("other").await;
    let (status, _) = s
        .post(&format!("/agents/{other}/suspend"), json!({"why": "x"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s
        .post("/agents/ag_000000000000000000000000/suspend", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        introspect(&s, "not.a.token").await,
        json!({"active": false})
    );
    let resp = s
        .client
        .post(format!("{}/tokens/introspect", s.base))
        .header("X-API-Key", &s.key)
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// `POST /agents/{id}/token` with `key`: the status and the grant.
async fn token_grant(s: &Server, key: &str, id: &str) -> (StatusCode, Value) {
    s.call_as(
        key,
        reqwest::Method::POST,
        &format!("/agents/{id}/token"),
        Some(json!({})),
    )
    .await
}

/// A token carries the tier and the state version it was issued at; once the agent's tier
/// falls below the token's, introspection answers inactive at once (issue 17, part 3).
pub async fn a_token_dies_when_its_agents_tier_falls_below_it(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme-falling").await;
    let id = s.register_as(&acme, "falling").await;
    // Its own account's reports reach tier 1; the operator witnessing with the agent's
    // token takes it to tier 2 (as in `recording_actions_moves_score_tier_and_decisions`).
    for _ in 0..12 {
        s.record_as(&acme, &id, "send_email", "success", None).await;
    }
    let witnessing = s.token_as(&acme, &id).await;
    for _ in 0..5 {
        let (status, r) = s
            .record_as(&s.key, &id, "send_email", "success", Some(&witnessing))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    let (status, t) = token_grant(&s, &acme, &id).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let token = t["token"].as_str().unwrap().to_owned();
    let granted = t["tier"].as_u64().unwrap();
    assert_eq!(granted, 2, "{t}");
    let active = introspect(&s, &token).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["tier"], granted);
    let (_, agent) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(
        active["state_version"], agent["state_version"],
        "the token names the state it was issued at"
    );
    // Violations until the tier falls (one does under the default policy).
    let mut tier = granted;
    for _ in 0..5 {
        let (_, r) = s
            .record_as(&acme, &id, "delete_data", "violation", None)
            .await;
        tier = r["new_tier"].as_u64().unwrap();
        if tier < granted {
            break;
        }
        assert_eq!(introspect(&s, &token).await["active"], true);
    }
    assert!(tier < granted, "the tier fell");
    assert_eq!(introspect(&s, &token).await, json!({"active": false}));
    // A token issued now, at the lower tier, is active.
    let (_, t) = token_grant(&s, &acme, &id).await;
    let fresh = introspect(&s, t["token"].as_str().unwrap()).await;
    assert_eq!(
        (fresh["active"].clone(), fresh["tier"].clone()),
        (json!(true), json!(tier))
    );
}
