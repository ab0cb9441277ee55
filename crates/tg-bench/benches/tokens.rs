//! Offline token verification (what a tool server runs on every call) against the raw
//! primitive it cannot avoid, one Ed25519 signature check, and against the josekit path
//! the verifier used before it moved to ring; and a DPoP proof's checks against the same
//! primitive.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use ring::signature::{ED25519, UnparsedPublicKey};
use tg_core::{AgentId, Timestamp};
use tg_tokens::{JwksVerifier, TokenIssuer, TokenRequest, generate_signing_key};

fn bench(c: &mut Criterion) {
    let secret = [7u8; 32];
    let now = Timestamp::from_secs(1_800_000_000);
    let key = generate_signing_key(&secret, now).unwrap();
    let issuer = TokenIssuer::new(
        "trust-gateway",
        "tools",
        &key,
        std::slice::from_ref(&key),
        &secret,
        None,
    )
    .unwrap();
    let token = issuer
        .issue(
            &TokenRequest {
                agent_id: AgentId::generate(),
                name: "email-bot".into(),
                tier: 2,
                trust_score: 0.65,
                permitted_actions: vec!["read_data".into(), "send_email".into()],
                expires_in: 600,
                epoch: 0,
                state_version: 0,
                exchange: None,
                jkt: None,
            },
            now,
        )
        .unwrap()
        .token;
    let jwks = issuer.jwks();
    let verifier = JwksVerifier::new(&jwks, "trust-gateway", "tools").unwrap();
    assert!(verifier.verify(&token, now).is_ok());

    let jwk = &jwks["keys"][0];
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let raw = UnparsedPublicKey::new(&ED25519, x);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert!(raw.verify(input.as_bytes(), &signature).is_ok());

    let josekit_jwk = josekit::jwk::Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
    let josekit_verifier = josekit::jws::EdDSA.verifier_from_jwk(&josekit_jwk).unwrap();

    let mut g = c.benchmark_group("token verify");
    g.bench_function("raw Ed25519 verify (ring)", |b| {
        b.iter(|| raw.verify(black_box(input.as_bytes()), black_box(&signature)))
    });
    g.bench_function("JwksVerifier::verify (ring, all claim checks)", |b| {
        b.iter(|| verifier.verify(black_box(&token), now).unwrap())
    });
    g.bench_function(
        "josekit decode_with_verifier (the former path, no claim checks)",
        |b| {
            b.iter(|| {
                josekit::jwt::decode_with_verifier(black_box(&token), &josekit_verifier).unwrap()
            })
        },
    );
    g.finish();
}

/// A DPoP proof (RFC 9449) as a tool server receives it, checked by `verify_dpop_proof`
/// (header and claims parsed, `htu` normalised, `ath` and the key's thumbprint hashed)
/// against the one Ed25519 signature check inside it.
fn dpop(c: &mut Criterion) {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::json;
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let now = Timestamp::from_secs(1_800_000_000);
    let token = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhZ194In0.c2lnbmF0dXJl";
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk});
    let claims = json!({"jti": "e1b2c3d4", "htm": "POST", "htu": "https://tools.example/mail/send",
        "iat": now.as_secs(), "ath": tg_tokens::access_token_hash(token)});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = pair.sign(input.as_bytes());
    let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
    let target = tg_tokens::DpopTarget {
        method: "POST",
        uri: "https://tools.example/mail/send",
    };
    assert!(tg_tokens::verify_dpop_proof(&proof, target, now, Some(token)).is_ok());
    let raw = UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref().to_vec());

    let mut g = c.benchmark_group("dpop proof verify");
    g.bench_function("raw Ed25519 verify (ring)", |b| {
        b.iter(|| raw.verify(black_box(input.as_bytes()), black_box(signature.as_ref())))
    });
    g.bench_function("verify_dpop_proof (every RFC 9449 check but replay)", |b| {
        b.iter(|| {
            tg_tokens::verify_dpop_proof(black_box(&proof), target, now, Some(token)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench, dpop);
criterion_main!(benches);
