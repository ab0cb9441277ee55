//! X509-SVID (leaf + one intermediate) and JWT-SVID verification.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use josekit::jws::{ES256, JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use rcgen::{
    BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
    date_time_ymd,
};
use serde_json::json;
use tg_core::Timestamp;
use tg_identity::{
    Attestation, AttestationVerifier, SpiffeId, TrustBundle, TrustBundles, verify_jwt_svid,
    verify_x509_svid,
};

const NOW: Timestamp = Timestamp::from_secs(1_798_761_600);
const ID: &str = "spiffe://example.org/agent/bench";

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p
}

fn bench(c: &mut Criterion) {
    let root_key = KeyPair::generate().unwrap();
    let root_params = ca_params();
    let root_pem = root_params.self_signed(&root_key).unwrap().pem();
    let root = Issuer::new(root_params, root_key);
    let mid_key = KeyPair::generate().unwrap();
    let mid_params = ca_params();
    let mid_pem = mid_params.signed_by(&mid_key, &root).unwrap().pem();
    let mid = Issuer::new(mid_params, mid_key);
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.subject_alt_names = vec![SanType::URI(ID.try_into().unwrap())];
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = date_time_ymd(2026, 1, 1);
    leaf.not_after = date_time_ymd(2028, 1, 1);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_pem = leaf.signed_by(&leaf_key, &mid).unwrap().pem();
    // Proof of possession: the leaf key's signature over a gateway nonce.
    let nonce = "5f1c9a0e7d3b4c2a8e6f0d1b3a5c7e9f";
    let signature = {
        use base64::Engine;
        use rcgen::SigningKey;
        base64::engine::general_purpose::STANDARD.encode(leaf_key.sign(nonce.as_bytes()).unwrap())
    };

    let rsa = RS256.generate_key_pair(2048).unwrap();
    let ec = ES256.generate_key_pair().unwrap();
    let mut keys = Vec::new();
    for (kid, mut jwk) in [
        ("rsa", rsa.to_jwk_public_key()),
        ("ec", ec.to_jwk_public_key()),
    ] {
        jwk.set_key_id(kid);
        jwk.set_key_use("jwt-svid");
        keys.push(serde_json::to_value(jwk.as_ref()).unwrap());
    }
    let mut bundle = TrustBundle::new("example.org").unwrap();
    bundle.add_x509_pem(root_pem.as_bytes()).unwrap();
    bundle
        .add_spiffe_jwks(json!({"keys": keys}).to_string().as_bytes())
        .unwrap();
    let id = SpiffeId::parse(ID).unwrap();
    let claims = json!({"sub": ID, "aud": "trust-gateway", "exp": NOW.as_secs() + 300});
    let token = |signer: &dyn josekit::jws::JwsSigner, kid: &str| {
        let mut h = JwsHeader::new();
        h.set_key_id(kid);
        jwt::encode_with_signer(
            &JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap(),
            &h,
            signer,
        )
        .unwrap()
    };
    let rs_token = token(
        &RS256.signer_from_der(rsa.to_der_private_key()).unwrap(),
        "rsa",
    );
    let es_token = token(
        &ES256.signer_from_der(ec.to_der_private_key()).unwrap(),
        "ec",
    );
    let chain = vec![mid_pem];

    let mut g = c.benchmark_group("identity");
    g.bench_function("x509-svid leaf+intermediate (uncached)", |b| {
        b.iter(|| black_box(verify_x509_svid(&bundle, &id, &leaf_pem, &chain, NOW).unwrap()))
    });
    let verifier = AttestationVerifier::new(TrustBundles::new([bundle.clone()]), "trust-gateway");
    let attestation = Attestation::X509 {
        certificate: leaf_pem.clone(),
        chain: chain.clone(),
        nonce: Some(nonce.into()),
        signature: Some(signature),
    };
    g.bench_function(
        "x509-svid leaf+intermediate (cached path, possession checked)",
        |b| b.iter(|| black_box(verifier.verify(Some(&id), &attestation, NOW).unwrap())),
    );
    g.bench_function("jwt-svid RS256", |b| {
        b.iter(|| {
            black_box(verify_jwt_svid(&bundle, &id, &rs_token, "trust-gateway", 30, NOW).unwrap())
        })
    });
    g.bench_function("jwt-svid ES256", |b| {
        b.iter(|| {
            black_box(verify_jwt_svid(&bundle, &id, &es_token, "trust-gateway", 30, NOW).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
