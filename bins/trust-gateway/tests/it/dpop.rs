//! DPoP (RFC 9449) over HTTP: tokens bound to a proof's key at issue and at exchange,
//! refused as bearer tokens, and used only with fresh proofs by that key.

use rcgen::{KeyPair, PKCS_ED25519, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tg_core::Timestamp;
use tg_tokens::{DpopError, DpopKey, DpopTarget, JwksVerifier, ReplayCache, TokenError};

use crate::support::{Backend, Server, start};

/// A DPoP proof by `key` for `htm` `htu`, now, with `ath` over `token` when given.
fn proof(key: &DpopKey, htm: &str, htu: &str, token: Option<&str>) -> String {
    key.proof(htm, htu, token, Timestamp::now())
}

/// `POST /agents/{id}/token` with these `DPoP` headers.
async fn token_with(s: &Server, id: &str, proofs: &[&str]) -> (StatusCode, Value) {
    let mut req = s
        .client
        .post(format!("{}/agents/{id}/token", s.base))
        .header("X-API-Key", &s.key)
        .json(&json!({}));
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

fn refused_proof(got: &(StatusCode, Value)) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
        "{}",
        got.1
    );
}

/// A token issued with a proof is bound to its key: refused as a bearer token, accepted
/// with a fresh proof by that key for the request, refused with another key's proof or a
/// replayed one; issue-time proofs are checked for this URL and used once.
pub async fn dpop_binds_tokens_to_the_proofs_key(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("dpop-bot").await;
    for _ in 0..6 {
        s.record(&id, "read_data", "success").await;
    }
    let holder = DpopKey::generate().unwrap();
    let issue_url = format!("{}/agents/{id}/token", s.base);
    let good = proof(&holder, "POST", &issue_url, None);
    let got = token_with(&s, &id, &[&good]).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    assert_eq!(got.1["token_type"], "DPoP");
    let token = got.1["token"].as_str().unwrap().to_owned();
    let jkt = holder.thumbprint();

    // Issue-time proofs: used once, for this URL and method, one header, well-formed.
    refused_proof(&token_with(&s, &id, &[&good]).await);
    refused_proof(
        &token_with(
            &s,
            &id,
            &[&proof(
                &holder,
                "POST",
                &format!("{}/agents/{id}/other", s.base),
                None,
            )],
        )
        .await,
    );
    refused_proof(&token_with(&s, &id, &[&proof(&holder, "GET", &issue_url, None)]).await);
    let (a, b) = (
        proof(&holder, "POST", &issue_url, None),
        proof(&holder, "POST", &issue_url, None),
    );
    refused_proof(&token_with(&s, &id, &[&a, &b]).await);
    refused_proof(&token_with(&s, &id, &["not-a-proof"]).await);

    // Introspection shows the binding.
    let resp = s
        .client
        .post(format!("{}/tokens/introspect", s.base))
        .header("X-API-Key", &s.key)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            seen["active"].clone(),
            seen["token_type"].clone(),
            seen["cnf"].clone()
        ),
        (json!(true), json!("DPoP"), json!({"jkt": jkt})),
        "{seen}"
    );

    // A tool server, offline from the JWKS.
    let verifier =
        JwksVerifier::new(&s.jwks::<Value>().await, "trust-gateway", "trust-gateway").unwrap();
    let now = Timestamp::now();
    let replay = ReplayCache::new(100);
    let tool = "https://tools.example/mail/send";
    let target = DpopTarget {
        method: "POST",
        uri: tool,
    };
    assert_eq!(
        verifier.verify(&token, now).err(),
        Some(TokenError::ProofRequired),
        "no proof"
    );
    let used = proof(&holder, "POST", tool, Some(&token));
    assert_eq!(
        verifier
            .verify_dpop(&token, &used, target, now, &replay)
            .unwrap()
            .cnf_jkt
            .as_deref(),
        Some(jkt.as_str())
    );
    assert_eq!(
        verifier
            .verify_dpop(&token, &used, target, now, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::Replayed)),
        "replayed"
    );
    let thief = DpopKey::generate().unwrap();
    let stolen = proof(&thief, "POST", tool, Some(&token));
    assert_eq!(
        verifier
            .verify_dpop(&token, &stolen, target, now, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::WrongKey)),
        "another key"
    );

    // A bound token is no bearer proof anywhere online: not as a witness's token.
    let (_, other) = s.tenant("other").await;
    let (status, body) = s
        .record_as(&other, &id, "read_data", "success", Some(&token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Token exchange binds the new token to its own proof's key; a bound subject token is
    // refused there (its proof would be for another request).
    let bearer = s.token_as(&s.key, &id).await;
    let exchange_url = format!("{}/oauth/token", s.base);
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token", bearer.as_str()),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
    ];
    let resp = s
        .client
        .post(&exchange_url)
        .header("X-API-Key", &s.key)
        .header("DPoP", proof(&holder, "POST", &exchange_url, None))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let exchanged = body["access_token"].as_str().unwrap();
    assert_eq!(
        verifier.verify(exchanged, now).err(),
        Some(TokenError::ProofRequired)
    );
    let form = [form[0], ("subject_token", token.as_str()), form[2]];
    let resp = s
        .client
        .post(&exchange_url)
        .header("X-API-Key", &s.key)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

/// An agent that proved an Ed25519 key binds its tokens to that key only.
pub async fn an_agent_with_a_proven_key_binds_tokens_to_it_only(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("keyed").await;
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let (status, body) = s
        .put(
            &format!("/agents/{id}/public-key"),
            json!({"public_key": key.public_key_pem(), "key_algorithm": "Ed25519"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let issue_url = format!("{}/agents/{id}/token", s.base);
    // Registered but not proven yet: any key may bind.
    let stranger = DpopKey::generate().unwrap();
    assert_eq!(
        token_with(&s, &id, &[&proof(&stranger, "POST", &issue_url, None)])
            .await
            .0,
        StatusCode::OK
    );

    let nonce = crate::keys::challenge(&s, &id).await;
    let signature = key.sign(&crate::keys::message(&id, &nonce)).unwrap();
    let (status, body) = crate::keys::answer(&s, &id, &nonce, &signature).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let got = token_with(&s, &id, &[&proof(&stranger, "POST", &issue_url, None)]).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);
    let own = DpopKey::from_pkcs8(&key.serialize_der()).unwrap();
    let got = token_with(&s, &id, &[&proof(&own, "POST", &issue_url, None)]).await;
    assert_eq!(
        (got.0, got.1["token_type"].clone()),
        (StatusCode::OK, json!("DPoP")),
        "{}",
        got.1
    );
    // Without a proof it is a bearer token as before.
    let got = token_with(&s, &id, &[]).await;
    assert_eq!(
        (got.0, got.1["token_type"].clone()),
        (StatusCode::OK, json!("Bearer")),
        "{}",
        got.1
    );
}
