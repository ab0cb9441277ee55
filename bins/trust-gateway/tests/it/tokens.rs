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

    let jwks: JwkSet = s
        .client
        .get(format!("{}/.well-known/jwks.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
