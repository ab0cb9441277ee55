use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, fresh_db, start, start_on};

fn validation(alg: Algorithm, audience: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.set_audience(&[audience]);
    v.set_issuer(&["trust-gateway"]);
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    v
}

/// Tokens verify offline with `/.well-known/jwks.json` in an independent JOSE library.
pub async fn tokens_verify_with_the_published_jwks(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("tool-user").await;
    for _ in 0..6 {
        s.record(&id, "read_data", "success").await;
    }
    let (status, t) = s
        .post(&format!("/agents/{id}/token?expires_in=120"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["expires_in"], 120);
    assert_eq!(t["alg"], "EdDSA");
    let token = t["token"].as_str().unwrap();

    let jwks: JwkSet = s.jwks().await;
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let claims =
        jsonwebtoken::decode::<Value>(token, &key, &validation(Algorithm::EdDSA, "trust-gateway"))
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["name"], "tool-user");
    assert_eq!(claims["tier"], t["tier"]);
    assert_eq!(claims["permitted_actions"], t["permitted_actions"]);
    assert_eq!(claims["jti"], t["jti"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert!(
        jsonwebtoken::decode::<Value>(token, &key, &validation(Algorithm::EdDSA, "billing-api"))
            .is_err(),
        "audience enforced"
    );

    // Another instance on the same database publishes and signs with the same key.
    let (db, dir) = (s.db.clone(), tempfile::tempdir().unwrap());
    let twin = start_on(&db, dir, &[]).await;
    let twin_jwks: Value = twin
        .client
        .get(format!("{}/.well-known/jwks.json", twin.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(twin_jwks["keys"][0]["kid"], kid.as_str());

    // With JWT_SECRET, tokens are HS256 (V2 compatibility).
    let (db, dir) = fresh_db(backend).await;
    let hs = start_on(
        &db,
        dir,
        &[("JWT_SECRET", "v2-shared-secret-0123456789abcdefXYZ")],
    )
    .await;
    let id = hs.register("legacy").await;
    let (_, t) = hs.post(&format!("/agents/{id}/token"), json!({})).await;
    assert_eq!(
        (t["alg"].clone(), t["expires_in"].clone()),
        (json!("HS256"), json!(3600))
    );
    let key = DecodingKey::from_secret(b"v2-shared-secret-0123456789abcdefXYZ");
    let claims = jsonwebtoken::decode::<Value>(
        t["token"].as_str().unwrap(),
        &key,
        &validation(Algorithm::HS256, "trust-gateway"),
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], id.as_str());
}

/// `POST /tokens/revoke` by the token or by its `jti`, only by the agent's account; a revoked
/// token introspects inactive and proves no interaction; suspending the agent voids every
/// token it had, and reactivation revives none of them.
pub async fn tokens_are_revoked_and_die_with_a_suspension(backend: Backend) {
    use reqwest::Method;
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let (_, globex) = s.tenant("globex").await;
    let agent = s.register_as(&acme, "bot").await;
    for _ in 0..5 {
        s.record_as(&acme, &agent, "read_data", "success", None)
            .await;
    }
    let active = |token: String| {
        let s = &s;
        async move {
            let (status, i) = s.post("/tokens/introspect", json!({"token": token})).await;
            assert_eq!(status, StatusCode::OK, "{i}");
            i
        }
    };
    let revoke = |key: String, body: Value| {
        let s = &s;
        async move {
            s.call_as(&key, Method::POST, "/tokens/revoke", Some(body))
                .await
        }
    };

    let t1 = s.token_as(&acme, &agent).await;
    let jti1 = active(t1.clone()).await["jti"].as_str().unwrap().to_owned();
    let (status, r) = s
        .record_as(&s.key, &agent, "read_data", "success", Some(&t1))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");

    // Another tenant cannot revoke it, by token or by jti.
    let (status, _) = revoke(globex.clone(), json!({"token": t1})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = revoke(globex.clone(), json!({"jti": jti1, "agent_id": agent})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(active(t1.clone()).await["active"], true);

    // The owner can; twice is fine.
    for _ in 0..2 {
        let (status, r) = revoke(acme.clone(), json!({"token": t1})).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(
            (r["revoked"].clone(), r["jti"].clone()),
            (json!(true), json!(jti1))
        );
    }
    assert_eq!(active(t1.clone()).await, json!({"active": false}));
    let (status, r) = s
        .record_as(&s.key, &agent, "read_data", "success", Some(&t1))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("revoked"), "{r}");

    // By jti, as RFC 7009's form too.
    let t2 = s.token_as(&acme, &agent).await;
    let jti2 = active(t2.clone()).await["jti"].as_str().unwrap().to_owned();
    let (status, r) = revoke(acme.clone(), json!({"jti": jti2, "agent_id": agent})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(active(t2).await["active"], false);
    let t3 = s.token_as(&acme, &agent).await;
    let resp = s
        .client
        .post(format!("{}/tokens/revoke", s.base))
        .header("X-API-Key", &acme)
        .form(&[("token", t3.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(active(t3).await["active"], false);

    // A suspension voids every token the agent had; reactivation revives none.
    let before = s.token_as(&acme, &agent).await;
    for step in ["suspend", "reactivate"] {
        let (status, r) = s
            .call_as(
                &acme,
                Method::POST,
                &format!("/agents/{agent}/{step}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{step}: {r}");
    }
    assert_eq!(active(before.clone()).await["active"], false);
    let (status, _) = s
        .record_as(&s.key, &agent, "read_data", "success", Some(&before))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, d) = s
        .call_as(
            &s.key,
            Method::POST,
            "/delegations",
            Some(json!({"from_principal": "user:x", "to_agent": agent, "task_type": "t", "threshold": 0, "token": before})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an old token proves no hand-off: {d}"
    );
    assert!(d["detail"].as_str().unwrap().contains("suspended"), "{d}");
    let after = s.token_as(&acme, &agent).await;
    assert_eq!(active(after).await["active"], true);

    // Bad requests: a clear 4xx.
    for body in [
        json!({}),
        json!({"token": "a.b.c", "jti": "x", "agent_id": agent}),
        json!({"jti": "x"}),
        json!({"token": "not-a-token"}),
        json!({"jti": "bad jti!", "agent_id": agent}),
        json!({"token": "x", "extra": 1}),
    ] {
        let (status, r) = revoke(acme.clone(), body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {r}");
    }
    let resp = s
        .client
        .post(format!("{}/tokens/revoke", s.base))
        .header("X-API-Key", &acme)
        .header("content-type", "text/plain")
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
