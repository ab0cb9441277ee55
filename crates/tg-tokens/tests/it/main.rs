//! Tokens checked by an independent JOSE implementation (`jsonwebtoken`, RustCrypto
//! backend) and refused by our own verifier when they should be.

mod dpop;
mod exchanged;
mod security_events;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use serde_json::{Value, json};
use tg_core::{AgentId, Timestamp};
use tg_tokens::{
    JwksVerifier, SealedKey, Signed, TokenError, TokenIssuer, TokenRequest, generate_signing_key,
};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn key() -> SealedKey {
    generate_signing_key(SECRET, NOW).unwrap_or_else(|e| unreachable!("{e}"))
}

fn issuer_with(audience: &str, key: &SealedKey, jwt_secret: Option<&[u8]>) -> TokenIssuer {
    TokenIssuer::new(
        "trust-gateway",
        audience,
        key,
        std::slice::from_ref(key),
        SECRET,
        jwt_secret,
    )
    .unwrap_or_else(|e| unreachable!("{e}"))
}

fn request() -> TokenRequest {
    TokenRequest {
        agent_id: AgentId::generate(),
        name: "email-bot".into(),
        tier: 2,
        trust_score: 0.65,
        permitted_actions: vec!["read_data".into(), "send_email".into()],
        expires_in: 3600,
        epoch: 0,
        state_version: 0,
        exchange: None,
        jkt: None,
    }
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| unreachable!("{e}"))
}

#[test]
fn an_independent_implementation_verifies_our_tokens_with_the_published_jwks() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let req = request();
    let issued = ok(issuer.issue(&req, Timestamp::now()));
    assert_eq!(issued.alg, "EdDSA");

    let jwks: JwkSet = ok(serde_json::from_value(issuer.jwks()));
    let header = ok(jsonwebtoken::decode_header(&issued.token));
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.unwrap_or_default();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| unreachable!("kid {kid} not in JWKS"));
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["trust-gateway"]);
    validation.set_issuer(&["trust-gateway"]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let data = ok(jsonwebtoken::decode::<Value>(
        &issued.token,
        &ok(DecodingKey::from_jwk(jwk)),
        &validation,
    ));
    let c = data.claims;
    assert_eq!(c["sub"], json!(req.agent_id.as_str()));
    assert_eq!(c["name"], json!("email-bot"));
    assert_eq!(c["tier"], json!(2));
    assert_eq!(c["trust_score"], json!(0.65));
    assert_eq!(c["permitted_actions"], json!(["read_data", "send_email"]));
    assert_eq!(c["jti"], json!(issued.jti));
    assert!(
        c["aud"] == json!("trust-gateway") || c["aud"] == json!(["trust-gateway"]),
        "{}",
        c["aud"]
    );
    assert_eq!(c["exp"].as_i64(), c["iat"].as_i64().map(|i| i + 3600));
}

#[test]
fn our_verifier_accepts_our_token_and_reads_its_claims() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let issued = ok(issuer.issue(&request(), NOW));
    let claims = ok(issuer.verify(&issued.token, NOW.plus_secs(10)));
    assert_eq!(claims.tier, Some(2));
    assert_eq!(claims.jti, issued.jti);
    assert_eq!(claims.exp, NOW.as_secs() + 3600);
}

#[test]
fn expired_wrong_audience_and_tampered_tokens_are_refused() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let token = ok(issuer.issue(&request(), NOW)).token;

    assert_eq!(
        issuer.verify(&token, NOW.plus_secs(3600 + 31)),
        Err(TokenError::Expired)
    );

    let other_audience = issuer_with("billing-api", &k, None);
    assert_eq!(
        other_audience.verify(&token, NOW),
        Err(TokenError::InvalidClaim("aud"))
    );

    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = ok(serde_json::from_slice(
        &ok(URL_SAFE_NO_PAD.decode(parts[1])),
    ));
    payload["tier"] = json!(3);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(issuer.verify(&forged, NOW), Err(TokenError::Signature));
}

#[test]
fn alg_none_and_algorithm_confusion_are_never_accepted() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let claims = json!({"sub": "ag_x", "iss": "trust-gateway", "aud": "trust-gateway", "exp": NOW.as_secs() + 60, "jti": "tok_x"});
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());

    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_eq!(
        issuer.verify(&none, NOW),
        Err(TokenError::Algorithm("none".into()))
    );
    let none_signed = format!(
        "{}.{body}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_eq!(
        issuer.verify(&none_signed, NOW),
        Err(TokenError::Algorithm("none".into()))
    );

    // HS256 keyed with the published public key: the classic confusion attack.
    let jwks = issuer.jwks();
    let x = jwks["keys"][0]["x"].as_str().unwrap_or_default().to_owned();
    let confused = ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(x.as_bytes()),
    ));
    assert_eq!(
        issuer.verify(&confused, NOW),
        Err(TokenError::Algorithm("HS256".into()))
    );
}

#[test]
fn absent_claims_are_refused_even_when_the_signature_is_good() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    let pem = ok(k.open(SECRET));
    let signing = ok(EncodingKey::from_ed_pem(&pem));
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(k.kid.clone());
    let full = json!({"sub": "ag_x", "iss": "trust-gateway", "aud": "trust-gateway", "exp": NOW.as_secs() + 60, "jti": "tok_x"});
    assert!(
        issuer
            .verify(&ok(jsonwebtoken::encode(&header, &full, &signing)), NOW)
            .is_ok(),
        "control"
    );
    for claim in ["exp", "aud", "iss", "sub", "jti"] {
        let mut c = full.clone();
        c.as_object_mut().map(|o| o.remove(claim));
        let token = ok(jsonwebtoken::encode(&header, &c, &signing));
        assert!(
            matches!(issuer.verify(&token, NOW), Err(TokenError::MissingClaim(n)) if n == claim),
            "{claim}"
        );
    }
    let mut unknown_kid = header.clone();
    unknown_kid.kid = Some("tg-unknown".into());
    assert_eq!(
        issuer.verify(
            &ok(jsonwebtoken::encode(&unknown_kid, &full, &signing)),
            NOW
        ),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn jwt_secret_switches_to_hs256_and_keeps_the_jwks() {
    let k = key();
    let issuer = issuer_with(
        "trust-gateway",
        &k,
        Some(b"v2-compatible-shared-secret-32bytes!"),
    );
    let issued = ok(issuer.issue(&request(), NOW));
    assert_eq!(issued.alg, "HS256");
    assert!(issuer.verify(&issued.token, NOW).is_ok());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["trust-gateway"]);
    validation.validate_exp = false;
    assert!(
        jsonwebtoken::decode::<Value>(
            &issued.token,
            &DecodingKey::from_secret(b"v2-compatible-shared-secret-32bytes!"),
            &validation
        )
        .is_ok()
    );
    assert_eq!(issuer.jwks()["keys"].as_array().map(Vec::len), Some(1));
    let short = TokenIssuer::new(
        "trust-gateway",
        "trust-gateway",
        &k,
        std::slice::from_ref(&k),
        SECRET,
        Some(b"short"),
    );
    assert!(short.is_err());
}

#[test]
fn detached_signatures_verify_with_the_published_key_and_cover_the_payload() {
    let k = key();
    // HS256 tokens do not change it: detached signatures are always EdDSA.
    let issuer = issuer_with(
        "trust-gateway",
        &k,
        Some(b"an-hs256-secret-of-32-bytes-or-more!"),
    );
    let payload = br#"{"name":"card","version":"1"}"#;
    let jws = ok(issuer.sign_detached(payload, Signed::A2aCard));
    let header: Value = ok(serde_json::from_slice(&ok(
        URL_SAFE_NO_PAD.decode(&jws.protected)
    )));
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JOSE");
    let kid = header["kid"].as_str().unwrap_or_default();

    let jwks: JwkSet = ok(serde_json::from_value(issuer.jwks()));
    let jwk = jwks
        .find(kid)
        .unwrap_or_else(|| unreachable!("kid {kid} not in JWKS"));
    let key = ok(DecodingKey::from_jwk(jwk));
    let message = format!("{}.{}", jws.protected, URL_SAFE_NO_PAD.encode(payload));
    let signature = ok(URL_SAFE_NO_PAD.decode(&jws.signature));
    // Verified by an independent implementation (jsonwebtoken's RustCrypto Ed25519).
    assert!(ok(jsonwebtoken::crypto::verify(
        &jws.signature,
        message.as_bytes(),
        &key,
        Algorithm::EdDSA
    )));
    assert_eq!(signature.len(), 64);
    let tampered = format!("{}.{}", jws.protected, URL_SAFE_NO_PAD.encode(b"{}"));
    assert!(!ok(jsonwebtoken::crypto::verify(
        &jws.signature,
        tampered.as_bytes(),
        &key,
        Algorithm::EdDSA
    )));

    // Our offline verifier agrees, and refuses another payload or an unknown key.
    let published = issuer.jwks();
    assert_eq!(
        ok(tg_tokens::verify_detached(
            &published,
            &jws,
            payload,
            Signed::A2aCard
        )),
        kid
    );
    // A card signature is not an export statement, nor a token once its payload is back.
    assert_eq!(
        tg_tokens::verify_detached(&published, &jws, payload, Signed::ExportStatement),
        Err(TokenError::Type("JOSE".into()))
    );
    let reattached = format!(
        "{}.{}.{}",
        jws.protected,
        URL_SAFE_NO_PAD.encode(payload),
        jws.signature
    );
    assert_eq!(
        issuer.verify(&reattached, Timestamp::now()),
        Err(TokenError::Type("JOSE".into()))
    );
    assert_eq!(
        tg_tokens::verify_detached(&published, &jws, b"{}", Signed::A2aCard),
        Err(TokenError::Signature)
    );
    let other = issuer_with("trust-gateway", &self::key(), None).jwks();
    assert_eq!(
        tg_tokens::verify_detached(&other, &jws, payload, Signed::A2aCard),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn tool_servers_verify_offline_from_the_published_jwks_alone() {
    let k = key();
    let issuer = issuer_with("trust-gateway", &k, None);
    // What a tool server has: the JWKS document as fetched, nothing else of the gateway.
    let jwks: Value = ok(serde_json::from_str(&issuer.jwks().to_string()));
    let verifier = ok(JwksVerifier::new(&jwks, "trust-gateway", "trust-gateway"));
    assert_eq!(verifier.kids(), vec![k.kid.as_str()]);

    let issued = ok(issuer.issue(&request(), NOW));
    let claims = ok(verifier.verify(&issued.token, NOW.plus_secs(5)));
    assert_eq!(claims.permitted_actions, ["read_data", "send_email"]);
    assert_eq!(claims.jti, issued.jti);
    assert!(!verifier.lacks_key_of(&issued.token));

    // A token an independent implementation signs with the same key verifies too.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(k.kid.clone());
    let claims = json!({"sub": "ag_x", "iss": "trust-gateway", "aud": ["trust-gateway"], "exp": NOW.as_secs() + 60, "jti": "tok_x", "permitted_actions": ["read_data"]});
    let theirs = ok(jsonwebtoken::encode(
        &header,
        &claims,
        &ok(EncodingKey::from_ed_pem(&ok(k.open(SECRET)))),
    ));
    assert_eq!(ok(verifier.verify(&theirs, NOW)).sub, "ag_x");

    assert_eq!(
        verifier.verify(&issued.token, NOW.plus_secs(3600 + 31)),
        Err(TokenError::Expired)
    );
    let elsewhere = ok(JwksVerifier::new(&jwks, "trust-gateway", "billing-api"));
    assert_eq!(
        elsewhere.verify(&issued.token, NOW),
        Err(TokenError::InvalidClaim("aud"))
    );
    let impostor = ok(JwksVerifier::new(&jwks, "other-gateway", "trust-gateway"));
    assert_eq!(
        impostor.verify(&issued.token, NOW),
        Err(TokenError::InvalidClaim("iss"))
    );
}

#[test]
fn offline_verification_refuses_hs256_unknown_keys_and_foreign_key_types() {
    let k = key();
    let hs = issuer_with(
        "trust-gateway",
        &k,
        Some(b"a-jwt-secret-of-at-least-32-bytes!!"),
    );
    let jwks = hs.jwks();
    let verifier = ok(JwksVerifier::new(&jwks, "trust-gateway", "trust-gateway"));
    // Without the shared secret an HS256 token cannot be checked: refused, never trusted.
    let token = ok(hs.issue(&request(), NOW)).token;
    assert_eq!(
        verifier.verify(&token, NOW),
        Err(TokenError::Algorithm("HS256".into()))
    );

    // A key rotated in after the JWKS was fetched: unknown, and flagged for a refetch.
    let newer = key();
    let rotated = issuer_with("trust-gateway", &newer, None);
    let token = ok(rotated.issue(&request(), NOW)).token;
    assert!(verifier.lacks_key_of(&token));
    assert_eq!(verifier.verify(&token, NOW), Err(TokenError::UnknownKey));

    // Keys that are not Ed25519 signing keys are skipped, not trusted and not fatal.
    let mut keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    let mut enc = keys[0].clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc-key");
    keys.push(enc);
    keys.push(json!({"kty": "RSA", "kid": "rsa-key", "n": "AQAB", "e": "AQAB"}));
    let mixed = ok(JwksVerifier::new(
        &json!({ "keys": keys }),
        "trust-gateway",
        "trust-gateway",
    ));
    assert_eq!(mixed.kids(), vec![k.kid.as_str()]);
    assert!(matches!(
        JwksVerifier::new(&json!({"no": "keys"}), "trust-gateway", "trust-gateway"),
        Err(TokenError::Key(_))
    ));
}

#[test]
fn tokens_signed_by_an_independent_implementation_verify_with_ours() {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let pkcs8 = ok(Ed25519KeyPair::generate_pkcs8(
        &ring::rand::SystemRandom::new(),
    ));
    let pair = ok(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()));
    let jwks = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "outside", "use": "sig", "alg": "EdDSA",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    }]});
    let claims = json!({
        "iss": "trust-gateway", "aud": "tools", "sub": "ag_0123456789abcdef01234567",
        "jti": "tok_1", "iat": NOW.as_secs(), "exp": NOW.as_secs() + 600, "tier": 2,
        "permitted_actions": ["read_data"],
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("outside".into());
    let token = ok(jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(pkcs8.as_ref()),
    ));
    let verifier = ok(JwksVerifier::new(&jwks, "trust-gateway", "tools"));
    let got = ok(verifier.verify(&token, NOW));
    assert_eq!(
        (got.sub.as_str(), got.tier, got.permitted_actions),
        (
            "ag_0123456789abcdef01234567",
            Some(2),
            vec!["read_data".to_owned()]
        )
    );
    // The same claims under another key of the same kid: refused.
    let other = ok(Ed25519KeyPair::generate_pkcs8(
        &ring::rand::SystemRandom::new(),
    ));
    let forged = ok(jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(other.as_ref()),
    ));
    assert_eq!(verifier.verify(&forged, NOW), Err(TokenError::Signature));

    // HS256 by the independent implementation, checked by an issuer holding the secret.
    let secret = b"a-jwt-secret-of-at-least-32-bytes!!";
    let hs = issuer_with("tools", &key(), Some(secret));
    let token = ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    ));
    assert_eq!(ok(hs.verify(&token, NOW)).jti, "tok_1");
    let token = ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes"),
    ));
    assert_eq!(hs.verify(&token, NOW), Err(TokenError::Signature));
}

/// The issuer remembers tokens whose signature it checked, but every claim is checked again
/// at each use: a remembered token still expires, still has to be for the audience asked,
/// and a changed token is a different one, checked afresh.
#[test]
fn remembered_tokens_are_still_checked_at_every_use() {
    let k = key();
    let issuer = issuer_with("tools", &k, None);
    let token = ok(issuer.issue(&request(), NOW)).token;
    let first = ok(issuer.verify(&token, NOW));
    assert_eq!(ok(issuer.verify(&token, NOW)), first);
    let later = Timestamp::from_secs(NOW.as_secs() + 3600 + 31);
    assert_eq!(issuer.verify(&token, later), Err(TokenError::Expired));
    // A token for another audience, remembered by the any-audience check, is still not
    // one for this issuer's audience.
    let narrowed = TokenRequest {
        exchange: Some(tg_tokens::Exchange {
            audience: vec!["tool-x".into()],
            ..Default::default()
        }),
        ..request()
    };
    let narrowed = ok(issuer.issue(&narrowed, NOW)).token;
    assert!(issuer.verify_any_audience(&narrowed, NOW, 0).is_ok());
    assert!(matches!(
        issuer.verify(&narrowed, NOW),
        Err(TokenError::InvalidClaim("aud"))
    ));
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(issuer.verify(&tampered, NOW).is_err());
}
