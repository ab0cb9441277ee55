//! Token-signing key rotation: publish first, sign later, retire to unpublish — on the
//! service with an injected clock (two instances on one database), over HTTP on both
//! stores, and from the command line.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tg_core::{AgentId, Clock, ManualClock, Timestamp};
use tg_identity::TrustBundles;
use tg_scoring::{Policy, Preset};
use tg_service::{Gateway, SIGNING_KEY_PUBLISH_AHEAD_SECS, ServiceError};
use tg_tokens::{TokenError, TokenRequest};

use crate::accounts::{as_key, new_key};
use crate::support::{Backend, start};

/// 2027-01-01T00:00:00Z
const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

fn request() -> TokenRequest {
    TokenRequest {
        agent_id: AgentId::generate(),
        name: "tool-user".into(),
        tier: 2,
        trust_score: 0.6,
        permitted_actions: vec!["read_data".into()],
        expires_in: 3600,
        epoch: 0,
        state_version: 0,
        exchange: None,
        jkt: None,
    }
}

/// The `kid` in a token's header.
fn kid(token: &str) -> String {
    use base64::Engine;
    let head = token.split('.').next().unwrap();
    let head = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .unwrap();
    serde_json::from_slice::<Value>(&head).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn kids(g: &Gateway) -> Vec<String> {
    g.tokens().jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_published_first_signs_later_and_retiring_unpublishes_it() {
    let clock = Arc::new(ManualClock::new(T0));
    let a = crate::support::service(
        clock.clone(),
        TrustBundles::default(),
        Policy::preset(Preset::Default),
    )
    .await;
    // A second instance on the same database.
    let mut config = tg_service::GatewayConfig::in_process(
        b"clocked-secret-0123456789abcdefghijklmnop".to_vec(),
        crate::support::SERVICE_KEY,
    );
    config.clock = clock.clone();
    let b = Gateway::start(Arc::clone(a.store()), config).await.unwrap();
    let (op, actor) = (a.operator(), a.actor(Some(&a.operator()), None));

    let first = a.signing_keys(&op).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].current);
    let old = first[0].kid.clone();
    let old_token = a.tokens().issue(&request(), T0).unwrap().token;
    assert_eq!(kid(&old_token), old);

    clock.advance_secs(10);
    let keys = a.rotate_signing_key(&op, &actor).await.unwrap();
    assert_eq!(keys.len(), 2);
    let new = keys[1].kid.clone();
    assert!(keys[0].current && !keys[1].current);
    assert_eq!(
        keys[1].signs_from,
        keys[1].created_at.plus_secs(SIGNING_KEY_PUBLISH_AHEAD_SECS)
    );
    // Published at once here; the old key still signs.
    assert_eq!(kids(&a), [old.clone(), new.clone()]);
    assert_eq!(
        kid(&a.tokens().issue(&request(), clock.now()).unwrap().token),
        old
    );
    // The other instance publishes it from its next reload on.
    assert_eq!(kids(&b), std::slice::from_ref(&old));
    b.reload_signing_keys().await.unwrap();
    assert_eq!(kids(&b), [old.clone(), new.clone()]);

    // A second too early, nothing changes; then the new key signs on both.
    clock.advance_secs(SIGNING_KEY_PUBLISH_AHEAD_SECS - 1);
    a.reload_signing_keys().await.unwrap();
    assert_eq!(
        kid(&a.tokens().issue(&request(), clock.now()).unwrap().token),
        old
    );
    clock.advance_secs(1);
    for g in [&a, &b] {
        g.reload_signing_keys().await.unwrap();
        let t = g.tokens().issue(&request(), clock.now()).unwrap().token;
        assert_eq!(kid(&t), new);
        assert!(g.tokens().verify(&t, clock.now()).is_ok());
        // Tokens of the old key verify while it is published.
        assert!(g.tokens().verify(&old_token, clock.now()).is_ok());
    }
    let keys = a.signing_keys(&op).await.unwrap();
    assert!(!keys[0].current && keys[1].current);

    assert!(matches!(
        a.retire_signing_key(&op, &actor, &new).await,
        Err(ServiceError::Conflict(_))
    ));
    assert!(matches!(
        a.retire_signing_key(&op, &actor, "tg-no-such-key").await,
        Err(ServiceError::NotFound(_))
    ));
    let left = a.retire_signing_key(&op, &actor, &old).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(kids(&a), std::slice::from_ref(&new));
    assert_eq!(
        a.tokens().verify(&old_token, clock.now()),
        Err(TokenError::UnknownKey)
    );
    b.reload_signing_keys().await.unwrap();
    assert_eq!(kids(&b), [new]);
}

/// The HTTP endpoints, admin only; the JWKS follows every change.
pub async fn signing_keys_rotate_and_retire_over_http(backend: Backend) {
    let s = start(backend).await;
    let jwks_kids = |v: Value| -> Vec<String> {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, listed) = s.get("/admin/signing-keys").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
    assert_eq!(listed["keys"][0]["current"], true);
    let current = listed["keys"][0]["kid"].as_str().unwrap().to_owned();

    let (status, rotated) = s.post("/admin/signing-keys", json!(null)).await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = rotated["keys"][1]["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated["keys"][1]["current"], false, "it signs 120 s later");
    assert_eq!(rotated["keys"][1]["alg"], "EdDSA");
    let (_, jwks) = s.get("/.well-known/jwks.json").await;
    assert_eq!(jwks_kids(jwks), [current.clone(), new.clone()]);

    let (status, e) = s
        .call(
            Method::DELETE,
            &format!("/admin/signing-keys/{current}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    let (status, e) = s
        .call(Method::DELETE, "/admin/signing-keys/tg-nope", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    // A key that never signed can be withdrawn.
    let (status, left) = s
        .call(Method::DELETE, &format!("/admin/signing-keys/{new}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{left}");
    assert_eq!(left["keys"].as_array().unwrap().len(), 1);
    let (_, jwks) = s.get("/.well-known/jwks.json").await;
    assert_eq!(jwks_kids(jwks), [current]);

    let admin = s.get("/admin/accounts").await.1["accounts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let writer = new_key(&s, &admin, "write").await;
    for (method, path) in [
        (Method::GET, "/admin/signing-keys"),
        (Method::POST, "/admin/signing-keys"),
    ] {
        let (status, e) = as_key(&s, &writer, method, path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {e}");
    }
}
