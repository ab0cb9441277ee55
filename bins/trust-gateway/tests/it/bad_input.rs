use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, start};

/// (method, path, JSON body, raw body instead, expected status, text the detail must contain)
type Case<'a> = (
    Method,
    String,
    Option<serde_json::Value>,
    Option<&'a str>,
    StatusCode,
    &'a str,
);

pub async fn bad_input_always_gets_a_clear_4xx(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("target").await;
    let big = "x".repeat(70 * 1024);
    let many: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/authorize".into(),
            None,
            Some("{bad json"),
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": id, "action": "x", "colour": "red"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": 7, "action": "x"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid type",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": id})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!([1, 2])),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an array",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": big, "action": "x"})),
            None,
            StatusCode::PAYLOAD_TOO_LARGE,
            "exceeds",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": "ag_0000", "action": "x"})),
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": "ag_000000000000000000000000", "action": "x"})),
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::POST,
            "/config/webhooks/wh_000000000000000000000000/recover".into(),
            Some(json!({"since": "yesterday"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`since`",
        ),
        (
            Method::POST,
            "/config/webhooks/wh_000000000000000000000000/recover".into(),
            Some(json!({"since": "2026-01-01T00:00:00Z"})),
            None,
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            Method::POST,
            "/authorize".into(),
            Some(json!({"agent_id": id, "action": "Drop Table!"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "must be 1–64 characters",
        ),
        (
            Method::POST,
            "/authorize/batch".into(),
            Some(json!({"agent_id": id, "actions": ["read_data", "a".repeat(65)]})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "must be 1–64 characters",
        ),
        (
            Method::POST,
            "/authorize/batch".into(),
            Some(json!({"agent_id": id, "actions": many})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 100",
        ),
        (
            Method::POST,
            "/authorize/batch".into(),
            Some(json!({"agent_id": id, "actions": []})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 100",
        ),
        (
            Method::POST,
            format!("/agents/{id}/token?expires_in=59"),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 60 and 86400",
        ),
        (
            Method::POST,
            format!("/agents/{id}/token?expires_in=86401"),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 60 and 86400",
        ),
        (
            Method::POST,
            format!("/agents/{id}/token?expires_in=-1"),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 60 and 86400",
        ),
        (
            Method::POST,
            format!("/agents/{id}/token?expires_in=soon"),
            None,
            None,
            StatusCode::BAD_REQUEST,
            "invalid query",
        ),
        (
            Method::POST,
            "/agents/ag_nope/token".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::GET,
            "/agents/../../etc/passwd".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "no route",
        ),
        (
            Method::GET,
            "/agents/ag_%2e%2e%2fetc/trust".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::GET,
            "/agents/ag_000000000000000000000000".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::GET,
            "/agents/AG_ZZZ/trust".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::GET,
            format!("/agents/{id}/history?limit=0"),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 1000",
        ),
        (
            Method::GET,
            format!("/agents/{id}/history?limit=1001"),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 1000",
        ),
        (
            Method::GET,
            format!("/agents/{id}/history?limit=ten"),
            None,
            None,
            StatusCode::BAD_REQUEST,
            "invalid query",
        ),
        (
            Method::GET,
            "/receipts/ag_000000000000000000000000/verify".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::GET,
            "/no/such/route".into(),
            None,
            None,
            StatusCode::NOT_FOUND,
            "no route",
        ),
        (
            Method::POST,
            "/actions/record".into(),
            Some(json!({"agent_id": id, "action": "send_email", "result": "meh"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown variant",
        ),
        (
            Method::POST,
            "/actions/record".into(),
            Some(json!({"agent_id": id, "action": "send email!", "result": "success"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "action name",
        ),
        (
            Method::POST,
            "/actions/record".into(),
            Some(
                json!({"agent_id": id, "action": "send_email", "result": "success", "timestamp": "yesterday"}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "RFC 3339",
        ),
        (
            Method::POST,
            "/actions/record".into(),
            Some(
                json!({"agent_id": "ag_000000000000000000000000", "action": "send_email", "result": "success"}),
            ),
            None,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(json!({"name": "", "provider": "p", "config_hash": "h"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`name`",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "a2a": {"url": "https://a.example", "protocol_binding": "SOAP"}}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "protocol_binding",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "a2a": {"url": "https://a.example", "colour": "red"}}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `colour`",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "spiffe_id": "spiffe://Example.org/a"}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "spiffe_id",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "spiffe_id": "spiffe://example.org/a/"}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "spiffe_id",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "spiffe_id": "spiffe://example.org/a", "attestation": {"type": "x509", "certificate": "-----BEGIN CERTIFICATE-----", "chain": []}}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "no trust bundle configured for trust domain `example.org`",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "spiffe_id": "spiffe://example.org/a", "attestation": {"type": "jwt", "token": "a.b.c"}}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "no trust bundle configured for trust domain `example.org`",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "attestation": {"type": "jwt", "token": "a.b.c"}}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "requires a `spiffe_id`",
        ),
        (
            Method::POST,
            "/agents/register".into(),
            Some(
                json!({"name": "n", "provider": "p", "config_hash": "h", "attestation": {"type": "telepathy"}}),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown variant",
        ),
        (
            Method::PUT,
            "/tiers/2".into(),
            Some(json!({"min_score": "high"})),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid type",
        ),
    ];
    for (method, path, json_body, raw, expected, needle) in cases {
        let mut req = s
            .client
            .request(method.clone(), format!("{}{path}", s.base))
            .header("X-API-Key", &s.key);
        if let Some(b) = &json_body {
            req = req.json(b);
        }
        if let Some(r) = raw {
            req = req.header("content-type", "application/json").body(r);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        let shown: String = path.chars().take(60).collect();
        assert_eq!(status, expected, "{method} {shown}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(needle),
            "{method} {shown}: detail {detail:?} should mention {needle:?}"
        );
        assert!(body["code"].is_string(), "{method} {shown}: {body}");
    }
    // A body that is not JSON at all.
    let resp = s
        .client
        .post(format!("{}/authorize", s.base))
        .header("X-API-Key", &s.key)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Nothing above changed the agent: still one agent, no receipts, and its chain verifies.
    let (_, stats) = s.get("/stats").await;
    assert_eq!(
        (
            stats["total_agents"].clone(),
            stats["total_receipts"].clone()
        ),
        (json!(1), json!(0))
    );
    let (_, v) = s.get(&format!("/receipts/{id}/verify")).await;
    assert_eq!(
        v,
        json!({"valid": true, "length": 0, "first_broken_seq": null, "reason": null})
    );
    // A cursor beyond i64 (the documented maximum) is a clear 422, not a 500.
    for before in ["18446744073709551615", "9223372036854775808"] {
        let (status, page) = s.get(&format!("/receipts/{id}?before_seq={before}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{before}: {page}");
        assert!(
            page["detail"].as_str().unwrap().contains("before_seq"),
            "{page}"
        );
    }
    let (status, page) = s
        .get(&format!("/receipts/{id}?before_seq=9223372036854775807"))
        .await;
    assert_eq!((status, page), (StatusCode::OK, json!([])));
    let (status, _) = s
        .get(&format!("/receipts/{id}?before_seq=18446744073709551616"))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "beyond u64: not a number we take"
    );
    // Routes that read their body raw have the same 64 KiB limit, and say so in JSON.
    let padded = json!({"reason": "x".repeat(70 * 1024)}).to_string();
    for path in [
        format!("/agents/{id}/suspend"),
        format!("/agents/{id}/config"),
        "/tokens/revoke".to_owned(),
        "/tokens/introspect".to_owned(),
    ] {
        let resp = s
            .client
            .post(format!("{}{path}", s.base))
            .header("X-API-Key", &s.key)
            .header("content-type", "application/json")
            .body(padded.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "payload_too_large", "{path}: {body}");
    }
    let (_, agent) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(agent["status"], "active", "nothing was suspended");
}
