//! Time-dependent behaviour, driven by an injected clock (no test waits on wall-clock time).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ED25519,
    SanType, SigningKey, date_time_ymd,
};
use tg_core::{ManualClock, Timestamp};
use tg_identity::{Attestation, TrustBundle, TrustBundles, VerificationLevel};
use tg_scoring::{Policy, Preset};
use tg_service::{Gateway, Registration, ServiceError};

use crate::support::SERVICE_KEY as KEY;
/// 2027-01-01T00:00:00Z
const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

async fn gateway(clock: Arc<ManualClock>, bundles: TrustBundles) -> Gateway {
    crate::support::service(clock, bundles, Policy::preset(Preset::Default)).await
}

fn registration(
    name: &str,
    spiffe_id: Option<&str>,
    attestation: Option<Attestation>,
) -> Registration {
    Registration {
        name: name.into(),
        provider: "p".into(),
        spiffe_id: spiffe_id.map(str::to_owned),
        config_hash: "h".into(),
        capabilities: vec![],
        attestation,
        a2a: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_challenge_expires() {
    let clock = Arc::new(ManualClock::new(T0));
    let g = gateway(Arc::clone(&clock), TrustBundles::default()).await;
    let p = g.authenticate(Some(KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    let agent = g
        .register(&p, &actor, registration("slow", None, None))
        .await
        .unwrap()
        .agent;
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    g.set_public_key(&p, &actor, &agent.id, &key.public_key_pem(), "Ed25519")
        .await
        .unwrap();
    let c = g.issue_challenge(&p, &agent.id).await.unwrap();
    assert_eq!(c.expires_at, T0.plus_secs(tg_identity::CHALLENGE_TTL_SECS));
    let sig = key
        .sign(&tg_identity::challenge_message(&agent.id, &c.nonce))
        .unwrap();
    clock.advance_secs(tg_identity::CHALLENGE_TTL_SECS);
    let r = g
        .verify_challenge(
            &p,
            &actor,
            &agent.id,
            &c.nonce,
            &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig),
        )
        .await;
    assert!(
        matches!(r, Err(ServiceError::Invalid(ref m)) if m.contains("expired")),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_credit_follows_the_svid_validity() {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let id = "spiffe://example.org/agent/short-lived";
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.subject_alt_names = vec![SanType::URI(id.try_into().unwrap())];
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = date_time_ymd(2026, 12, 1);
    leaf.not_after = date_time_ymd(2027, 1, 2);
    let leaf_key = KeyPair::generate().unwrap();
    let certificate = leaf.signed_by(&leaf_key, &issuer).unwrap().pem();
    let mut bundle = TrustBundle::new("example.org").unwrap();
    bundle.add_x509_pem(ca_pem.as_bytes()).unwrap();

    let clock = Arc::new(ManualClock::new(T0));
    let g = gateway(Arc::clone(&clock), TrustBundles::new([bundle])).await;
    let p = g.authenticate(Some(KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    // Proof of possession: the leaf key signs a nonce the gateway issued.
    let nonce = g.issue_attestation_nonce(&p).await.unwrap().nonce;
    let signature = {
        use base64::Engine;
        use rcgen::SigningKey;
        base64::engine::general_purpose::STANDARD.encode(leaf_key.sign(nonce.as_bytes()).unwrap())
    };
    let attestation = Attestation::X509 {
        certificate,
        chain: vec![],
        nonce: Some(nonce),
        signature: Some(signature),
    };
    let view = g
        .register(
            &p,
            &actor,
            registration("short", Some(id), Some(attestation)),
        )
        .await
        .unwrap();
    assert_eq!(
        (view.verification_level, view.breakdown.factors.identity),
        (VerificationLevel::Certified, 1.0)
    );

    clock.set(Timestamp::parse_rfc3339("2027-01-02T00:00:01Z").unwrap());
    let view = g.trust_view(&view.agent.id).await.unwrap();
    assert_eq!(
        view.verification_level,
        VerificationLevel::Claimed,
        "an expired SVID no longer certifies"
    );
    assert_eq!(view.breakdown.factors.identity, 0.6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_equal_to_the_threshold_meets_it() {
    let clock = Arc::new(ManualClock::new(T0));
    // V2's arithmetic: the self-reported score is not held at tier 1, so decay shows.
    let g = crate::support::service(
        Arc::clone(&clock),
        TrustBundles::default(),
        Policy::preset(Preset::GatewayV2),
    )
    .await;
    let p = g.authenticate(Some(KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    let agent = g
        .register(
            &p,
            &actor,
            registration("edge", None, Some(Attestation::ApiKey)),
        )
        .await
        .unwrap()
        .agent;
    for _ in 0..6 {
        let req = tg_service::RecordAction {
            agent_id: agent.id.clone(),
            action: "read_data".into(),
            result: tg_core::Outcome::Success,
            reported_at: None,
            token: None,
        };
        g.record_action(&p, &actor, req).await.unwrap();
    }
    let subject = || tg_service::Subject::Id(agent.id.to_string());
    let exact = g
        .verify_trust(&p, &actor, subject(), 0.0)
        .await
        .unwrap()
        .trust_score;
    assert!(exact > 0.5);
    assert!(
        g.verify_trust(&p, &actor, subject(), exact)
            .await
            .unwrap()
            .meets_threshold,
        "equal meets"
    );
    assert!(
        !g.verify_trust(&p, &actor, subject(), exact + 1e-9)
            .await
            .unwrap()
            .meets_threshold
    );
    // Inactivity decay is applied at read time: 60 idle days cost 1 − 0.95² of the score.
    clock.advance_secs(60 * 86_400);
    let later = g
        .verify_trust(&p, &actor, subject(), 0.0)
        .await
        .unwrap()
        .trust_score;
    assert!(later < exact * 0.95, "{later} vs {exact}");
}

/// `GET /stats`' `recent_actions` (V2's) counts the last 24 hours of receipts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_actions_are_the_last_day() {
    let clock = Arc::new(ManualClock::new(T0));
    let g = gateway(Arc::clone(&clock), TrustBundles::default()).await;
    let p = g.authenticate(Some(KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    let agent = g
        .register(&p, &actor, registration("busy", None, None))
        .await
        .unwrap()
        .agent;
    let record = |at: Timestamp| {
        clock.set(at);
        let (g, p, actor) = (&g, &p, &actor);
        let req = crate::support::success(&agent.id);
        async move { g.record_action(p, actor, req).await.unwrap() }
    };
    record(T0).await;
    record(T0.plus_secs(3_600)).await;
    record(T0.plus_secs(86_400)).await;
    clock.set(T0.plus_secs(86_400 + 1_800));
    let stats = g.stats().await.unwrap();
    assert_eq!((stats.total_receipts, stats.recent_receipts), (3, 2));
    clock.set(T0.plus_secs(3 * 86_400));
    assert_eq!(g.stats().await.unwrap().recent_receipts, 0);
}
