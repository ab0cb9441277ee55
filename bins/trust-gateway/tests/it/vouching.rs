//! Vouching and the EigenTrust vouch factor, on the service with an injected clock and the
//! recompute run explicitly (the background worker is off), so every figure is exact.

use std::sync::Arc;
use tg_core::AgentId;

use tg_core::{ManualClock, Outcome, Timestamp};
use tg_identity::Attestation;
use tg_scoring::Preset;
use tg_service::{Gateway, NewVouch, RecordAction, TrustView};

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
        let (g, clock, p) = crate::support::clocked(T0, preset).await;
        let actor = g.actor(Some(&p), None);
        Self { g, clock, p, actor }
    }

    async fn agent(&self, name: &str, attestation: Attestation) -> AgentId {
        let reg = crate::support::registration(name, attestation);
        self.g
            .register(&self.p, &self.actor, reg)
            .await
            .unwrap()
            .agent
            .id
    }

    async fn record(&self, id: &AgentId, result: Outcome, times: usize) {
        for _ in 0..times {
            self.clock.advance_secs(60);
            let req = RecordAction {
                agent_id: id.clone(),
                action: "read_data".into(),
                result,
                reported_at: None,
                token: None,
            };
            self.g
                .record_action(&self.p, &self.actor, req)
                .await
                .unwrap();
        }
    }

    async fn vouch(&self, from: &AgentId, to: &AgentId, weight: f64) {
        let req = NewVouch {
            from_agent: from.clone(),
            weight,
            note: None,
            signature: None,
        };
        self.g.vouch(&self.p, &self.actor, to, req).await.unwrap();
    }

    async fn view(&self, id: &AgentId) -> TrustView {
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
        let (_, history) = w.g.history(&w.g.operator(), h, 1).await.unwrap();
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
    // The stored factor, unrounded: the last step below moves it by less than the
    // breakdown's four reported places.
    let good_before = w.view(&good).await.state.vouch;
    assert!(good_before > 0.7, "{good_before}");

    // `bad` misbehaves: the anchor vouched for it, so the anchor's vouches weigh less.
    w.record(&bad, Outcome::Violation, 1).await;
    w.g.recompute_vouches().await.unwrap();
    let good_after = w.view(&good).await.state.vouch;
    eprintln!("violation: the good vouchee factor {good_before:.3} -> {good_after:.3}");
    assert!(
        good_after < good_before - 0.05,
        "{good_after} vs {good_before}"
    );

    // Revoking the vouch for `bad` takes its credit away but not the anchor's record.
    let given =
        w.g.vouches(&w.p, &anchor, tg_vouch::Direction::Given, 0, 10)
            .await
            .unwrap();
    let to_bad = given.iter().find(|v| v.to_agent == bad).unwrap();
    w.g.revoke_vouch(&w.p, &w.actor, &bad, &to_bad.id)
        .await
        .unwrap();
    w.g.recompute_vouches().await.unwrap();
    assert_eq!(w.view(&bad).await.breakdown.factors.vouch, 0.0);
    let good_final = w.view(&good).await.state.vouch;
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

/// The vouch endpoints over HTTP: create, update, list both ways, signatures, refusals,
/// object-level authorization, revocation, anchors, counts and the audit trail.
pub async fn vouching_over_http(backend: crate::support::Backend) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use rcgen::{KeyPair, PKCS_ED25519, SigningKey};
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    use crate::accounts::{as_key, new_key};

    let s = crate::support::start(backend).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let path = format!("/agents/{bob}/vouches");

    let (status, v) = s
        .post(
            &path,
            json!({"from_agent": alice, "weight": 0.8, "note": "reviewed its code"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["from_agent"].as_str(), v["to_agent"].as_str()),
        (Some(alice.as_str()), Some(bob.as_str()))
    );
    assert_eq!(
        (v["weight"].clone(), v["signed"].clone()),
        (json!(0.8), json!(false))
    );
    let vouch_id = v["vouch_id"].as_str().unwrap().to_owned();
    assert!(vouch_id.starts_with("vch_"));

    // Vouching again updates the one active vouch.
    let (status, again) = s
        .post(&path, json!({"from_agent": alice, "weight": 0.5}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["vouch_id"], vouch_id.as_str());
    assert_eq!(again["weight"], 0.5);

    // Refusals: self-vouch, weights out of (0, 1], unknown agents, malformed ids.
    for (body, target, want) in [
        (
            json!({"from_agent": bob, "weight": 0.5}),
            bob.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"from_agent": alice, "weight": 0}),
            bob.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"from_agent": alice, "weight": 1.5}),
            bob.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"from_agent": alice, "weight": "high"}),
            bob.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"from_agent": "alice", "weight": 0.5}),
            bob.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"from_agent": alice, "weight": 0.5, "extra": 1}),
            bob.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"from_agent": "ag_000000000000000000000000", "weight": 0.5}),
            bob.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"from_agent": alice, "weight": 0.5}),
            "ag_000000000000000000000000",
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"from_agent": alice, "weight": 0.5}),
            "nonsense",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = s
            .post(&format!("/agents/{target}/vouches"), body.clone())
            .await;
        assert_eq!(status, want, "{body}");
        assert!(body["detail"].is_string(), "{body}");
    }

    // Signed vouches verify against the voucher's registered Ed25519 key.
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let (status, _) = s
        .put(
            &format!("/agents/{alice}/public-key"),
            json!({"public_key": key.public_key_pem(), "key_algorithm": "Ed25519"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let carol = s.register("carol").await;
    let message = |weight: &str| {
        [
            b"trust-gateway/vouch/v1\0".as_slice(),
            alice.as_bytes(),
            b"\0",
            carol.as_bytes(),
            b"\0",
            weight.as_bytes(),
        ]
        .concat()
    };
    let forged = STANDARD.encode(key.sign(&message("1.000")).unwrap());
    let (status, body) = s
        .post(
            &format!("/agents/{carol}/vouches"),
            json!({"from_agent": alice, "weight": 0.25, "signature": forged}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a signature over another weight: {body}"
    );
    let signature = STANDARD.encode(key.sign(&message("0.250")).unwrap());
    let (status, signed) = s
        .post(
            &format!("/agents/{carol}/vouches"),
            json!({"from_agent": alice, "weight": 0.25, "signature": signature}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(signed["signed"], true);
    let (status, body) = s
        .post(
            &format!("/agents/{alice}/vouches"),
            json!({"from_agent": carol, "weight": 0.25, "signature": signature}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "carol has no key: {body}"
    );

    // Lists: received and given, paged.
    let (_, given) = s
        .get(&format!("/agents/{alice}/vouches?direction=given&limit=1"))
        .await;
    assert_eq!(given["vouches"].as_array().unwrap().len(), 1);
    assert_eq!(given["next_offset"], 1);
    let (_, given) = s
        .get(&format!("/agents/{alice}/vouches?direction=given"))
        .await;
    assert_eq!(given["vouches"].as_array().unwrap().len(), 2);
    let (_, received) = s.get(&path).await;
    assert_eq!(received["vouches"][0]["vouch_id"], vouch_id.as_str());
    let (status, _) = s.get(&format!("{path}?direction=sideways")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // vouch_count in the trust view and in Joy's TrustResult.
    let (_, trust) = s.get(&format!("/agents/{bob}/trust")).await;
    assert_eq!(
        (
            trust["vouch_count"].clone(),
            trust["trust_result"]["vouch_count"].clone()
        ),
        (json!(1), json!(1))
    );
    let (_, r) = s
        .post("/trust/verify", json!({"agent_id": bob, "min_score": 0}))
        .await;
    assert_eq!(r["vouch_count"], 1);

    // Another account sees the vouch count (above) but not the vouches, and can neither
    // vouch as, nor revoke for, our agents.
    let (_, acct) = s
        .post("/admin/accounts", json!({"name": "other", "plan": "free"}))
        .await;
    let other = new_key(&s, acct["id"].as_str().unwrap(), "write").await;
    let (status, _) = as_key(&s, &other, Method::GET, &path, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "vouch details are the account's"
    );
    let (status, _) = as_key(
        &s,
        &other,
        Method::POST,
        &path,
        Some(json!({"from_agent": alice, "weight": 1.0})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_key(
        &s,
        &other,
        Method::DELETE,
        &format!("{path}/{vouch_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_key(
        &s,
        &other,
        Method::PUT,
        &format!("/agents/{alice}/anchor"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "anchors are for admins");

    // Revocation by the owner; a second revoke, or one under another vouchee, is 404.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/agents/{carol}/vouches/{vouch_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A malformed vouch id is as absent as an unknown one.
    let (status, body) = s
        .call(Method::DELETE, &format!("{path}/vch_not-a-vouch"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["detail"],
        "no active vouch `vch_not-a-vouch` for this agent"
    );
    let (status, revoked) = s
        .call(Method::DELETE, &format!("{path}/{vouch_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = s
        .call(Method::DELETE, &format!("{path}/{vouch_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, received) = s.get(&path).await;
    assert_eq!(received["vouches"], json!([]));
    let (_, trust) = s.get(&format!("/agents/{bob}/trust")).await;
    assert_eq!(trust["vouch_count"], 0);
    // After revocation a new vouch for the pair is a fresh one.
    let (status, fresh) = s
        .post(&path, json!({"from_agent": alice, "weight": 0.3}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(fresh["vouch_id"], vouch_id.as_str());

    // Anchors: admin sets and clears; both audited.
    let (status, a) = s.put(&format!("/agents/{alice}/anchor"), json!({})).await;
    assert_eq!((status, a["anchor"].clone()), (StatusCode::OK, json!(true)));
    let (status, a) = s
        .call(Method::DELETE, &format!("/agents/{alice}/anchor"), None)
        .await;
    assert_eq!(
        (status, a["anchor"].clone()),
        (StatusCode::OK, json!(false))
    );

    // The audit trail: given / received / revoked on both sides, anchor changes.
    let types = |events: &serde_json::Value| -> Vec<String> {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_type"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, alice_audit) = s.get(&format!("/agents/{alice}/audit?limit=1000")).await;
    let alice_types = types(&alice_audit);
    for t in ["vouch_given", "vouch_revoked", "anchor_changed"] {
        assert!(
            alice_types.iter().any(|x| x == t),
            "{t} missing: {alice_types:?}"
        );
    }
    let (_, bob_audit) = s.get(&format!("/agents/{bob}/audit?limit=1000")).await;
    let bob_types = types(&bob_audit);
    assert_eq!(
        bob_types.iter().filter(|x| *x == "vouch_received").count(),
        3,
        "{bob_types:?}"
    );
    assert_eq!(
        bob_types.iter().filter(|x| *x == "vouch_revoked").count(),
        1
    );
    let (_, export) = s
        .get(&format!("/agents/{bob}/audit/export?format=json"))
        .await;
    assert_eq!(export["summary"]["vouches_received"], 3);
}
