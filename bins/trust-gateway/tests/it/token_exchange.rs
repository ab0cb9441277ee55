//! Token exchange (RFC 8693) over HTTP: nested `act` chains along accepted delegations,
//! checked by an independent JOSE implementation; refusals in RFC 6749's words.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Server, start};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// `POST /oauth/token` with `key` and the form `params`: status, body, `Cache-Control`.
async fn exchange(
    s: &Server,
    key: Option<&str>,
    params: &[(&str, &str)],
) -> (StatusCode, Value, Option<String>) {
    let mut req = s
        .client
        .post(format!("{}/oauth/token", s.base))
        .form(params);
    if let Some(key) = key {
        req = req.header("X-API-Key", key);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, resp.json().await.unwrap(), cache)
}

fn act_as<'a>(subject: &'a str, actor: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
    ];
    if let Some(a) = actor {
        p.extend([("actor_token", a), ("actor_token_type", ACCESS)]);
    }
    p
}

/// The claims of `token`, verified by jsonwebtoken against the published JWKS for `audience`.
async fn claims(s: &Server, token: &str, audience: &str) -> Value {
    let jwks: JwkSet = s.jwks().await;
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[audience]);
    v.set_issuer(&["trust-gateway"]);
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

async fn introspect(s: &Server, key: &str, token: &str) -> Value {
    let resp = s
        .client
        .post(format!("{}/tokens/introspect", s.base))
        .header("X-API-Key", key)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// `POST /tokens/revoke` by the token itself.
async fn revoke(s: &Server, key: &str, token: &str) {
    let (status, r) = s
        .call_as(
            key,
            Method::POST,
            "/tokens/revoke",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
}

async fn delegate(s: &Server, key: &str, body: Value) -> String {
    let (status, d) = s
        .call_as(key, Method::POST, "/delegations", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    d["delegation_id"].as_str().unwrap().to_owned()
}

fn refused(got: &(StatusCode, Value, Option<String>), error: &str) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(error)),
        "{}",
        got.1
    );
    assert!(
        got.1["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        got.1
    );
}

/// Alice delegates to `a`, `a` to `b`, `b` to `c`. `b` acting for `a`, then `c` acting for
/// `b` for `a`: nested `act` claims; no exchange without a delegation; the token dies with
/// its delegation's outcome, with a suspended actor, and with a revoked source token.
pub async fn token_exchange_follows_accepted_delegations(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let (a, b, c) = (
        s.proven_agent(&acme, "a").await,
        s.proven_agent(&acme, "b").await,
        s.proven_agent(&acme, "c").await,
    );
    let d1 = delegate(&s, &acme, json!({"from_principal": "user:alice", "to_agent": a, "task_type": "triage", "threshold": 1.0})).await;
    let d2 = delegate(&s, &acme, json!({"from_agent": a, "to_agent": b, "task_type": "triage", "threshold": 1.0, "parent_delegation_id": d1})).await;
    let d3 = delegate(&s, &acme, json!({"from_agent": b, "to_agent": c, "task_type": "triage", "threshold": 1.0, "parent_delegation_id": d2})).await;
    let (ta, tb, tc) = (
        s.token_as(&acme, &a).await,
        s.token_as(&acme, &b).await,
        s.token_as(&acme, &c).await,
    );

    // Hop 1: b acting for a.
    let got = exchange(&s, Some(&acme), &act_as(&ta, Some(&tb))).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    assert_eq!(got.2.as_deref(), Some("no-store"));
    assert_eq!(
        (
            got.1["token_type"].as_str(),
            got.1["issued_token_type"].as_str()
        ),
        (Some("Bearer"), Some(ACCESS))
    );
    let t1 = got.1["access_token"].as_str().unwrap().to_owned();
    let c1 = claims(&s, &t1, "trust-gateway").await;
    assert_eq!(c1["sub"], a.as_str());
    assert_eq!(c1["act"]["sub"], b.as_str());
    assert_eq!(c1["act"]["tg_delegation"], d2.as_str());
    assert_eq!(c1["act"].get("act"), None);
    assert_eq!(c1["tg_root_authority"], "user:alice");
    assert_eq!(
        got.1["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .collect::<Vec<_>>(),
        c1["permitted_actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect::<Vec<_>>()
    );
    assert!(
        c1["exp"].as_i64() <= claims(&s, &ta, "trust-gateway").await["exp"].as_i64(),
        "it expires with the subject token"
    );

    // Hop 2: c acting for b acting for a, along b→c under a→b.
    let got = exchange(&s, Some(&acme), &act_as(&t1, Some(&tc))).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let t2 = got.1["access_token"].as_str().unwrap().to_owned();
    let c2 = claims(&s, &t2, "trust-gateway").await;
    assert_eq!(c2["sub"], a.as_str());
    assert_eq!(
        (
            c2["act"]["sub"].clone(),
            c2["act"]["tg_delegation"].clone(),
            c2["act"]["act"]["sub"].clone(),
            c2["act"]["act"]["tg_delegation"].clone()
        ),
        (json!(c), json!(d3), json!(b), json!(d2))
    );
    assert_eq!(c2["act"]["act"].get("act"), None);
    let seen = introspect(&s, &acme, &t2).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["act"], c2["act"]);

    // No delegation, no exchange: a→c was never delegated, nor b→a.
    refused(
        &exchange(&s, Some(&acme), &act_as(&ta, Some(&tc))).await,
        "invalid_grant",
    );
    refused(
        &exchange(&s, Some(&acme), &act_as(&tb, Some(&ta))).await,
        "invalid_grant",
    );
    // b's own token with c's: c acting for b alone, along the same b→c delegation.
    let got = exchange(&s, Some(&acme), &act_as(&tb, Some(&tc))).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let c3 = claims(&s, got.1["access_token"].as_str().unwrap(), "trust-gateway").await;
    assert_eq!(
        (
            c3["sub"].clone(),
            c3["act"].clone(),
            c3["tg_root_authority"].clone()
        ),
        (
            json!(b),
            json!({"sub": c, "tg_delegation": d3, "tg_epoch": 0}),
            json!("user:alice")
        )
    );

    // The outcome of b→c ends that hop: t2 dies, t1 lives.
    let (status, o) = s
        .call_as(
            &acme,
            Method::PATCH,
            &format!("/delegations/{d3}/outcome"),
            Some(json!({"outcome": "success"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(introspect(&s, &acme, &t2).await["active"], false);
    assert_eq!(introspect(&s, &acme, &t1).await["active"], true);
    refused(
        &exchange(&s, Some(&acme), &act_as(&t1, Some(&tc))).await,
        "invalid_grant",
    );

    // Revoking a token it came from voids it.
    revoke(&s, &acme, &ta).await;
    let seen = introspect(&s, &acme, &t1).await;
    assert_eq!(seen["active"], false, "{seen}");
    refused(
        &exchange(&s, Some(&acme), &act_as(&t1, None)).await,
        "invalid_grant",
    );

    // A revoked actor token is refused, and named: both tokens' revocations are read in
    // one statement.
    let (ta, revoked_b) = (s.token_as(&acme, &a).await, s.token_as(&acme, &b).await);
    revoke(&s, &acme, &revoked_b).await;
    let got = exchange(&s, Some(&acme), &act_as(&ta, Some(&revoked_b))).await;
    refused(&got, "invalid_grant");
    assert_eq!(
        got.1["error_description"], "`actor_token` no longer holds: the token was revoked",
        "{}",
        got.1
    );

    // A suspended actor voids the token that names it.
    let t1 = exchange(&s, Some(&acme), &act_as(&ta, Some(&tb))).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(introspect(&s, &acme, &t1).await["active"], true);
    let (status, _) = s
        .call_as(&acme, Method::POST, &format!("/agents/{b}/suspend"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(introspect(&s, &acme, &t1).await["active"], false);
    // Both agents were held in the decision memory (their tokens were issued from it); the
    // suspension evicted b, so an exchange with b's token is refused at once.
    refused(
        &exchange(&s, Some(&acme), &act_as(&ta, Some(&tb))).await,
        "invalid_grant",
    );
}

/// `scope` narrows within the chain's grant, `audience` and `resource` set `aud`; another
/// tenant cannot exchange tokens into agents it does not own; bad requests are refused in
/// RFC 6749's words.
pub async fn token_exchange_narrows_and_refuses_in_rfc_6749_terms(backend: Backend) {
    let s = start(backend).await;
    let (_, acme) = s.tenant("acme").await;
    let (_, globex) = s.tenant("globex").await;
    let (a, b) = (
        s.proven_agent(&acme, "a").await,
        s.proven_agent(&acme, "b").await,
    );
    let g = s.proven_agent(&globex, "g").await;
    delegate(
        &s,
        &acme,
        json!({"from_agent": a, "to_agent": b, "task_type": "triage", "threshold": 1.0}),
    )
    .await;
    let (ta, tb, tg) = (
        s.token_as(&acme, &a).await,
        s.token_as(&acme, &b).await,
        s.token_as(&globex, &g).await,
    );

    let full = exchange(&s, Some(&acme), &act_as(&ta, Some(&tb))).await;
    assert_eq!(full.0, StatusCode::OK, "{}", full.1);
    let granted: Vec<String> = full.1["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect();
    assert!(granted.contains(&"read_data".to_owned()), "{granted:?}");

    // Scope: narrowed to a subset; anything beyond the chain's grant is invalid_scope.
    let mut p = act_as(&ta, Some(&tb));
    p.extend([
        ("scope", "read_data"),
        ("audience", "https://tools.example/crm"),
        ("resource", "https://tools.example/mail"),
    ]);
    let got = exchange(&s, Some(&acme), &p).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    assert_eq!(got.1["scope"], "read_data");
    let c = claims(
        &s,
        got.1["access_token"].as_str().unwrap(),
        "https://tools.example/mail",
    )
    .await;
    assert_eq!(c["permitted_actions"], json!(["read_data"]));
    assert_eq!(
        c["aud"],
        json!(["https://tools.example/crm", "https://tools.example/mail"])
    );
    let seen = introspect(&s, &acme, got.1["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (seen["active"].clone(), seen["aud"].clone()),
        (json!(true), c["aud"].clone()),
        "{seen}"
    );
    let mut p = act_as(&ta, Some(&tb));
    p.push(("scope", "read_data launch_rockets"));
    refused(&exchange(&s, Some(&acme), &p).await, "invalid_scope");
    for target in [
        ("resource", "tools/mail"),
        ("resource", "https://tools.example/#frag"),
    ] {
        let mut p = act_as(&ta, Some(&tb));
        p.push(target);
        refused(&exchange(&s, Some(&acme), &p).await, "invalid_target");
    }

    // An exchanged token is no proof that `a` itself dealt with anyone: a witness report
    // or a hand-off needs a's own token.
    let exchanged = full.1["access_token"].as_str().unwrap();
    let (status, body) = s
        .record_as(&globex, &a, "read_data", "success", Some(exchanged))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .record_as(&globex, &a, "read_data", "success", Some(&ta))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The owner revokes the narrowed token by the token itself, whatever its audience.
    let narrowed = got.1["access_token"].as_str().unwrap();
    revoke(&s, &acme, narrowed).await;
    assert_eq!(introspect(&s, &acme, narrowed).await["active"], false);

    // Another tenant: it owns neither b nor a delegation from a to g.
    refused(
        &exchange(&s, Some(&globex), &act_as(&ta, Some(&tb))).await,
        "invalid_grant",
    );
    refused(
        &exchange(&s, Some(&globex), &act_as(&ta, Some(&tg))).await,
        "invalid_grant",
    );
    refused(
        &exchange(&s, Some(&globex), &act_as(&ta, None)).await,
        "invalid_grant",
    );
    // A delegation another tenant claims to have made is not accepted until b's owner
    // accepts it, so it lets g act for nobody either.
    delegate(
        &s,
        &globex,
        json!({"from_agent": g, "to_agent": b, "task_type": "triage", "threshold": 1.0}),
    )
    .await;
    refused(
        &exchange(&s, Some(&acme), &act_as(&tg, Some(&tb))).await,
        "invalid_grant",
    );

    // Client authentication: RFC 6749's invalid_client, 401.
    let got = exchange(&s, None, &act_as(&ta, None)).await;
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{}",
        got.1
    );
    let got = exchange(&s, Some("tg_not_a_key"), &act_as(&ta, None)).await;
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{}",
        got.1
    );

    // Malformed requests.
    let (subject, subject_type) = (
        ("subject_token", ta.as_str()),
        ("subject_token_type", ACCESS),
    );
    let malformed: [(&[(&str, &str)], &str); 7] = [
        (
            &[("grant_type", "client_credentials")],
            "unsupported_grant_type",
        ),
        (&[subject], "invalid_request"),
        (&[("grant_type", GRANT), subject], "invalid_request"),
        (
            &[
                ("grant_type", GRANT),
                subject,
                ("subject_token_type", "urn:x:saml"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", GRANT),
                subject,
                subject_type,
                ("actor_token", &tb),
            ],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", GRANT),
                subject,
                ("subject_token", &tb),
                subject_type,
            ],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", GRANT),
                subject,
                subject_type,
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                ),
            ],
            "invalid_request",
        ),
    ];
    for (params, error) in malformed {
        refused(&exchange(&s, Some(&acme), params).await, error);
    }
    refused(
        &exchange(&s, Some(&acme), &act_as(&format!("{ta}x"), None)).await,
        "invalid_grant",
    );
    refused(
        &exchange(&s, Some(&acme), &act_as("not-a-token", None)).await,
        "invalid_grant",
    );
    // JSON is not the token endpoint's format.
    let resp = s
        .client
        .post(format!("{}/oauth/token", s.base))
        .header("X-API-Key", &acme)
        .json(&json!({"grant_type": GRANT}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

/// A JWT-SVID is a subject token for the agent that holds its SPIFFE ID; one whose ID no
/// agent holds, or that is not for the gateway's audience, is refused.
pub async fn token_exchange_takes_a_jwt_svid_subject(backend: Backend) {
    let (s, svid) = crate::support::jwt_svid_server(backend).await;
    let id = "spiffe://example.org/agent/svid-bot";
    let body = json!({"name": "svid-bot", "provider": "p", "config_hash": "h", "spiffe_id": id, "attestation": {"type": "jwt", "token": svid(id, "trust-gateway")}});
    let (status, agent) = s.post("/agents/register", body).await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let jwt = "urn:ietf:params:oauth:token-type:jwt";

    let token = svid(id, "trust-gateway");
    let got = exchange(
        &s,
        Some(&s.key),
        &[
            ("grant_type", GRANT),
            ("subject_token", &token),
            ("subject_token_type", jwt),
            ("requested_token_type", jwt),
        ],
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    assert_eq!(got.1["issued_token_type"], jwt);
    let c = claims(&s, got.1["access_token"].as_str().unwrap(), "trust-gateway").await;
    assert_eq!(c["sub"], agent["id"]);
    assert_eq!(c.get("act"), None);
    assert!(
        c["exp"].as_i64().unwrap() <= c["iat"].as_i64().unwrap() + 600,
        "it expires with the SVID"
    );

    // The access_token type is not a JWT-SVID's; another audience, or an ID nobody holds.
    refused(
        &exchange(
            &s,
            Some(&s.key),
            &[
                ("grant_type", GRANT),
                ("subject_token", &token),
                ("subject_token_type", ACCESS),
            ],
        )
        .await,
        "invalid_request",
    );
    let elsewhere = svid(id, "someone-else");
    refused(
        &exchange(
            &s,
            Some(&s.key),
            &[
                ("grant_type", GRANT),
                ("subject_token", &elsewhere),
                ("subject_token_type", jwt),
            ],
        )
        .await,
        "invalid_grant",
    );
    let stranger = svid("spiffe://example.org/agent/nobody", "trust-gateway");
    refused(
        &exchange(
            &s,
            Some(&s.key),
            &[
                ("grant_type", GRANT),
                ("subject_token", &stranger),
                ("subject_token_type", jwt),
            ],
        )
        .await,
        "invalid_grant",
    );
}
