//! Vouching and the EigenTrust vouch factor, on the service with an injected clock and the
//! recompute run explicitly (the background worker is off), so every figure is exact.

use std::sync::Arc;

use tg_core::{ManualClock, Outcome, Timestamp};
use tg_identity::{Attestation, TrustBundles};
use tg_scoring::{Policy, Preset};
use tg_service::{Gateway, NewVouch, RecordAction, Registration, TrustView};

use crate::support::{SERVICE_KEY, service};

/// 2027-01-01T00:00:00Z
const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

struct World {
    g: Gateway,
    clock: Arc<ManualClock>,
    p: tg_access::Principal,
    actor: tg_audit::Actor,
}

impl World {
    async fn new(preset: Preset) -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let g = service(
            Arc::clone(&clock),
            TrustBundles::default(),
            Policy::preset(preset),
        )
        .await;
        let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
        let actor = g.actor(Some(&p), None);
        Self { g, clock, p, actor }
    }

    async fn agent(&self, name: &str, attestation: Attestation) -> String {
        let reg = Registration {
            name: name.into(),
            provider: "p".into(),
            spiffe_id: None,
            config_hash: "h".into(),
            capabilities: vec![],
            attestation: Some(attestation),
        };
        self.g
            .register(&self.p, &self.actor, reg)
            .await
            .unwrap()
            .agent
            .id
            .to_string()
    }

    async fn record(&self, id: &str, result: Outcome, times: usize) {
        for _ in 0..times {
            self.clock.advance_secs(60);
            let req = RecordAction {
                agent_id: id.into(),
                action: "read_data".into(),
                result,
                reported_at: None,
            };
            self.g
                .record_action(&self.p, &self.actor, req)
                .await
                .unwrap();
        }
    }

    async fn vouch(&self, from: &str, to: &str, weight: f64) {
        let req = NewVouch {
            from_agent: from.into(),
            weight,
            note: None,
            signature: None,
        };
        self.g.vouch(&self.p, &self.actor, to, req).await.unwrap();
    }

    async fn view(&self, id: &str) -> TrustView {
        self.g.trust_view(id).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_colluding_ring_gains_nothing_while_vouched_honest_agents_rise() {
    let w = World::new(Preset::JoyV1).await;
    let anchor = w.agent("anchor", Attestation::ApiKey).await;
    w.g.set_anchor(&w.p, &w.actor, &anchor, true).await.unwrap();
    w.record(&anchor, Outcome::Success, 10).await;

    let mut honest = Vec::new();
    for i in 0..10 {
        let id = w.agent(&format!("honest-{i}"), Attestation::ApiKey).await;
        w.record(&id, Outcome::Success, 10).await;
        honest.push(id);
    }
    let mut ring = Vec::new();
    for i in 0..100 {
        let id = w
            .agent(&format!("ring-{i}"), Attestation::SelfDeclared)
            .await;
        w.record(&id, Outcome::Success, 10).await;
        ring.push(id);
    }
    let before: Vec<f64> = {
        let mut v = Vec::new();
        for h in &honest {
            v.push(w.view(h).await.breakdown.composite);
        }
        v
    };
    for h in &honest {
        w.vouch(&anchor, h, 1.0).await;
    }
    for a in &ring {
        for b in &ring {
            if a != b {
                w.vouch(a, b, 1.0).await;
            }
        }
    }
    let report = w.g.recompute_vouches().await.unwrap();
    assert_eq!(
        (report.agents, report.vouches, report.pretrusted),
        (111, 10 + 100 * 99, 1)
    );

    let mut ring_max_vouch: f64 = 0.0;
    let mut ring_max_score: f64 = 0.0;
    for r in &ring {
        let v = w.view(r).await;
        ring_max_vouch = ring_max_vouch.max(v.breakdown.factors.vouch);
        ring_max_score = ring_max_score.max(v.breakdown.composite);
        assert!(
            v.breakdown.tier < 2,
            "ring member {r} reached tier {}",
            v.breakdown.tier
        );
    }
    assert_eq!(
        ring_max_vouch, 0.0,
        "no trust path from the anchor into the ring"
    );

    let mut honest_vouch = Vec::new();
    for (h, old) in honest.iter().zip(&before) {
        let v = w.view(h).await;
        assert!(
            v.breakdown.composite > *old,
            "{h}: {} ≤ {old}",
            v.breakdown.composite
        );
        assert!(v.breakdown.tier >= 2, "{h} tier {}", v.breakdown.tier);
        honest_vouch.push(v.breakdown.factors.vouch);
        let (_, history) = w.g.history(h, 1).await.unwrap();
        assert_eq!(history[0].trigger, tg_scoring::Trigger::Vouch);
    }
    let anchor_view = w.view(&anchor).await;
    eprintln!(
        "collusion: anchor composite {:.3}; honest vouch factor {:.3}, composite {:.3} (was {:.3}); \
         ring max vouch factor {ring_max_vouch}, max composite {ring_max_score:.3}; {} iterations",
        anchor_view.breakdown.composite,
        honest_vouch[0],
        w.view(&honest[0]).await.breakdown.composite,
        before[0],
        report.iterations
    );
    // One anchor shares its trust among ten: 1 + log10(credibility / 10) / 3.
    let expected = 1.0 + (anchor_view.breakdown.composite / 10.0).log10() / 3.0;
    for f in &honest_vouch {
        assert!((f - expected).abs() < 0.01, "{f} vs {expected}");
    }
    // A second run with nothing changed writes nothing.
    assert_eq!(w.g.recompute_vouches().await.unwrap().changed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_by_a_vouchee_cost_the_voucher_and_revocation_removes_the_credit() {
    let w = World::new(Preset::JoyV1).await;
    let anchor = w.agent("anchor", Attestation::ApiKey).await;
    w.g.set_anchor(&w.p, &w.actor, &anchor, true).await.unwrap();
    w.record(&anchor, Outcome::Success, 10).await;
    let good = w.agent("good", Attestation::ApiKey).await;
    let bad = w.agent("bad", Attestation::ApiKey).await;
    for id in [&good, &bad] {
        w.record(id, Outcome::Success, 10).await;
        w.vouch(&anchor, id, 1.0).await;
    }
    w.g.recompute_vouches().await.unwrap();
    let good_before = w.view(&good).await.breakdown.factors.vouch;
    assert!(good_before > 0.7, "{good_before}");

    // `bad` misbehaves: the anchor vouched for it, so the anchor's vouches weigh less.
    w.record(&bad, Outcome::Violation, 1).await;
    w.g.recompute_vouches().await.unwrap();
    let good_after = w.view(&good).await.breakdown.factors.vouch;
    assert!(
        good_after < good_before - 0.05,
        "{good_after} vs {good_before}"
    );

    // Revoking the vouch for `bad` takes its credit away but not the anchor's record.
    let given =
        w.g.vouches(&w.p, &anchor, tg_vouch::Direction::Given, 0, 10)
            .await
            .unwrap();
    let to_bad = given.iter().find(|v| v.to_agent.as_str() == bad).unwrap();
    w.g.revoke_vouch(&w.p, &w.actor, &bad, to_bad.id.as_str())
        .await
        .unwrap();
    w.g.recompute_vouches().await.unwrap();
    assert_eq!(w.view(&bad).await.breakdown.factors.vouch, 0.0);
    let good_final = w.view(&good).await.breakdown.factors.vouch;
    assert!(
        good_final < good_before,
        "the violation still counts: {good_final}"
    );

    // Unmarking the only anchor leaves nobody pre-trusted: no vouch credit anywhere.
    w.g.set_anchor(&w.p, &w.actor, &anchor, false)
        .await
        .unwrap();
    let report = w.g.recompute_vouches().await.unwrap();
    assert_eq!(report.pretrusted, 0);
    assert_eq!(w.view(&good).await.breakdown.factors.vouch, 0.0);
    assert_eq!(w.view(&anchor).await.breakdown.factors.vouch, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_vouchers_pass_on_nothing() {
    let w = World::new(Preset::JoyV1).await;
    let anchor = w.agent("anchor", Attestation::ApiKey).await;
    w.g.set_anchor(&w.p, &w.actor, &anchor, true).await.unwrap();
    w.record(&anchor, Outcome::Success, 10).await;
    let mid = w.agent("mid", Attestation::ApiKey).await;
    let leaf = w.agent("leaf", Attestation::ApiKey).await;
    w.record(&mid, Outcome::Success, 10).await;
    w.vouch(&anchor, &mid, 1.0).await;
    w.vouch(&mid, &leaf, 1.0).await;
    w.g.recompute_vouches().await.unwrap();
    assert!(w.view(&leaf).await.breakdown.factors.vouch > 0.5);
    w.g.change_status(&w.p, &w.actor, &mid, tg_service::Lifecycle::Suspend, None)
        .await
        .unwrap();
    w.g.recompute_vouches().await.unwrap();
    assert_eq!(w.view(&leaf).await.breakdown.factors.vouch, 0.0);
}
