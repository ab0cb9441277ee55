//! Exchanged tokens (RFC 8693): the nested `act` claim, narrowed audiences and source
//! `jti`s, read by an independent implementation and by ours.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::{Value, json};
use tg_tokens::{ActingAgent, Exchange, JwksVerifier, TokenError};

use crate::{NOW, issuer_with, key, ok, request};

fn chain() -> Vec<ActingAgent> {
    vec![
        ActingAgent {
            sub: "ag_c".into(),
            delegation_id: "dl_bc".into(),
            epoch: 2,
        },
        ActingAgent {
            sub: "ag_b".into(),
            delegation_id: "dl_ab".into(),
            epoch: 0,
        },
    ]
}

fn exchanged(audience: &[&str]) -> tg_tokens::TokenRequest {
    tg_tokens::TokenRequest {
        exchange: Some(Exchange {
            audience: audience.iter().map(|a| (*a).to_owned()).collect(),
            act: chain(),
            root_authority: Some("user:alice".into()),
            sources: vec!["tok_1".into(), "tok_2".into()],
        }),
        ..request()
    }
}

#[test]
fn the_act_claim_nests_the_current_actor_outermost_as_rfc_8693_shows() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let issued = ok(issuer.issue(&exchanged(&["https://tools.example/mail"]), NOW));

    let jwks: JwkSet = ok(serde_json::from_value(issuer.jwks()));
    let kid = ok(jsonwebtoken::decode_header(&issued.token))
        .kid
        .unwrap_or_default();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["https://tools.example/mail"]);
    validation.set_issuer(&["trust-gateway"]);
    validation.validate_exp = false;
    let jwk = jwks.find(&kid).unwrap_or_else(|| unreachable!("kid {kid}"));
    let c = ok(jsonwebtoken::decode::<Value>(
        &issued.token,
        &ok(DecodingKey::from_jwk(jwk)),
        &validation,
    ))
    .claims;
    assert_eq!(
        c["act"],
        json!({"sub": "ag_c", "tg_delegation": "dl_bc", "tg_epoch": 2,
               "act": {"sub": "ag_b", "tg_delegation": "dl_ab", "tg_epoch": 0}})
    );
    // One audience may be written as a string (RFC 7519 §4.1.3).
    assert!(
        [
            json!("https://tools.example/mail"),
            json!(["https://tools.example/mail"])
        ]
        .contains(&c["aud"]),
        "{}",
        c["aud"]
    );
    assert_eq!(c["tg_root_authority"], json!("user:alice"));
    assert_eq!(c["tg_sources"], json!(["tok_1", "tok_2"]));

    // A tool server verifies it for its own audience; the gateway's audience refuses it.
    let tool = ok(JwksVerifier::new(
        &issuer.jwks(),
        "trust-gateway",
        "https://tools.example/mail",
    ));
    let claims = ok(tool.verify(&issued.token, NOW));
    assert_eq!(claims.act, chain());
    assert_eq!(claims.root_authority.as_deref(), Some("user:alice"));
    assert_eq!(claims.sources, ["tok_1", "tok_2"]);
    assert_eq!(
        issuer.verify(&issued.token, NOW),
        Err(TokenError::InvalidClaim("aud"))
    );
    // The issuer's introspection reads any audience.
    assert_eq!(
        ok(issuer.verify_any_audience(&issued.token, NOW, 0)).act,
        chain()
    );
}

#[test]
fn an_agents_own_token_has_no_actors_and_keeps_the_gateways_audience() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let claims = ok(issuer.verify(&ok(issuer.issue(&request(), NOW)).token, NOW));
    assert!(claims.act.is_empty());
    assert_eq!(claims.root_authority, None);
    assert!(claims.sources.is_empty());
    assert_eq!(claims.aud, ["trust-gateway"]);
    // An exchange that narrows nothing keeps the gateway's audience too.
    let claims = ok(issuer.verify(&ok(issuer.issue(&exchanged(&[]), NOW)).token, NOW));
    assert_eq!(claims.aud, ["trust-gateway"]);
    assert_eq!(claims.act.len(), 2);
}

#[test]
fn a_signed_token_with_a_malformed_act_chain_is_an_invalid_claim() {
    use jsonwebtoken::{EncodingKey, Header};
    let secret = b"a-jwt-secret-of-at-least-32-bytes!!";
    let hs = issuer_with("tools", &key(), Some(secret));
    let base = json!({
        "iss": "trust-gateway", "aud": "tools", "sub": "ag_0123456789abcdef01234567",
        "jti": "tok_1", "exp": NOW.as_secs() + 600,
    });
    let deep = (0..17).fold(Value::Null, |inner, i| {
        let mut link = json!({"sub": format!("ag_{i}"), "tg_delegation": "dl_x", "tg_epoch": 0});
        if !inner.is_null() {
            link["act"] = inner;
        }
        link
    });
    for (claim, value) in [
        ("act", json!("ag_b")),
        ("act", json!({"sub": "ag_b"})),
        (
            "act",
            json!({"sub": "ag_b", "tg_delegation": "dl_x", "tg_epoch": -1}),
        ),
        (
            "act",
            json!({"sub": "ag_b", "tg_delegation": "dl_x", "tg_epoch": 0, "act": 7}),
        ),
        ("act", deep),
        ("tg_root_authority", json!(["user:alice"])),
        ("tg_sources", json!("tok_0")),
    ] {
        let mut claims = base.clone();
        claims[claim] = value;
        let token = ok(jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        ));
        assert_eq!(
            hs.verify(&token, NOW),
            Err(TokenError::InvalidClaim(claim)),
            "{claim}: {}",
            claims[claim]
        );
    }
}
