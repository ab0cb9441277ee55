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
