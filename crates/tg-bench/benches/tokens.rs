//! Offline token verification (what a tool server runs on every call) against the raw
//! primitive it cannot avoid, one Ed25519 signature check, and against the josekit path
//! the verifier used before it moved to ring.
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

criterion_group!(benches, bench);
criterion_main!(benches);
