//! Offline token verification with the cached JWKS, as a tool server runs it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;
use tg_core::{ManualClock, Timestamp};
use tg_sdk::wire::agents::TokenQuery;
use tg_sdk::{Error, TokenError, TokenVerifier};

use crate::session::{record, registration};
use crate::support::{Gateway, script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_servers_check_tokens_without_calling_the_gateway() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let agent = c.register_agent(&registration("caller")).await.unwrap();
    record(&c, &agent.id, "read_data", 20).await;
    let grant = c
        .issue_token(&agent.id, &TokenQuery::default())
        .await
        .unwrap();
    let verifier = TokenVerifier::fetch(&c, "trust-gateway", "trust-gateway")
        .await
        .unwrap();
    let jwks = c.get_jwks().await.unwrap();
    // A rotation is picked up by an explicit refresh (and by the refetch on an unknown kid).
    let rotated = c.rotate_signing_key().await.unwrap();
    verifier.refresh().await.unwrap();
    assert_eq!(verifier.kids().len(), 2);
    assert!(verifier.kids().contains(&rotated.keys[1].kid));

    // From here on the gateway is gone: verification needs only the cached keys.
    gw.stop().await;
    let claims = verifier.authorize(&grant.token, "read_data").await.unwrap();
    assert_eq!(claims.sub, agent.id.as_str());
    assert_eq!(claims.jti, grant.jti);
    assert!(matches!(
        verifier.authorize(&grant.token, "delete_database").await,
        Err(Error::NotPermitted(a)) if a == "delete_database"
    ));
    let mut forged = grant.token.clone();
    forged.pop();
    forged.push(if grant.token.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(
        verifier.verify(&forged).await,
        Err(Error::Token(TokenError::Signature | TokenError::Malformed))
    ));
    // A service expecting another audience refuses the token.
    let elsewhere = TokenVerifier::from_jwks(&jwks, "trust-gateway", "billing-api").unwrap();
    assert!(matches!(
        elsewhere.verify_offline(&grant.token),
        Err(Error::Token(TokenError::InvalidClaim("aud")))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_once_and_refetches_are_rate_limited() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let agent = c.register_agent(&registration("caller")).await.unwrap();
    let token = c
        .issue_token(&agent.id, &TokenQuery::default())
        .await
        .unwrap()
        .token;
    let jwks = c.get_jwks().await.unwrap();

    // A gateway whose JWKS did not yet hold the key, then did (a rotation in between).
    let s = script(vec![
        Some((200, json!({"keys": []}).to_string())),
        Some((200, jwks.to_string())),
    ])
    .await;
    let stand_in = tg_sdk::Client::builder(&s.base).build().unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let verifier = TokenVerifier::fetch(&stand_in, "trust-gateway", "trust-gateway")
        .await
        .unwrap()
        .with_clock(clock.clone());
    assert!(verifier.kids().is_empty());
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);

    // Within the refetch interval an unknown kid is refused without asking again.
    assert!(matches!(
        verifier.verify(&token).await,
        Err(Error::Token(TokenError::UnknownKey))
    ));
    assert_eq!(s.hits.load(Ordering::SeqCst), 1);
    // After it, one fetch brings the new key and the token verifies.
    clock.advance_secs(tg_sdk::REFETCH_AFTER_SECS);
    assert_eq!(
        verifier.verify(&token).await.unwrap().sub,
        agent.id.as_str()
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);
    // Known keys never cause a fetch.
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_servers_take_dpop_bound_tokens_only_with_a_fresh_proof_by_their_key() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let agent = c.register_agent(&registration("bound")).await.unwrap();
    record(&c, &agent.id, "read_data", 20).await;
    // The agent's side: a key, a token bound to it, a proof per call.
    let holder = tg_sdk::DpopKey::generate().unwrap();
    let grant = c
        .issue_bound_token(&agent.id, &TokenQuery::default(), &holder)
        .await
        .unwrap();
    assert_eq!(grant.token_type, "DPoP");
    let token = grant.token;

    // The tool server's side.
    let verifier = TokenVerifier::fetch(&c, "trust-gateway", "trust-gateway")
        .await
        .unwrap();
    gw.stop().await;
    assert!(matches!(
        verifier.verify(&token).await,
        Err(Error::Token(TokenError::ProofRequired))
    ));
    let tool = "https://tools.example/data?page=2";
    let proof = holder.proof(
        "GET",
        "https://tools.example/data",
        Some(&token),
        Timestamp::now(),
    );
    let claims = verifier
        .authorize_dpop(&token, &proof, "GET", tool, "read_data")
        .await
        .unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.cnf_jkt),
        (agent.id.as_str(), Some(holder.thumbprint()))
    );
    assert!(matches!(
        verifier.verify_dpop(&token, &proof, "GET", tool).await,
        Err(Error::Token(TokenError::Dpop(tg_sdk::DpopError::Replayed)))
    ));
    let thief = tg_sdk::DpopKey::generate().unwrap();
    let stolen = thief.proof(
        "GET",
        "https://tools.example/data",
        Some(&token),
        Timestamp::now(),
    );
    assert!(matches!(
        verifier.verify_dpop(&token, &stolen, "GET", tool).await,
        Err(Error::Token(TokenError::Dpop(tg_sdk::DpopError::WrongKey)))
    ));
    let fresh = holder.proof(
        "GET",
        "https://tools.example/data",
        Some(&token),
        Timestamp::now(),
    );
    assert!(matches!(
        verifier
            .authorize_dpop(&token, &fresh, "GET", tool, "delete_database")
            .await,
        Err(Error::NotPermitted(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_exchanged_for_a_narrower_one() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let agent = c.register_agent(&registration("narrow")).await.unwrap();
    record(&c, &agent.id, "read_data", 20).await;
    let token = c
        .issue_token(&agent.id, &TokenQuery::default())
        .await
        .unwrap()
        .token;
    let req = tg_sdk::wire::oauth::TokenExchangeRequest {
        grant_type: tg_sdk::wire::oauth::TOKEN_EXCHANGE_GRANT.into(),
        subject_token: token,
        subject_token_type: "urn:ietf:params:oauth:token-type:access_token".into(),
        scope: Some("read_data".into()),
        audience: Some("https://tools.example/data".into()),
        ..Default::default()
    };
    let got = c.exchange_token(&req).await.unwrap();
    assert_eq!(
        (got.scope.as_str(), got.token_type.as_str()),
        ("read_data", "Bearer")
    );
    let jwks = c.get_jwks().await.unwrap();
    let tool =
        TokenVerifier::from_jwks(&jwks, "trust-gateway", "https://tools.example/data").unwrap();
    assert_eq!(
        tool.verify_offline(&got.access_token)
            .unwrap()
            .permitted_actions,
        ["read_data"]
    );
    let wider = tg_sdk::wire::oauth::TokenExchangeRequest {
        scope: Some("read_data launch_rockets".into()),
        ..req
    };
    assert!(
        matches!(
            c.exchange_token(&wider).await,
            Err(Error::Api { status: 400, .. })
        ),
        "invalid_scope"
    );
}
