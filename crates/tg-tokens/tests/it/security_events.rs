//! Security Event Tokens: what a stream's receiver verifies against the JWKS, made by our
//! signer and by an independent one (jsonwebtoken); and a SET is never a token.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tg_tokens::{JwksVerifier, Signed, TokenError};

use crate::{NOW, SECRET, issuer_with, key, ok, request};

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

fn claims() -> Value {
    json!({
        "iss": "trust-gateway",
        "aud": "acc_1",
        "iat": 1_800_000_000,
        "jti": "msg_1-wh_1",
        "txn": "msg_1",
        "sub_id": {"format": "iss_sub", "iss": "trust-gateway", "sub": "agt_1"},
        "events": {SESSION_REVOKED: {"event_timestamp": 1_800_000_000}},
    })
}

#[test]
fn a_receiver_verifies_a_set_and_refuses_what_is_not_one_for_it() {
    let k = key();
    let issuer = issuer_with("tools", &k, None);
    let jwks = issuer.jwks();
    let verifier = ok(JwksVerifier::new(&jwks, "trust-gateway", "tools"));
    let sign = |c: &Value| ok(issuer.sign_compact(c.to_string().as_bytes(), Signed::SecurityEvent));

    let set = sign(&claims());
    let event = ok(verifier.verify_security_event(&set, "acc_1"));
    assert_eq!(
        (
            event.jti.as_str(),
            event.iat,
            event.txn.as_deref(),
            event.event_type.as_str()
        ),
        ("msg_1-wh_1", 1_800_000_000, Some("msg_1"), SESSION_REVOKED)
    );
    assert_eq!(event.sub_id["sub"], "agt_1");
    assert_eq!(event.event, json!({"event_timestamp": 1_800_000_000}));

    // Another stream's audience, another issuer, two events, no jti.
    assert_eq!(
        verifier.verify_security_event(&set, "acc_2"),
        Err(TokenError::InvalidClaim("aud"))
    );
    let elsewhere = ok(JwksVerifier::new(&jwks, "other-gateway", "tools"));
    assert_eq!(
        elsewhere.verify_security_event(&set, "acc_1"),
        Err(TokenError::InvalidClaim("iss"))
    );
    let mut two = claims();
    two["events"]["https://example.com/other"] = json!({});
    assert_eq!(
        verifier.verify_security_event(&sign(&two), "acc_1"),
        Err(TokenError::InvalidClaim("events"))
    );
    let mut unnamed = claims();
    unnamed.as_object_mut().unwrap().remove("jti");
    assert_eq!(
        verifier.verify_security_event(&sign(&unnamed), "acc_1"),
        Err(TokenError::MissingClaim("jti"))
    );
    // A tampered payload does not verify.
    let mut parts: Vec<&str> = set.split('.').collect();
    let other = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json!({"iss": "trust-gateway", "aud": "acc_1"}).to_string(),
    );
    parts[1] = &other;
    assert_eq!(
        verifier.verify_security_event(&parts.join("."), "acc_1"),
        Err(TokenError::Signature)
    );

    // A SET is no token, and a token is no SET: `typ` tells them apart.
    assert_eq!(
        verifier.verify(&set, NOW),
        Err(TokenError::Type("secevent+jwt".into()))
    );
    let token = ok(issuer.issue(&request(), NOW)).token;
    assert!(matches!(
        verifier.verify_security_event(&token, "acc_1"),
        Err(TokenError::Type(_))
    ));
}

/// A SET made by jsonwebtoken with the gateway's key verifies with ours: the check reads
/// the standard, not our own serialisation.
#[test]
fn a_set_signed_by_an_independent_implementation_verifies() {
    let k = key();
    let issuer = issuer_with("tools", &k, None);
    let verifier = ok(JwksVerifier::new(&issuer.jwks(), "trust-gateway", "tools"));
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("secevent+jwt".into());
    header.kid = Some(k.kid.clone());
    let signing = ok(EncodingKey::from_ed_pem(&ok(k.open(SECRET))));
    let set = ok(jsonwebtoken::encode(&header, &claims(), &signing));
    let event = ok(verifier.verify_security_event(&set, "acc_1"));
    assert_eq!(event.event_type, SESSION_REVOKED);
    // Without `typ`, it is refused: explicit typing is what keeps SETs and tokens apart.
    header.typ = None;
    let untyped = ok(jsonwebtoken::encode(&header, &claims(), &signing));
    assert_eq!(
        verifier.verify_security_event(&untyped, "acc_1"),
        Err(TokenError::Type("none".into()))
    );
}
