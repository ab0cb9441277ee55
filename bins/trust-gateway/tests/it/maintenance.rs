//! Background upkeep on both stores, driven by an injected clock: the leader's score sweep
//! (decay and policy moves written as history and events), leader election between two
//! instances, background chain verification, and lifecycle history points.

use std::sync::Arc;
use tg_core::AgentId;

use serde_json::Value;
use tg_access::Principal;
use tg_core::{ManualClock, Timestamp};
use tg_identity::{Attestation, TrustBundles};
use tg_scoring::{Policy, Preset, TierEdit};
use tg_service::{Gateway, Lifecycle, NewWebhook};
use tg_store::{Db, DbConfig};

use crate::support::{
    Backend, Counting, SERVICE_KEY, fresh_db, registration, service_on, success, tamper,
};
use crate::webhooks::receiver;

/// 2027-01-01T00:00:00Z
const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

/// A service gateway on `db` (no background workers: the test runs each round).
async fn instance(db: &DbConfig, clock: &Arc<ManualClock>) -> (Gateway, Principal) {
    let store = Db::connect(db).await.unwrap();
    let policy = Policy::preset(Preset::GatewayV2);
    let g = service_on(store, Arc::clone(clock), TrustBundles::default(), policy).await;
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    (g, p)
}

async fn agent_with(g: &Gateway, p: &Principal, name: &str, successes: usize) -> AgentId {
    let actor = g.actor(Some(p), None);
    let reg = registration(name, Attestation::ApiKey);
    let id = g.register(p, &actor, reg).await.unwrap().agent.id;
    for _ in 0..successes {
        g.record_action(p, &actor, success(&id)).await.unwrap();
    }
    id
}

async fn triggers(g: &Gateway, p: &Principal, id: &AgentId) -> Vec<(String, u8)> {
    let (_, points) = g.history(p, id, 100).await.unwrap();
    points
        .iter()
        .map(|h| (h.trigger.as_str().to_owned(), h.tier))
        .collect()
}

async fn hook(g: &Gateway, p: &Principal, url: &str, events: &[&str]) {
    let req = NewWebhook {
        url: url.to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        secret: None,
        enabled: None,
    };
    g.create_webhook(p, req).await.unwrap();
}

pub async fn inactivity_that_drops_a_tier_is_swept_into_history_and_events(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance(&db, &clock).await;
    let id = agent_with(&g, &p, "idle", 20).await;
    let mut rx = receiver(vec![]).await;
    hook(&g, &p, &rx.url, &["tier_changed", "trust_changed"]).await;
    let before = g.trust_view(&id).await.unwrap().breakdown;
    assert!(before.tier >= 2, "{before:?}");

    // Nothing has moved yet: the sweep writes nothing.
    let round = g.maintain().await.unwrap();
    assert!(round.leader);
    assert_eq!(round.rescored, 0);

    // A year idle: decay takes the score down at least a tier.
    clock.advance_secs(365 * 86_400);
    let now = g.trust_view(&id).await.unwrap().breakdown;
    assert!(now.tier < before.tier, "{} -> {}", before.tier, now.tier);
    assert_eq!(g.maintain().await.unwrap().rescored, 1);
    let history = triggers(&g, &p, &id).await;
    assert_eq!(history[0], ("decay".to_owned(), now.tier));
    assert_eq!(g.maintain().await.unwrap().rescored, 0, "written once");

    g.deliver_webhooks().await.unwrap();
    // Deliveries arrive in any order, after those of the agent's rise (the endpoint sees
    // every event fanned out after it was created).
    let (tier, trust) = decay_events(&mut rx).await;
    assert_eq!(
        (
            &tier["data"]["old_tier"],
            &tier["data"]["new_tier"],
            &tier["data"]["trigger"]
        ),
        (
            &Value::from(before.tier),
            &Value::from(now.tier),
            &Value::from("decay")
        )
    );
    assert_eq!(trust["data"]["old_tier"], before.tier);
    assert_eq!(trust["data"]["new_tier"], now.tier);
    assert_eq!(trust["data"]["old_score"], before.composite);
    assert_eq!(trust["data"]["new_score"], now.composite);
}

/// The decay sweep's `tier_changed` and `trust_changed`.
async fn decay_events(rx: &mut crate::webhooks::Receiver) -> (Value, Value) {
    let (mut tier, mut trust) = (None, None);
    while tier.is_none() || trust.is_none() {
        let body = rx.next().await.body;
        if body["data"]["trigger"] != "decay" {
            continue;
        }
        match body["event"].as_str() {
            Some("tier_changed") => tier = Some(body),
            Some("trust_changed") => trust = Some(body),
            _ => {}
        }
    }
    (tier.unwrap(), trust.unwrap())
}

pub async fn one_instance_leads_the_upkeep_until_its_lease_lapses(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (a, _) = instance(&db, &clock).await;
    let (b, _) = instance(&db, &clock).await;
    assert!(a.maintain().await.unwrap().leader);
    assert!(!b.maintain().await.unwrap().leader, "a holds the lease");
    clock.advance_secs(60);
    assert!(a.maintain().await.unwrap().leader, "the leader renews");
    assert!(!b.maintain().await.unwrap().leader);
    // `a` stops (no more rounds): after three periods its lease lapses and `b` takes over.
    clock.advance_secs(3 * 60);
    assert!(b.maintain().await.unwrap().leader);
    assert!(!a.maintain().await.unwrap().leader);
}

pub async fn background_verification_reports_a_broken_chain_once(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance(&db, &clock).await;
    let good = agent_with(&g, &p, "good", 3).await;
    let bad = agent_with(&g, &p, "bad", 4).await;
    let mut rx = receiver(vec![]).await;
    hook(&g, &p, &rx.url, &["receipt_chain_broken"]).await;
    let round = g.maintain().await.unwrap();
    assert_eq!((round.chains_verified, round.receipts_verified), (2, 7));
    assert!(round.chains_broken.is_empty());

    tamper(
        &db,
        &format!(
            "UPDATE receipts SET action = 'delete_database' WHERE agent_id = '{bad}' AND seq = 2"
        ),
    )
    .await;
    let round = g.maintain().await.unwrap();
    assert_eq!(round.chains_broken.len(), 1);
    assert_eq!(round.chains_broken[0], bad);
    assert!(
        g.maintain().await.unwrap().chains_broken.is_empty(),
        "reported once"
    );
    g.deliver_webhooks().await.unwrap();
    let event = rx.until("receipt_chain_broken").await.body;
    assert_eq!(event["data"]["agent_id"], bad.as_str());
    assert_eq!(event["data"]["first_broken_seq"], 2);
    assert_ne!(event["data"]["agent_id"], good.as_str());
}

pub async fn lifecycle_and_policy_edits_show_in_history(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance(&db, &clock).await;
    let actor = g.actor(Some(&p), None);
    let id = agent_with(&g, &p, "cold", 0).await;
    g.change_status(&p, &actor, &id, Lifecycle::Suspend, None)
        .await
        .unwrap();
    g.change_status(&p, &actor, &id, Lifecycle::Reactivate, None)
        .await
        .unwrap();
    assert_eq!(
        triggers(&g, &p, &id).await,
        [
            ("lifecycle".to_owned(), 0),
            ("lifecycle".to_owned(), 0),
            ("registered".to_owned(), 0)
        ]
    );
    // Tier 1 now starts below the cold-start score: the next sweep stores the move.
    let edit = TierEdit {
        min_score: Some(0.05),
        ..TierEdit::default()
    };
    g.edit_tier(&p, &actor, 1, edit).await.unwrap();
    assert_eq!(g.maintain().await.unwrap().rescored, 1);
    assert_eq!(
        triggers(&g, &p, &id).await[0],
        ("policy_change".to_owned(), 1)
    );
}

/// Issue 15: four verifications of a 30k-receipt chain took another tenant's read from
/// 1 ms to 600 ms on SQLite, because each held the one connection for the whole chain. A
/// verification now reads the head, then one page of receipts per read, so the connection
/// is free between pages (timing: scripts/load-chain-verify.sh, docs/PERFORMANCE.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_verification_reads_a_page_at_a_time() {
    let store = Arc::new(Counting::new(tg_store::testing::sqlite().await));
    let mut config = tg_service::GatewayConfig::in_process(
        b"counting-secret-0123456789abcdefghijklmn".to_vec(),
        SERVICE_KEY,
    );
    config.policy = Policy::preset(Preset::GatewayV2);
    let g = Gateway::start(Arc::clone(&store) as Arc<dyn tg_service::Store>, config)
        .await
        .unwrap();
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    let page = tg_service::VERIFY_PAGE as usize;
    let id = agent_with(&g, &p, "long", 2 * page + 1).await;
    let before = store.reads.load(std::sync::atomic::Ordering::SeqCst);
    let report = g.verify_chain(&p, &id).await.unwrap();
    assert!(
        report.valid && report.length == 2 * page as u64 + 1,
        "{report:?}"
    );
    let reads = store.reads.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert_eq!(
        reads,
        1 + 3,
        "the head, then three pages, each its own read"
    );
}
