use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

async fn patch(s: &Server, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = s
        .client
        .patch(format!("{}{path}", s.base))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// Joy §4: a 3-hop chain under a human root, cycles and depth refused, thresholds fail
/// closed, the outcome set once and fed into the delegatee's score.
pub async fn delegation_chains_and_outcomes(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let (a, b, c) = (
        s.proven_agent(&acme, "a").await,
        s.proven_agent(&acme, "b").await,
        s.proven_agent(&acme, "c").await,
    );

    let (status, first) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_principal": "user:alice", "to_agent": a, "task_type": "code_review", "threshold": 2.0}))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["depth"].clone(), first["root_authority"].clone()),
        (json!(1), json!("user:alice"))
    );
    assert!(first["trust_score_at_delegation"].as_f64().unwrap() >= 2.0);
    // Who delegates, and to whom, is read at the edge: exactly one delegator, a person as
    // `user:…`, and ids that do not parse are answered like unknown ones.
    for (body, status, detail) in [
        (
            json!({"to_agent": a}),
            422,
            "give exactly one of `from_agent` and `from_principal`".to_owned(),
        ),
        (
            json!({"from_agent": b, "from_principal": "user:alice", "to_agent": a}),
            422,
            "give exactly one of `from_agent` and `from_principal`".to_owned(),
        ),
        (
            json!({"from_principal": "alice", "to_agent": a}),
            422,
            "`from_principal` must start with `user:`".to_owned(),
        ),
        (
            json!({"from_principal": "user:al ice", "to_agent": a}),
            422,
            "`from_principal` must be `user:` followed by 1–128 of A-Z a-z 0-9 . _ @ -".to_owned(),
        ),
        (
            json!({"from_agent": "ag_nope", "to_agent": a}),
            404,
            "agent `ag_nope` not found".to_owned(),
        ),
        (
            json!({"from_principal": "user:alice", "to_agent": "b"}),
            404,
            "agent `b` not found".to_owned(),
        ),
        (
            json!({"from_principal": "user:alice", "to_agent": a, "parent_delegation_id": "del_x"}),
            404,
            "delegation `del_x` not found".to_owned(),
        ),
        (
            json!({"from_principal": "user:alice", "to_agent": a, "parent_delegation_id": "del_000000000000000000000000"}),
            404,
            "delegation `del_000000000000000000000000` not found".to_owned(),
        ),
    ] {
        let mut body = body;
        body["task_type"] = json!("code_review");
        body["threshold"] = json!(1.0);
        let (got, answer) = s
            .call_as(&acme, Method::POST, "/delegations", Some(body.clone()))
            .await;
        assert_eq!(
            (got.as_u16(), answer["detail"].as_str()),
            (status, Some(detail.as_str())),
            "{body}"
        );
    }

    let (status, second) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_agent": a, "to_agent": b, "task_type": "code_review", "threshold": 2.0, "parent_delegation_id": first["delegation_id"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let (status, third) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_agent": b, "to_agent": c, "task_type": "code_review", "threshold": 2.0, "parent_delegation_id": second["delegation_id"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    assert_eq!(
        (
            third["depth"].clone(),
            third["root_authority"].clone(),
            third["chain_id"].clone()
        ),
        (json!(3), json!("user:alice"), first["chain_id"].clone())
    );

    let (_, chain) = s
        .get(&format!("/chains/{}", first["chain_id"].as_str().unwrap()))
        .await;
    assert_eq!(chain["root_authority"], "user:alice");
    assert_eq!(chain["terminal_agent"], c.as_str());
    let hops: Vec<(String, String)> = chain["delegations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["from"].as_str().unwrap().to_owned(),
                h["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        vec![
            ("user:alice".to_owned(), a.clone()),
            (a.clone(), b.clone()),
            (b.clone(), c.clone())
        ]
    );

    // A cycle back to `a` and a hop by someone who is not the parent's delegatee.
    let (status, body) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_agent": c, "to_agent": a, "task_type": "code_review", "threshold": 1.0, "parent_delegation_id": third["delegation_id"]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap().contains("cycles"),
        "{body}"
    );
    let (status, _) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_agent": a, "to_agent": c, "task_type": "code_review", "threshold": 1.0, "parent_delegation_id": third["delegation_id"]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Depth: chains stop at 8 hops.
    let mut parent = third["delegation_id"].clone();
    let mut from = c.clone();
    for i in 4..=8 {
        let next = s.proven_agent(&acme, &format!("hop{i}")).await;
        let (status, d) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_agent": from, "to_agent": next, "task_type": "t", "threshold": 1.0, "parent_delegation_id": parent}))).await;
        assert_eq!(status, StatusCode::CREATED, "hop {i}: {d}");
        parent = d["delegation_id"].clone();
        from = next;
    }
    let ninth = s.proven_agent(&acme, "hop9").await;
    let (status, body) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_agent": from, "to_agent": ninth, "task_type": "t", "threshold": 1.0, "parent_delegation_id": parent}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap().contains("8 hops"),
        "{body}"
    );

    // Thresholds fail closed, with the TrustResult that decided it.
    let (status, body) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_principal": "user:bob", "to_agent": a, "task_type": "t", "threshold": 4.99}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            body["code"].clone(),
            body["trust_result"]["meets_threshold"].clone()
        ),
        (json!("below_threshold"), json!(false))
    );
    let cold = s.register_as(&acme, "cold").await;
    let (status, body) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_principal": "user:bob", "to_agent": cold, "task_type": "t", "threshold": 0.0}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["trust_result"]["withheld"], true);

    // Outcome: once; it moves the delegatee's score and history.
    let (_, before) = s.get(&format!("/agents/{c}/trust")).await;
    let path = format!(
        "/delegations/{}/outcome",
        third["delegation_id"].as_str().unwrap()
    );
    let (status, done) = patch(
        &s,
        &s.key,
        &path,
        json!({"outcome": "failure", "feedback": "negative", "notes": "missed the deadline"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        (done["outcome"].clone(), done["feedback"].clone()),
        (json!("failure"), json!("negative"))
    );
    let (_, after) = s.get(&format!("/agents/{c}/trust")).await;
    assert!(
        after["composite_score"].as_f64().unwrap() < before["composite_score"].as_f64().unwrap()
    );
    let (_, history) = s.get(&format!("/agents/{c}/history?limit=1")).await;
    assert_eq!(history["history"][0]["trigger"], "delegation_outcome");
    let (status, _) = patch(&s, &s.key, &path, json!({"outcome": "success"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, got) = s
        .get(&format!(
            "/delegations/{}",
            third["delegation_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(got["notes"], "missed the deadline");

    // Another account cannot set an outcome; history lists both directions.
    let (_, acct) = s
        .post("/admin/accounts", json!({"name": "other", "plan": "pro"}))
        .await;
    let (_, key) = s
        .post(
            &format!("/admin/accounts/{}/keys", acct["id"].as_str().unwrap()),
            json!({"scope": "write"}),
        )
        .await;
    let path2 = format!(
        "/delegations/{}/outcome",
        second["delegation_id"].as_str().unwrap()
    );
    let (status, _) = patch(
        &s,
        key["key"].as_str().unwrap(),
        &path2,
        json!({"outcome": "success"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, h) = s.get(&format!("/agents/{b}/delegation-history")).await;
    assert_eq!(
        h["delegations"].as_array().unwrap().len(),
        2,
        "delegated to b, and by b"
    );

    // Bad requests.
    for body in [
        json!({"from_agent": a, "from_principal": "user:x", "to_agent": b, "task_type": "t", "threshold": 1}),
        json!({"from_principal": "alice", "to_agent": b, "task_type": "t", "threshold": 1}),
        json!({"from_principal": "user:x", "to_agent": b, "task_type": "t", "threshold": 7}),
        json!({"from_principal": "user:x", "to_agent": b, "task_type": "Code Review", "threshold": 1}),
    ] {
        let (status, r) = s
            .call_as(&acme, Method::POST, "/delegations", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {r}");
    }
    let (status, _) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_principal": "user:x", "to_agent": "ag_000000000000000000000000", "task_type": "t", "threshold": 1}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.call_as(&acme, Method::POST, "/delegations", Some(json!({"from_principal": "user:x", "to_agent": b, "task_type": "t", "threshold": 1, "parent_delegation_id": "del_000000000000000000000000"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get("/chains/chain_000000000000000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
