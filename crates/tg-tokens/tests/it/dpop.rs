//! DPoP (RFC 9449): the RFC's own example proof and thumbprints, and bound tokens checked
//! with proofs made here by ring keys (the same bytes any client library sends).

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Map, Value, json};
use tg_core::Timestamp;
use tg_tokens::{
    DpopError, DpopTarget, ReplayCache, TokenError, TokenRequest, access_token_hash,
    jwk_thumbprint, verify_dpop_proof,
};

use crate::{NOW, issuer_with, key, ok, request};

/// RFC 9449 §4.1 (Figure 3): a proof for `POST https://server.example.com/token`, and §6.1's
/// thumbprint of its key.
const RFC_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const RFC_IAT: i64 = 1_562_262_616;
const RFC_TARGET: DpopTarget<'static> = DpopTarget {
    method: "POST",
    uri: "https://server.example.com/token",
};

#[test]
fn the_rfc_9449_example_proof_verifies_with_its_thumbprint() {
    let at = Timestamp::from_secs(RFC_IAT + 10);
    let proof = ok(verify_dpop_proof(RFC_PROOF, RFC_TARGET, at, None));
    assert_eq!(
        (proof.jkt.as_str(), proof.jti.as_str(), proof.iat),
        (RFC_JKT, "-BwC3ESc6acc2lTc", RFC_IAT)
    );
    // Query and fragment are ignored; scheme and host case and the default port are not
    // differences (RFC 9449 §4.3, RFC 3986 §6.2.2-3).
    let same = DpopTarget {
        method: "POST",
        uri: "HTTPS://Server.Example.com:443/token?x=1#f",
    };
    assert!(verify_dpop_proof(RFC_PROOF, same, at, None).is_ok());

    let refused = |target: DpopTarget<'_>, at: i64| {
        verify_dpop_proof(RFC_PROOF, target, Timestamp::from_secs(at), None).err()
    };
    assert_eq!(
        refused(
            DpopTarget {
                method: "GET",
                ..RFC_TARGET
            },
            RFC_IAT
        ),
        Some(DpopError::Target("htm"))
    );
    assert_eq!(
        refused(
            DpopTarget {
                uri: "https://server.example.com/other",
                ..RFC_TARGET
            },
            RFC_IAT
        ),
        Some(DpopError::Target("htu"))
    );
    assert_eq!(
        refused(
            DpopTarget {
                uri: "https://evil.example.com/token",
                ..RFC_TARGET
            },
            RFC_IAT
        ),
        Some(DpopError::Target("htu"))
    );
    assert_eq!(refused(RFC_TARGET, RFC_IAT + 301), Some(DpopError::Stale));
    assert_eq!(refused(RFC_TARGET, RFC_IAT - 31), Some(DpopError::Stale));
    // With an access token, the example (a token-request proof) has no `ath`.
    assert_eq!(
        verify_dpop_proof(RFC_PROOF, RFC_TARGET, at, Some("token")).err(),
        Some(DpopError::Claim("ath"))
    );
    let tampered = RFC_PROOF.replace(".eyJqdGkiOiItQndD", ".eyJqdGkiOiItQnxD");
    assert_eq!(
        verify_dpop_proof(&tampered, RFC_TARGET, at, None).err(),
        Some(DpopError::Signature)
    );
}

#[test]
fn rfc_7638_thumbprints_of_the_rfc_keys() {
    // RFC 8037 A.3: the thumbprint of A.2's Ed25519 public key.
    let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ignored"});
    assert_eq!(
        ok(jwk_thumbprint(okp.as_object().unwrap())),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    let ec = json!({"kty": "EC", "crv": "P-256", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"});
    assert_eq!(ok(jwk_thumbprint(ec.as_object().unwrap())), RFC_JKT);
    assert_eq!(
        jwk_thumbprint(
            json!({"kty": "RSA", "n": "x", "e": "AQAB"})
                .as_object()
                .unwrap()
        ),
        Err(DpopError::Key)
    );
}

/// A proof by `pair` with `claims`, and the header `extra` members merged in.
fn proof_by(pair: &Ed25519KeyPair, claims: Value, extra: Value) -> String {
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    let mut header: Map<String, Value> = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk})
        .as_object()
        .unwrap()
        .clone();
    header.extend(extra.as_object().cloned().unwrap_or_default());
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = pair.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

fn pair() -> Ed25519KeyPair {
    let pkcs8 = ok(Ed25519KeyPair::generate_pkcs8(
        &ring::rand::SystemRandom::new(),
    ));
    ok(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()))
}

fn jkt_of(pair: &Ed25519KeyPair) -> String {
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    ok(jwk_thumbprint(jwk.as_object().unwrap()))
}

#[test]
fn a_bound_token_needs_a_fresh_proof_by_its_key_with_its_hash() {
    let k = key();
    let issuer = issuer_with("tools", &k, None);
    let holder = pair();
    let token = ok(issuer.issue(
        &TokenRequest {
            jkt: Some(jkt_of(&holder)),
            ..request()
        },
        NOW,
    ))
    .token;
    let verifier = ok(tg_tokens::JwksVerifier::new(
        &issuer.jwks(),
        "trust-gateway",
        "tools",
    ));
    let target = DpopTarget {
        method: "GET",
        uri: "https://tools.example/mail/inbox",
    };
    let claims_for = |jti: &str, ath: &str| json!({"jti": jti, "htm": "GET", "htu": "https://tools.example/mail/inbox", "iat": NOW.as_secs(), "ath": ath});
    let ath = access_token_hash(&token);
    let replay = ReplayCache::new(1000);

    // As a bearer token: refused, offline and by the issuer's own bearer check.
    assert_eq!(
        verifier.verify(&token, NOW).err(),
        Some(TokenError::ProofRequired)
    );
    assert_eq!(
        issuer.verify(&token, NOW).err(),
        Some(TokenError::ProofRequired)
    );
    // With a proof by its key: accepted once.
    let good = proof_by(&holder, claims_for("p1", &ath), json!({}));
    let claims = ok(verifier.verify_dpop(&token, &good, target, NOW, &replay));
    assert_eq!(claims.cnf_jkt, Some(jkt_of(&holder)));
    assert_eq!(
        verifier
            .verify_dpop(&token, &good, target, NOW, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::Replayed))
    );
    // By another key, for another token, for another request, or a key with its private part.
    let other = proof_by(&pair(), claims_for("p2", &ath), json!({}));
    assert_eq!(
        verifier
            .verify_dpop(&token, &other, target, NOW, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::WrongKey))
    );
    let elsewhere = proof_by(
        &holder,
        claims_for("p3", &access_token_hash("another token")),
        json!({}),
    );
    assert_eq!(
        verifier
            .verify_dpop(&token, &elsewhere, target, NOW, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::AccessTokenHash))
    );
    let post = DpopTarget {
        method: "POST",
        ..target
    };
    let fresh = proof_by(&holder, claims_for("p4", &ath), json!({}));
    assert_eq!(
        verifier
            .verify_dpop(&token, &fresh, post, NOW, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::Target("htm")))
    );
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(holder.public_key().as_ref()), "d": "AAAA"});
    let private = proof_by(&holder, claims_for("p5", &ath), json!({"jwk": jwk}));
    assert_eq!(
        verifier
            .verify_dpop(&token, &private, target, NOW, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::Key))
    );
    for (field, value, error) in [
        ("typ", json!("JWT"), DpopError::Type),
        ("alg", json!("HS256"), DpopError::Algorithm("HS256".into())),
        ("alg", json!("none"), DpopError::Algorithm("none".into())),
        ("alg", json!("ES256"), DpopError::Key),
    ] {
        let proof = proof_by(&holder, claims_for("p6", &ath), json!({field: value}));
        assert_eq!(
            verifier
                .verify_dpop(&token, &proof, target, NOW, &replay)
                .err(),
            Some(TokenError::Dpop(error)),
            "{field}: {value}"
        );
    }
    // A bearer token presented with a proof is refused too: a bound one was asked for.
    let bearer = ok(issuer.issue(&request(), NOW)).token;
    let proof = proof_by(
        &holder,
        claims_for("p7", &access_token_hash(&bearer)),
        json!({}),
    );
    assert_eq!(
        verifier
            .verify_dpop(&bearer, &proof, target, NOW, &replay)
            .err(),
        Some(TokenError::Dpop(DpopError::WrongKey))
    );
    // The issuer answering about its own token (introspection) sees the binding.
    assert_eq!(
        ok(issuer.verify_any_audience(&token, NOW, 0)).cnf_jkt,
        Some(jkt_of(&holder))
    );
}

#[test]
fn the_replay_cache_is_bounded_and_fails_closed_when_full() {
    let holder = pair();
    let replay = ReplayCache::new(2);
    let target = DpopTarget {
        method: "GET",
        uri: "https://tools.example/x",
    };
    let proof = |jti: &str, iat: i64| {
        let p = proof_by(
            &holder,
            json!({"jti": jti, "htm": "GET", "htu": "https://tools.example/x", "iat": iat}),
            json!({}),
        );
        ok(verify_dpop_proof(
            &p,
            target,
            Timestamp::from_secs(iat),
            None,
        ))
    };
    let t0 = NOW.as_secs();
    assert!(replay.check(&proof("a", t0), NOW).is_ok());
    assert!(replay.check(&proof("b", t0), NOW).is_ok());
    assert_eq!(
        replay.check(&proof("c", t0), NOW),
        Err(DpopError::Replayed),
        "full of live proofs"
    );
    // Once the first two are out of the window, they make room.
    let later = Timestamp::from_secs(t0 + 301);
    assert!(replay.check(&proof("c", t0 + 301), later).is_ok());
}

#[test]
fn a_client_keys_proofs_verify_and_name_its_thumbprint() {
    let key = ok(tg_tokens::DpopKey::generate());
    let target = DpopTarget {
        method: "POST",
        uri: "https://tools.example/x",
    };
    let proof = key.proof("POST", "https://tools.example/x", Some("tok"), NOW);
    let verified = ok(verify_dpop_proof(&proof, target, NOW, Some("tok")));
    assert_eq!(verified.jkt, key.thumbprint());
    let again = ok(verify_dpop_proof(
        &key.proof("POST", "https://tools.example/x", Some("tok"), NOW),
        target,
        NOW,
        Some("tok"),
    ));
    assert_ne!(verified.jti, again.jti, "each proof has its own jti");
    assert_eq!(ok(jwk_thumbprint(key.jwk())), key.thumbprint());
}
