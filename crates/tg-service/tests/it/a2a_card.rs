//! `Gateway::agent_card`: a card only for an agent with an A2A profile, signed over the
//! canonical form of everything else in it, with the trust data of the agent's view.

use serde_json::Value;
use tg_core::Timestamp;
use tg_identity::A2aProfile;
use tg_service::ServiceError;

use crate::support::Setup;

fn profile() -> A2aProfile {
    serde_json::from_value(serde_json::json!({"url": "https://mailer.example/a2a"})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_is_served_only_with_a_profile_and_signed_over_the_rest() {
    let s = Setup::new().await;
    let tenant = s.tenant("acme").await;
    let id = s.agent(&tenant, "mailer").await;

    let none = s.g.agent_card(&id).await.expect_err("no profile, no card");
    assert!(matches!(none, ServiceError::NotFound(_)), "{none:?}");

    s.g.set_a2a_profile(&tenant, &s.actor(&tenant), &id, Some(profile()))
        .await
        .unwrap();
    let mut card = s.g.agent_card(&id).await.unwrap();
    let trust = &card["capabilities"]["extensions"][0]["params"];
    assert_eq!(trust["agent_id"], id.as_str());
    assert_eq!(trust["issuer"], s.g.tokens().issuer());
    let issued = Timestamp::parse_rfc3339(trust["issued_at"].as_str().unwrap()).unwrap();
    let expires = Timestamp::parse_rfc3339(trust["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires.as_secs() - issued.as_secs(), 3600);

    // The signature covers the canonical card without `signatures`.
    let Some(Value::Array(signatures)) = card.as_object_mut().unwrap().remove("signatures") else {
        panic!("the card is not signed: {card}");
    };
    let [signature] = signatures.as_slice() else {
        panic!("one signature expected: {signatures:?}");
    };
    let jws = tg_tokens::DetachedJws {
        protected: signature["protected"].as_str().unwrap().to_owned(),
        signature: signature["signature"].as_str().unwrap().to_owned(),
    };
    let canonical = serde_jcs::to_vec(&card).unwrap();
    let jwks = s.g.tokens().jwks();
    tg_tokens::verify_detached(&jwks, &jws, &canonical, tg_tokens::Signed::A2aCard)
        .expect("the signature verifies against the JWKS");
    let mut tampered = card.clone();
    tampered["name"] = "someone else".into();
    let tampered = serde_jcs::to_vec(&tampered).unwrap();
    assert!(
        tg_tokens::verify_detached(&jwks, &jws, &tampered, tg_tokens::Signed::A2aCard).is_err()
    );
}
