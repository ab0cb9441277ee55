//! The transparency log on both stores, at the service level with an injected clock (the
//! test runs each round): receipts enter the log and prove their inclusion under a signed
//! checkpoint; the truncation attack of issue 16 is caught; a rewritten tree is refused
//! and reported; two instances share one sequencer; keys rotate; witnesses cosign.

use std::sync::Arc;
use tg_core::AgentId;

use tg_access::Principal;
use tg_core::{ManualClock, Timestamp};
use tg_identity::{Attestation, TrustBundles};
use tg_log::{Checkpoint, Cosigner, Note, Verifier, leaf_hash, verify_inclusion};
use tg_scoring::{Policy, Preset};
use tg_service::{Gateway, NewWebhook};
use tg_store::{Db, DbConfig};

use crate::support::{Backend, Counting, SERVICE_KEY, fresh_db, registration, success, tamper};
use crate::webhooks::receiver;

/// 2027-01-01T00:00:00Z
const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

async fn instance_with(
    db: &DbConfig,
    clock: &Arc<ManualClock>,
    witnesses: Vec<String>,
) -> (Gateway, Principal) {
    instance_batching(db, clock, witnesses, tg_service::LogConfig::default().batch).await
}

async fn instance_batching(
    db: &DbConfig,
    clock: &Arc<ManualClock>,
    witnesses: Vec<String>,
    batch: u32,
) -> (Gateway, Principal) {
    instance_configured(db, clock, |log| {
        log.witnesses = witnesses;
        log.batch = batch;
    })
    .await
}

/// An instance whose log settings `set` changes after the tests' own.
async fn instance_configured(
    db: &DbConfig,
    clock: &Arc<ManualClock>,
    set: impl FnOnce(&mut tg_service::LogConfig),
) -> (Gateway, Principal) {
    let store = Db::connect(db).await.unwrap();
    instance_on(Arc::new(store), clock, set).await
}

/// [`instance_configured`] on a given store.
async fn instance_on(
    store: Arc<dyn tg_service::Store>,
    clock: &Arc<ManualClock>,
    set: impl FnOnce(&mut tg_service::LogConfig),
) -> (Gateway, Principal) {
    let mut config = tg_service::GatewayConfig::in_process(
        b"clocked-secret-0123456789abcdefghijklmnop".to_vec(),
        SERVICE_KEY,
    );
    config.policy = Policy::preset(Preset::GatewayV2);
    config.clock = Arc::clone(clock) as Arc<dyn tg_core::Clock>;
    config.trust_bundles = TrustBundles::default();
    config.webhooks.allow = tg_webhooks::UrlPolicy::parse_allow_list("127.0.0.0/8,::1").unwrap();
    config.log.origin = "gateway.test/log".into();
    // Every round checks that no logged receipt is gone (the default is every 60th).
    config.log.coverage_every = 1;
    set(&mut config.log);
    let g = Gateway::start(store, config).await.unwrap();
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    (g, p)
}

async fn instance(db: &DbConfig, clock: &Arc<ManualClock>) -> (Gateway, Principal) {
    instance_with(db, clock, vec![]).await
}

async fn agent_with(g: &Gateway, p: &Principal, name: &str, receipts: usize) -> AgentId {
    let actor = g.actor(Some(p), None);
    let id = g
        .register(p, &actor, registration(name, Attestation::ApiKey))
        .await
        .unwrap()
        .agent
        .id;
    for _ in 0..receipts {
        g.record_action(p, &actor, success(&id)).await.unwrap();
    }
    id
}

/// The newest checkpoint, verified under the log's current vkey.
async fn checkpoint(g: &Gateway) -> Checkpoint {
    let note = Note::parse(&g.log_checkpoint(false).await.unwrap()).unwrap();
    let vkey = Verifier::parse(&g.log_key().await.unwrap().vkey).unwrap();
    note.verify(&[vkey]).unwrap();
    Checkpoint::parse(&note.text).unwrap()
}

/// The log indexes of `agents`' receipts, sorted, each checked to prove its inclusion at
/// that index into the signed checkpoint `cp`.
async fn proven_indexes(
    g: &Gateway,
    p: &Principal,
    agents: &[&AgentId],
    cp: &Checkpoint,
) -> Vec<u64> {
    let mut indexes = Vec::new();
    for id in agents {
        for r in g.receipts(p, id, 10, None).await.unwrap() {
            let index = r.log_index.expect("integrated");
            let leaf = leaf_hash(&r.receipt_hash);
            let proof = g.log_inclusion(leaf, cp.size).await.unwrap();
            assert_eq!(proof.leaf_index, index);
            assert!(verify_inclusion(
                &leaf,
                index,
                cp.size,
                &proof.hashes,
                &cp.root
            ));
            indexes.push(index);
        }
    }
    indexes.sort_unstable();
    indexes
}

pub async fn receipts_enter_the_log_and_prove_inclusion(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance(&db, &clock).await;
    // The empty log has a signed checkpoint too.
    let empty = checkpoint(&g).await;
    assert_eq!(
        (empty.origin.as_str(), empty.size, empty.root),
        ("gateway.test/log", 0, tg_log::EMPTY_ROOT)
    );

    let a = agent_with(&g, &p, "a", 3).await;
    let b = agent_with(&g, &p, "b", 4).await;
    let before = g.receipts(&p, &a, 10, None).await.unwrap();
    assert!(
        before.iter().all(|r| r.log_index.is_none()),
        "not integrated yet"
    );

    let round = g.integrate_log().await.unwrap();
    assert!(round.leader);
    assert_eq!((round.integrated, round.size), (7, 7));
    assert!(
        round.inconsistencies.is_empty(),
        "{:?}",
        round.inconsistencies
    );
    let cp = checkpoint(&g).await;
    assert_eq!(cp.size, 7);

    assert_eq!(
        proven_indexes(&g, &p, &[&a, &b], &cp).await,
        (0..7).collect::<Vec<_>>()
    );

    // Nothing new: no new checkpoint. More receipts: the next one extends the last.
    assert_eq!(g.integrate_log().await.unwrap().integrated, 0);
    agent_with(&g, &p, "c", 2).await;
    assert_eq!(g.integrate_log().await.unwrap().size, 9);
    let next = checkpoint(&g).await;
    let proof = g.log_consistency(7, 9).await.unwrap();
    assert!(tg_log::verify_consistency(
        7, 9, &cp.root, &next.root, &proof
    ));
    // A proof for a tree the log has not signed, or a leaf it does not hold, is refused.
    assert!(matches!(
        g.log_inclusion([9; 32], 9).await,
        Err(tg_service::ServiceError::NotFound(_))
    ));
    assert!(matches!(
        g.log_inclusion([9; 32], 10).await,
        Err(tg_service::ServiceError::Invalid(_))
    ));
    assert!(matches!(
        g.log_consistency(9, 10).await,
        Err(tg_service::ServiceError::Invalid(_))
    ));
}

/// A backlog larger than a batch is integrated in one round, batch after batch, each
/// extending the tree the one before signed.
pub async fn a_backlog_is_integrated_batch_by_batch(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance_batching(&db, &clock, vec![], 3).await;
    let a = agent_with(&g, &p, "backlog", 7).await;
    let round = g.integrate_log().await.unwrap();
    assert_eq!((round.integrated, round.size), (7, 7));
    assert!(
        round.inconsistencies.is_empty(),
        "{:?}",
        round.inconsistencies
    );
    // Each batch began from the tiles of the checkpoint the one before signed (a batch
    // refuses tiles that do not give it): every leaf proves into the last checkpoint.
    let last = checkpoint(&g).await;
    assert_eq!(last.size, 7);
    assert_eq!(
        proven_indexes(&g, &p, &[&a], &last).await,
        (0..7).collect::<Vec<_>>()
    );
    // A later round extends it.
    agent_with(&g, &p, "later", 4).await;
    assert_eq!(g.integrate_log().await.unwrap().size, 11);
    let next = checkpoint(&g).await;
    let proof = g.log_consistency(7, 11).await.unwrap();
    assert!(tg_log::verify_consistency(
        7, 11, &last.root, &next.root, &proof
    ));
}

/// Issue 16's reproduction: delete an agent's last receipts and rewrite
/// `agent_trust.chain_seq` / `chain_hash` to what is left.
async fn cut_tail(db: &DbConfig, agent: &AgentId, keep: u64) {
    tamper(
        db,
        &format!("DELETE FROM receipts WHERE agent_id = '{agent}' AND seq > {keep}"),
    )
    .await;
    tamper(
        db,
        &format!(
            "UPDATE agent_trust SET chain_seq = {keep}, chain_hash = \
             (SELECT receipt_hash FROM receipts WHERE agent_id = '{agent}' AND seq = {keep}) \
             WHERE agent_id = '{agent}'"
        ),
    )
    .await;
}

pub async fn a_cut_tail_is_caught_by_the_log_and_the_head_mac(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance(&db, &clock).await;
    let mut rx = receiver(vec![]).await;
    let hook = NewWebhook {
        url: rx.url.clone(),
        events: vec!["log_inconsistent".into()],
        secret: None,
        enabled: None,
    };
    g.create_webhook(&p, hook).await.unwrap();
    let logged = agent_with(&g, &p, "logged", 6).await;
    g.integrate_log().await.unwrap();
    assert!(g.verify_chain(&p, &logged).await.unwrap().valid);

    cut_tail(&db, &logged, 4).await;
    let report = g.verify_chain(&p, &logged).await.unwrap();
    assert!(!report.valid, "{report:?}");
    assert_eq!(report.first_broken_seq, Some(5));
    let reason = report.reason.unwrap();
    assert!(
        reason.contains("transparency log holds receipt seq 6"),
        "{reason}"
    );
    // The export refuses to sign the shortened chain.
    let mut export = g.export_receipts(&p, &logged).await.unwrap();
    while export.next_page().await.unwrap().is_some() {}
    let refused = export.finish(T0).unwrap_err();
    assert_eq!(refused.first_broken_seq, Some(5));
    // The monitor finds logged receipts missing, and says so once.
    let round = g.integrate_log().await.unwrap();
    assert_eq!(
        round.inconsistencies.len(),
        1,
        "{:?}",
        round.inconsistencies
    );
    assert!(
        round.inconsistencies[0].contains("2 receipts in the log"),
        "{:?}",
        round.inconsistencies
    );
    g.deliver_webhooks().await.unwrap();
    let event = rx.next().await.body;
    assert_eq!(event["event"], "log_inconsistent");
    assert!(
        event["data"]["finding"]
            .as_str()
            .unwrap()
            .contains("missing")
    );

    // Cut before the log integrated them: the head's MAC gives the rewrite away.
    let fresh = agent_with(&g, &p, "fresh", 6).await;
    cut_tail(&db, &fresh, 3).await;
    let report = g.verify_chain(&p, &fresh).await.unwrap();
    assert!(!report.valid);
    assert_eq!(report.first_broken_seq, Some(4));
    assert!(report.reason.unwrap().contains("MAC"));
}

/// Each coverage check covers the next `coverage_entries` of the log and the checks wrap
/// around it: a receipt cut from the log's end is found by the check that reaches it,
/// and the sweep then begins again from the first entry.
pub async fn coverage_checks_sweep_the_log_a_part_at_a_time(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance_configured(&db, &clock, |log| log.coverage_entries = 4).await;
    let agent = agent_with(&g, &p, "swept", 10).await;
    // Integrates leaves 0..10 (seq 1..=10), then checks entries 0 to 4.
    let round = g.integrate_log().await.unwrap();
    assert_eq!((round.size, round.inconsistencies.len()), (10, 0));
    cut_tail(&db, &agent, 8).await;
    // Entries 4 to 8 (seq 5..=8) are all there.
    let round = g.integrate_log().await.unwrap();
    assert!(round.inconsistencies.is_empty(), "{round:?}");
    // Entries 8 to 10: seq 9 and 10 are gone.
    let round = g.integrate_log().await.unwrap();
    assert_eq!(
        round.inconsistencies,
        vec!["2 receipts in the log (entries 8 to 10) are missing from the database".to_owned()]
    );
    // The sweep begins again: entries 0 to 4, then 4 to 8, find nothing; 8 to 10 again
    // finds what was already reported, and says nothing new.
    for _ in 0..3 {
        let round = g.integrate_log().await.unwrap();
        assert!(round.inconsistencies.is_empty(), "{round:?}");
    }
}

/// The sequencer deletes what it integrates from its queue; on PostgreSQL those rows and
/// their index entries stay until a vacuum, and every read of the queue's head walks them
/// (a minute of records made that read 2.5× slower before autovacuum came). Once
/// `reclaim_after` receipts are integrated, the round reclaims them: on PostgreSQL a real
/// `VACUUM` of the queue (counted in `pg_stat_user_tables.vacuum_count`, which counts no
/// autovacuum; shared memory from PostgreSQL 15, so read at once); on SQLite nothing to do.
pub async fn the_sequencer_reclaims_its_queue_after_enough_receipts(backend: Backend) {
    use std::sync::atomic::Ordering::SeqCst;
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(Counting::new(Db::connect(&db).await.unwrap()));
    let (g, p) = instance_on(Arc::clone(&store) as _, &clock, |log| log.reclaim_after = 5).await;
    let vacuums_at_start = queue_vacuums(&db).await;
    let agent = agent_with(&g, &p, "busy", 3).await;
    assert_eq!(g.integrate_log().await.unwrap().integrated, 3);
    assert_eq!(store.reclaims.load(SeqCst), 0, "3 of 5: not yet");
    for _ in 0..3 {
        g.record_action(&p, &g.actor(Some(&p), None), success(&agent))
            .await
            .unwrap();
    }
    assert_eq!(g.integrate_log().await.unwrap().integrated, 3);
    assert_eq!(store.reclaims.load(SeqCst), 1, "6 of 5: reclaimed");
    assert_eq!(
        queue_vacuums(&db).await,
        vacuums_at_start.map(|n| n + 1),
        "PostgreSQL vacuumed the queue"
    );
    // The count starts again: an idle round reclaims nothing.
    assert_eq!(g.integrate_log().await.unwrap().integrated, 0);
    assert_eq!(store.reclaims.load(SeqCst), 1);
}

/// The vacuums run by hand on `log_queue` so far (PostgreSQL; `None` on SQLite).
async fn queue_vacuums(db: &DbConfig) -> Option<i64> {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        vacuum_count: i64,
    }
    let DbConfig::Postgres { url, .. } = db else {
        return None;
    };
    let mut conn = diesel_async::AsyncPgConnection::establish(url)
        .await
        .unwrap();
    let row: Count = diesel::sql_query(
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'log_queue'::regclass",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    Some(row.vacuum_count)
}

pub async fn a_rewritten_tree_is_never_extended(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (g, p) = instance(&db, &clock).await;
    let id = agent_with(&g, &p, "a", 5).await;
    g.integrate_log().await.unwrap();
    let before = checkpoint(&g).await;
    // Rewrite a leaf hash in the stored level-0 tile.
    let zeros = match db {
        DbConfig::Sqlite(_) => "zeroblob(32)",
        DbConfig::Postgres { .. } => "decode(repeat('00', 32), 'hex')",
    };
    let splice = match db {
        DbConfig::Sqlite(_) => format!("{zeros} || substr(hashes, 33)"),
        DbConfig::Postgres { .. } => format!("{zeros} || substring(hashes from 33)"),
    };
    tamper(
        &db,
        &format!("UPDATE log_tiles SET hashes = {splice} WHERE level = 0 AND idx = 0"),
    )
    .await;
    g.record_action(&p, &g.actor(Some(&p), None), success(&id))
        .await
        .unwrap();
    let round = g.integrate_log().await.unwrap();
    assert_eq!(
        round.integrated, 0,
        "never extends a tree that lost its signed root"
    );
    assert!(
        round
            .inconsistencies
            .iter()
            .any(|f| f.contains("do not give the signed root")),
        "{:?}",
        round.inconsistencies
    );
    assert_eq!(checkpoint(&g).await, before);
    assert!(
        g.integrate_log().await.unwrap().inconsistencies.is_empty(),
        "reported once"
    );
}

pub async fn one_instance_sequences_the_others_follow(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let (a, pa) = instance(&db, &clock).await;
    let (b, pb) = instance(&db, &clock).await;
    agent_with(&a, &pa, "on-a", 3).await;
    agent_with(&b, &pb, "on-b", 3).await;
    let ra = a.integrate_log().await.unwrap();
    let rb = b.integrate_log().await.unwrap();
    assert!(ra.leader && !rb.leader);
    assert_eq!((ra.integrated, rb.integrated), (6, 0));
    assert_eq!(
        rb.size, 6,
        "the follower's monitor accepted the leader's checkpoint"
    );
    assert_eq!(checkpoint(&a).await, checkpoint(&b).await);
    // The leader stops; after three periods the other takes over and extends the same tree.
    clock.advance_secs(10);
    agent_with(&b, &pb, "later", 2).await;
    let rb = b.integrate_log().await.unwrap();
    assert!(rb.leader);
    assert_eq!((rb.integrated, rb.size), (2, 8));
    assert!(a.integrate_log().await.unwrap().inconsistencies.is_empty());
}

pub async fn log_keys_rotate_and_witnesses_cosign(backend: Backend) {
    let (db, _dir) = fresh_db(backend).await;
    let clock = Arc::new(ManualClock::new(T0));
    let witness =
        Cosigner::from_pkcs8("witness.test/w1", &tg_log::note::generate_key().unwrap()).unwrap();
    let stranger =
        Cosigner::from_pkcs8("witness.test/w2", &tg_log::note::generate_key().unwrap()).unwrap();
    let (g, p) = instance_with(&db, &clock, vec![witness.vkey()]).await;
    let actor = g.actor(Some(&p), None);
    agent_with(&g, &p, "a", 2).await;
    g.integrate_log().await.unwrap();
    let first = g.log_checkpoint(false).await.unwrap();
    assert!(matches!(
        g.log_checkpoint(true).await,
        Err(tg_service::ServiceError::NotFound(_))
    ));

    // A witness cosigns what the log signed; the checkpoint is then served with it.
    let body = Note::parse(&first).unwrap().text;
    let cosigned = format!("{first}{}", witness.cosign(&body, 1_798_761_601));
    let done = g.add_cosignature(&cosigned, &actor).await.unwrap();
    assert_eq!(
        (done.size, done.witnesses.clone()),
        (2, vec!["witness.test/w1".to_owned()])
    );
    let served = g.log_checkpoint(true).await.unwrap();
    let w = Verifier::parse(&witness.vkey()).unwrap();
    let verified = Note::parse(&served).unwrap().verify(&[w]).unwrap();
    assert_eq!(verified[0].timestamp, Some(1_798_761_601));
    // Unknown witnesses, forged cosignatures and checkpoints the log never signed are refused.
    let by_stranger = format!("{first}{}", stranger.cosign(&body, 1_798_761_601));
    assert!(g.add_cosignature(&by_stranger, &actor).await.is_err());
    let forged = cosigned.replace("\n2\n", "\n3\n");
    assert!(g.add_cosignature(&forged, &actor).await.is_err());

    // Rotation: the next checkpoint is signed by the new key; the old one still verifies.
    let old = g.log_key().await.unwrap();
    let rotated = g.rotate_log_key(&p, &actor).await.unwrap();
    assert_ne!(rotated.vkey, old.vkey);
    assert_eq!(rotated.vkeys, vec![old.vkey.clone(), rotated.vkey.clone()]);
    agent_with(&g, &p, "b", 1).await;
    g.integrate_log().await.unwrap();
    let newest = Note::parse(&g.log_checkpoint(false).await.unwrap()).unwrap();
    assert!(
        newest
            .verify(&[Verifier::parse(&rotated.vkey).unwrap()])
            .is_ok()
    );
    assert!(
        newest
            .verify(&[Verifier::parse(&old.vkey).unwrap()])
            .is_err()
    );
    assert!(
        Note::parse(&first)
            .unwrap()
            .verify(&[Verifier::parse(&old.vkey).unwrap()])
            .is_ok()
    );
    assert!(g.integrate_log().await.unwrap().inconsistencies.is_empty());
}
