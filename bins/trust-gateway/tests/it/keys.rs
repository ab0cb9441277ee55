use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{KeyPair, PKCS_ED25519, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

pub(crate) fn message(agent: &str, nonce: &str) -> Vec<u8> {
    [
        b"trust-gateway/ed25519-challenge/v1\0".as_slice(),
        agent.as_bytes(),
        nonce.as_bytes(),
    ]
    .concat()
}

pub(crate) async fn challenge(s: &Server, id: &str) -> String {
    let (status, c) = s.post(&format!("/agents/{id}/challenge"), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    c["nonce"].as_str().unwrap().to_owned()
}

pub(crate) async fn answer(
    s: &Server,
    id: &str,
    nonce: &str,
    signature: &[u8],
) -> (StatusCode, Value) {
    s.post(
        &format!("/agents/{id}/challenge/verify"),
        json!({"nonce": nonce, "signature": STANDARD.encode(signature)}),
    )
    .await
}

/// Ed25519 proof of possession raises an agent to level 2; replays, other keys and
/// malformed signatures fail; pending challenges are bounded; a rotated key is unproven.
pub async fn ed25519_challenge_response(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("signer").await;
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let path = format!("/agents/{id}/public-key");

    let (status, _) = s.post(&format!("/agents/{id}/challenge"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "no key registered yet");
    let (status, body) = s
        .put(
            &path,
            json!({"public_key": key.public_key_pem(), "key_algorithm": "RSA"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let ec = KeyPair::generate().unwrap();
    let (status, body) = s
        .put(
            &path,
            json!({"public_key": ec.public_key_pem(), "key_algorithm": "Ed25519"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not an Ed25519 key")
    );
    let (status, agent) = s
        .put(
            &path,
            json!({"public_key": key.public_key_pem(), "key_algorithm": "Ed25519"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{agent}");
    assert_eq!(
        agent["verification_level"], 1,
        "api_key attestation, key not yet proven"
    );

    let nonce = challenge(&s, &id).await;
    let good = key.sign(&message(&id, &nonce)).unwrap();
    let (status, agent) = answer(&s, &id, &nonce, &good).await;
    assert_eq!(status, StatusCode::OK, "{agent}");
    assert_eq!(agent["verification_level"], 2);
    assert!(
        agent["badges"]
            .as_array()
            .unwrap()
            .contains(&json!("key_verified"))
    );
    // Replay of a good answer.
    let (status, body) = answer(&s, &id, &nonce, &good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already answered")
    );

    // Another key's signature fails and consumes the challenge.
    let nonce = challenge(&s, &id).await;
    let other = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let (status, body) = answer(&s, &id, &nonce, &other.sign(&message(&id, &nonce)).unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["detail"].as_str().unwrap().contains("does not verify"));
    let (status, _) = answer(&s, &id, &nonce, &key.sign(&message(&id, &nonce)).unwrap()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a consumed nonce cannot be retried"
    );
    // Truncated signature.
    let nonce = challenge(&s, &id).await;
    let sig = key.sign(&message(&id, &nonce)).unwrap();
    let (status, body) = answer(&s, &id, &nonce, &sig[..40]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["detail"].as_str().unwrap().contains("64 bytes"));

    // Pending challenges are bounded.
    for _ in 0..5 {
        challenge(&s, &id).await;
    }
    let (status, body) = s.post(&format!("/agents/{id}/challenge"), json!({})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    // Rotating the key clears the proof.
    let (_, agent) = s
        .put(
            &path,
            json!({"public_key": other.public_key_pem(), "key_algorithm": "Ed25519"}),
        )
        .await;
    assert_eq!(agent["verification_level"], 1);
    assert!(
        !agent["badges"]
            .as_array()
            .unwrap()
            .contains(&json!("key_verified"))
    );
}

/// A reported config hash other than the approved one lowers the config factor, writes a
/// `config_drift` history point, and an admin approval restores it.
pub async fn config_drift_lowers_the_score_until_approved(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let id = s.proven_agent(&acme, "configured").await;
    let (_, before) = s.get(&format!("/agents/{id}/trust")).await;
    assert_eq!(before["config_score"], 1.0);
    let (status, drifted) = s
        .post(
            &format!("/agents/{id}/config"),
            json!({"config_hash": "sha256-new"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{drifted}");
    assert_eq!(drifted["config_score"], 0.3);
    assert!(
        drifted["composite_score"].as_f64().unwrap() < before["composite_score"].as_f64().unwrap()
    );
    let config_factor = drifted["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "config")
        .unwrap()
        .clone();
    assert!(
        config_factor["evidence"]
            .as_str()
            .unwrap()
            .contains("differs")
    );
    let (_, history) = s.get(&format!("/agents/{id}/history?limit=1")).await;
    assert_eq!(history["history"][0]["trigger"], "config_drift");

    let (status, approved) = s
        .post(&format!("/agents/{id}/config/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(approved["config_score"], 1.0);
    let (_, agent) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(agent["approved_config_hash"], "sha256-new");

    let (status, _) = s.post(&format!("/agents/{id}/config"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s
        .post(&format!("/agents/{id}/config"), json!({"config_hash": ""}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
