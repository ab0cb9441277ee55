//! Shared Signals streams over HTTP: the transmitter metadata, streams per account, and
//! Security Event Tokens pushed (RFC 8935) on a tier drop, a token revocation and a
//! suspension, verified by `jsonwebtoken` against the published JWKS.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Server, fresh_db, start_on};
use crate::webhooks::{Receiver, receiver};

const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";

/// The next SET the receiver gets, checked as a receiver would: pushed as
/// `application/secevent+jwt`, `typ: secevent+jwt`, signed by a JWKS key, for `aud`.
async fn next_set(s: &Server, rx: &mut Receiver, aud: &str) -> (Value, Value) {
    let r = rx.next().await;
    assert_eq!(r.content_type, "application/secevent+jwt");
    let set = std::str::from_utf8(&r.raw).unwrap();
    let header = jsonwebtoken::decode_header(set).unwrap();
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let jwks: JwkSet = s.jwks().await;
    let key = DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[aud]);
    v.set_issuer(&["trust-gateway"]);
    v.set_required_spec_claims(&["aud", "iss"]);
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(set, &key, &v)
        .unwrap_or_else(|e| panic!("the SET does not verify: {e}"))
        .claims;
    let (event_type, body) = {
        let events = claims["events"].as_object().unwrap();
        assert_eq!(events.len(), 1, "one event per SET: {claims}");
        let (t, b) = events.iter().next().unwrap();
        (t.clone(), b.clone())
    };
    assert!(claims.get("sub").is_none() && claims["jti"].is_string() && claims["iat"].is_i64());
    // The gateway's own receiver-side check (tg-tokens, as tg-sdk's `TokenVerifier` runs
    // it) reads the same.
    let ours = tg_tokens::JwksVerifier::new(&s.jwks::<Value>().await, "trust-gateway", "-")
        .unwrap()
        .verify_security_event(set, aud)
        .unwrap();
    assert_eq!(
        (json!(ours.jti), json!(ours.event_type)),
        (claims["jti"].clone(), json!(event_type))
    );
    assert_eq!(ours.sub_id, claims["sub_id"]);
    (claims, json!({"type": event_type, "body": body}))
}

/// `POST /agents/{agent}/{verb}` (suspend, reactivate) with `key`; must succeed.
async fn lifecycle(s: &Server, key: &str, agent: &str, verb: &str, body: Value) {
    let path = format!("/agents/{agent}/{verb}");
    let (status, r) = s.call_as(key, Method::POST, &path, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{verb}: {r}");
}

/// `GET /ssf/streams?stream_id=` with `key`.
async fn read_stream(s: &Server, key: &str, id: &str) -> (StatusCode, Value) {
    let path = format!("/ssf/streams?stream_id={id}");
    s.call_as(key, Method::GET, &path, None).await
}

async fn stream(s: &Server, key: &str, url: &str, events: &[&str]) -> Value {
    let (status, config) = s
        .call_as(
            key,
            Method::POST,
            "/ssf/streams",
            Some(json!({
                "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url},
                "events_requested": events,
                "description": "test receiver",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    config
}

/// A tier drop makes introspection inactive and pushes a CAEP `assurance-level-change`;
/// a revoked token pushes `session-revoked` naming it; a suspension pushes RISC
/// `account-disabled`. Streams belong to their account: another sees, changes and hears
/// nothing of them.
pub async fn tier_drops_and_revocations_push_security_event_tokens(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let s = start_on(&db, dir, &[("WEBHOOK_ALLOW_NETS", "127.0.0.0/8")]).await;
    let anonymous = s
        .client
        .get(format!("{}/.well-known/ssf-configuration", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::OK);
    let meta: Value = anonymous.json().await.unwrap();
    assert_eq!(meta["spec_version"], "1_0");
    assert_eq!(meta["issuer"], "trust-gateway");
    assert_eq!(
        meta["jwks_uri"],
        format!("{}/.well-known/jwks.json", s.base)
    );
    assert_eq!(
        meta["configuration_endpoint"],
        format!("{}/ssf/streams", s.base)
    );
    assert_eq!(
        meta["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935"])
    );

    let (acme_id, acme) = s.tenant("acme-signals").await;
    let (other_id, other) = s.tenant("other-signals").await;
    let mut acme_rx = receiver(vec![]).await;
    let mut other_rx = receiver(vec![]).await;
    let requested = [
        format!("{CAEP}assurance-level-change"),
        format!("{CAEP}session-revoked"),
        format!("{RISC}account-disabled"),
        "https://example.com/event-type/not-ours".to_owned(),
    ];
    let requested: Vec<&str> = requested.iter().map(String::as_str).collect();
    let config = stream(&s, &acme, &acme_rx.url, &requested).await;
    assert_eq!(config["aud"], acme_id);
    assert_eq!(config["iss"], "trust-gateway");
    assert_eq!(config["events_requested"], json!(requested));
    assert_eq!(config["events_delivered"], json!(requested[..3]));
    let stream_id = config["stream_id"].as_str().unwrap().to_owned();
    stream(
        &s,
        &other,
        &other_rx.url,
        &[&format!("{RISC}account-disabled")],
    )
    .await;

    // Reads: one by id, all of the account; never another account's, never as a webhook.
    let (status, one) = read_stream(&s, &acme, &stream_id).await;
    assert_eq!((status, &one), (StatusCode::OK, &config));
    let (_, all) = s.call_as(&acme, Method::GET, "/ssf/streams", None).await;
    assert_eq!(all, json!([config]));
    let (_, theirs) = s.call_as(&other, Method::GET, "/ssf/streams", None).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_eq!(theirs[0]["aud"], other_id);
    let by_other = format!("/ssf/streams?stream_id={stream_id}");
    for method in [Method::GET, Method::DELETE] {
        let (status, e) = s.call_as(&other, method, &by_other, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    }
    let (status, e) = s
        .call_as(
            &other,
            Method::PATCH,
            "/ssf/streams",
            Some(json!({"stream_id": stream_id, "description": "mine now"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (status, _) = s
        .call_as(
            &acme,
            Method::GET,
            &format!("/config/webhooks/{stream_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stream is no webhook");
    let (_, hooks) = s
        .call_as(&acme, Method::GET, "/config/webhooks", None)
        .await;
    assert_eq!(hooks, json!([]));
    // Bad configurations are 4xx with a JSON error.
    for (body, what) in [
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8936", "endpoint_url": acme_rx.url}}),
            "poll",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://10.0.0.1/x"}}),
            "private",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935"}}),
            "no url",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": acme_rx.url}, "events_requested": [""]}),
            "empty type",
        ),
    ] {
        let (status, e) = s
            .call_as(&acme, Method::POST, "/ssf/streams", Some(body))
            .await;
        assert!(status.is_client_error(), "{what}: {status} {e}");
        assert!(e["code"].is_string() && e["detail"].is_string(), "{e}");
    }

    // The agent rises to tier 2 (as in `a_token_dies_when_its_agents_tier_falls_below_it`).
    let agent = s.register_as(&acme, "signalled").await;
    for _ in 0..12 {
        s.record_as(&acme, &agent, "send_email", "success", None)
            .await;
    }
    let witnessing = s.token_as(&acme, &agent).await;
    for _ in 0..5 {
        s.record_as(&s.key, &agent, "send_email", "success", Some(&witnessing))
            .await;
    }
    let token = s.token_as(&acme, &agent).await;
    // Every rise on the way is an increase, ending at 2.
    loop {
        let (claims, event) = next_set(&s, &mut acme_rx, &acme_id).await;
        assert_eq!(event["type"], format!("{CAEP}assurance-level-change"));
        assert_eq!(event["body"]["change_direction"], "increase");
        assert_eq!(
            claims["sub_id"],
            json!({"format": "iss_sub", "iss": "trust-gateway", "sub": agent})
        );
        if event["body"]["current_level"] == "2" {
            break;
        }
    }
    // Violations until the tier falls.
    let mut tier = 2;
    for _ in 0..5 {
        let (_, r) = s
            .record_as(&acme, &agent, "delete_data", "violation", None)
            .await;
        tier = r["new_tier"].as_u64().unwrap();
        if tier < 2 {
            break;
        }
    }
    assert!(tier < 2);
    let (_, introspected) = s
        .call(
            Method::POST,
            "/tokens/introspect",
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(introspected, json!({"active": false}));
    let (_, event) = next_set(&s, &mut acme_rx, &acme_id).await;
    assert_eq!(event["type"], format!("{CAEP}assurance-level-change"));
    assert_eq!(event["body"]["namespace"], "urn:trust-gateway:tier");
    assert_eq!(event["body"]["previous_level"], "2");
    assert_eq!(event["body"]["current_level"], tier.to_string());
    assert_eq!(event["body"]["change_direction"], "decrease");

    // A revoked token: session-revoked, the token's jti as the session.
    let fresh = s.token_as(&acme, &agent).await;
    let jti = jsonwebtoken::dangerous::insecure_decode::<Value>(&fresh)
        .unwrap()
        .claims["jti"]
        .clone();
    let (status, r) = s
        .call_as(
            &acme,
            Method::POST,
            "/tokens/revoke",
            Some(json!({"token": fresh})),
        )
        .await;
    assert!(status.is_success(), "{r}");
    let (claims, event) = next_set(&s, &mut acme_rx, &acme_id).await;
    assert_eq!(event["type"], format!("{CAEP}session-revoked"));
    assert_eq!(claims["sub_id"]["format"], "complex");
    assert_eq!(
        claims["sub_id"]["session"],
        json!({"format": "opaque", "id": jti})
    );
    assert_eq!(claims["sub_id"]["user"]["sub"], agent);

    // A suspension: RISC account-disabled (requested before session-revoked's row).
    lifecycle(&s, &acme, &agent, "suspend", json!({"reason": "leak"})).await;
    let (_, event) = next_set(&s, &mut acme_rx, &acme_id).await;
    assert_eq!(event["type"], format!("{RISC}account-disabled"));

    // The other account heard nothing of acme's agent: its first SET is its own agent's
    // suspension, which was committed after every acme SET above was delivered.
    let theirs = s.register_as(&other, "theirs").await;
    lifecycle(&s, &other, &theirs, "suspend", json!({})).await;
    let (claims, event) = next_set(&s, &mut other_rx, &other_id).await;
    assert_eq!(event["type"], format!("{RISC}account-disabled"));
    assert_eq!(claims["sub_id"]["sub"], theirs);

    // Changing what is requested changes what is sent; deleting stops it.
    let (status, changed) = s
        .call_as(&acme, Method::PATCH, "/ssf/streams", Some(json!({"stream_id": stream_id, "events_requested": [format!("{RISC}account-enabled")], "iss": "ignored"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed["events_delivered"],
        json!([format!("{RISC}account-enabled")])
    );
    assert_eq!(changed["description"], "test receiver");
    lifecycle(&s, &acme, &agent, "reactivate", json!({})).await;
    let (_, event) = next_set(&s, &mut acme_rx, &acme_id).await;
    assert_eq!(event["type"], format!("{RISC}account-enabled"));
    let (status, _) = s
        .call_as(
            &acme,
            Method::DELETE,
            &format!("/ssf/streams?stream_id={stream_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = read_stream(&s, &acme, &stream_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
