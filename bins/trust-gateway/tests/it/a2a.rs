//! A2A agent cards: public, A2A v1.0 JSON, trust data in the extension, signed over the
//! RFC 8785 canonical card with a key the JWKS publishes — checked by an independent JOSE
//! implementation here and by the A2A project's own Python SDK.
//!
//! The SDK: `TEST_A2A_PYTHON` names a python3 with `a2a-sdk[signing]` (`.ci/run` installs
//! it and sets it), else `python3` if it can import `a2a`. When neither is there that part
//! says so and does not run; when the variable is set it must.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Backend, Server, assert_ran, python_with};

const SDK_CHECK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/verify_a2a_card.py");

fn profile() -> Value {
    json!({
        "url": "https://agents.example.com/summariser/a2a",
        "description": "Summarises long documents.",
        "version": "2.1.0",
        "provider": {"organization": "Example Corp", "url": "https://example.com"},
        "input_modes": ["text/plain", "application/json"]
    })
}

/// The card, fetched without a key.
async fn fetch_card(s: &Server, id: &str) -> (reqwest::StatusCode, Value) {
    let r = reqwest::get(format!("{}/agents/{id}/agent-card.json", s.base))
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// Checks the card's signature with `jsonwebtoken` (RustCrypto) against the JWKS key its
/// `kid` names; the payload is the RFC 8785 form of the card without `signatures`.
fn verify_signature(card: &Value, jwks: &JwkSet) -> bool {
    let sig = &card["signatures"][0];
    let protected = sig["protected"].as_str().unwrap();
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(protected).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let jwk = jwks
        .find(header["kid"].as_str().unwrap())
        .expect("the signature's kid is in the JWKS");
    let mut unsigned = card.clone();
    unsigned.as_object_mut().unwrap().remove("signatures");
    let canonical = serde_jcs::to_vec(&unsigned).unwrap();
    let message = format!("{protected}.{}", URL_SAFE_NO_PAD.encode(canonical));
    jsonwebtoken::crypto::verify(
        sig["signature"].as_str().unwrap(),
        message.as_bytes(),
        &DecodingKey::from_jwk(jwk).unwrap(),
        Algorithm::EdDSA,
    )
    .unwrap()
}

pub async fn a2a_cards_are_signed_and_carry_the_trust_data(backend: Backend) {
    let s = crate::support::start(backend).await;
    let (status, agent) = s
        .post(
            "/agents/register",
            json!({"name": "summariser", "provider": "anthropic", "config_hash": "sha256-s1",
                "capabilities": ["summarise", "translate"], "attestation": {"type": "api_key"},
                "a2a": profile()}),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    assert_eq!(
        agent["a2a"]["protocol_binding"], "JSONRPC",
        "defaults filled in"
    );
    let id = agent["id"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        s.record(&id, "summarise", "success").await;
    }
    let (_, now) = s.get(&format!("/agents/{id}")).await;

    let (status, card) = fetch_card(&s, &id).await;
    assert_eq!(status, 200, "public, no key: {card}");
    assert_eq!(card["name"], "summariser");
    assert_eq!(card["description"], "Summarises long documents.");
    assert_eq!(card["version"], "2.1.0");
    assert_eq!(
        card["supportedInterfaces"],
        json!([{"url": "https://agents.example.com/summariser/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}])
    );
    assert_eq!(
        card["provider"],
        json!({"organization": "Example Corp", "url": "https://example.com"})
    );
    assert_eq!(
        card["defaultInputModes"],
        json!(["text/plain", "application/json"])
    );
    let skills: Vec<&str> = card["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(skills, ["summarise", "translate"]);
    let ext = &card["capabilities"]["extensions"][0];
    assert_eq!(ext["uri"], "urn:trust-gateway:a2a:trust:v1");
    let p = &ext["params"];
    assert_eq!(p["agent_id"], id.as_str());
    assert!(
        (p["trust_score"].as_f64().unwrap() - now["trust_score"].as_f64().unwrap()).abs() < 1e-6
    );
    assert_eq!(p["trust_tier"], now["trust_tier"]);
    assert_eq!(p["verification_level"], 1);
    assert_eq!(p["status"], "active");
    assert_eq!(p["issuer"], "trust-gateway");
    let issued = tg_core::Timestamp::parse_rfc3339(p["issued_at"].as_str().unwrap()).unwrap();
    let expires = tg_core::Timestamp::parse_rfc3339(p["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires.as_secs() - issued.as_secs(), 3600);

    // The signature verifies with the published key, and covers every field.
    let (_, jwks) = s.get("/.well-known/jwks.json").await;
    let jwks: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    assert_eq!(card["signatures"].as_array().unwrap().len(), 1);
    assert!(verify_signature(&card, &jwks));
    let mut tampered = card.clone();
    tampered["capabilities"]["extensions"][0]["params"]["trust_tier"] = json!(3);
    assert!(!verify_signature(&tampered, &jwks));

    // The A2A project's own SDK parses, validates and verifies it.
    match python_with("TEST_A2A_PYTHON", "a2a") {
        None => eprintln!("no a2a-sdk (set TEST_A2A_PYTHON): the A2A SDK check not run"),
        Some(python) => {
            let dir = tempfile::tempdir().unwrap();
            let (card_file, jwks_file) =
                (dir.path().join("card.json"), dir.path().join("jwks.json"));
            std::fs::write(&card_file, card.to_string()).unwrap();
            let (_, raw_jwks) = s.get("/.well-known/jwks.json").await;
            std::fs::write(&jwks_file, raw_jwks.to_string()).unwrap();
            let out = std::process::Command::new(python)
                .arg(SDK_CHECK)
                .arg(&card_file)
                .arg(&jwks_file)
                .output()
                .unwrap();
            assert_ran(&out, "the A2A SDK refuses the card");
        }
    }

    // The profile can be changed and removed; every change is audited.
    let (status, bad) = s
        .put(&format!("/agents/{id}/a2a"), json!({"url": "ftp://nope"}))
        .await;
    assert_eq!(status, 422, "{bad}");
    let (status, changed) = s
        .put(
            &format!("/agents/{id}/a2a"),
            json!({"url": "https://agents.example.com/v2", "protocol_binding": "HTTP+JSON"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let (_, card) = fetch_card(&s, &id).await;
    assert_eq!(
        card["supportedInterfaces"][0]["protocolBinding"],
        "HTTP+JSON"
    );
    assert_eq!(
        card["version"], "sha256-s1",
        "default version: the config hash"
    );
    assert!(verify_signature(&card, &jwks));
    let (status, _) = s
        .call(Method::DELETE, &format!("/agents/{id}/a2a"), None)
        .await;
    assert_eq!(status, 200);
    let (status, gone) = fetch_card(&s, &id).await;
    assert_eq!(status, 404);
    assert!(
        gone["detail"].as_str().unwrap().contains("no A2A profile"),
        "{gone}"
    );
    let (_, audit) = s
        .get(&format!("/agents/{id}/audit?type=agent_profile_changed"))
        .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2, "{audit}");

    // No card for an unknown agent, an agent without a profile, or a revoked one.
    let (status, _) = fetch_card(&s, "ag_000000000000000000000000").await;
    assert_eq!(status, 404);
    let other = s.register("no-profile").await;
    let (status, e) = fetch_card(&s, &other).await;
    assert_eq!(
        (status.as_u16(), e["code"].as_str()),
        (404, Some("not_found"))
    );
    s.put(&format!("/agents/{other}/a2a"), profile()).await;
    assert_eq!(fetch_card(&s, &other).await.0, 200);
    let (status, _) = s.post(&format!("/agents/{other}/revoke"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        fetch_card(&s, &other).await.0,
        404,
        "a revoked agent has no card"
    );
}
