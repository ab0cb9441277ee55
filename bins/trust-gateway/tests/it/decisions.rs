//! Decisions from memory (issue 14): what an instance holds follows every write, its own
//! at once and other instances' through the database's signals, and when it cannot know
//! (its listener is gone) it decides from the database, never from stale memory.

use std::sync::Arc;
use tg_core::AgentId;

use tg_access::{Plan, Scope};
use tg_core::ManualClock;
use tg_identity::{Attestation, TrustBundles};
use tg_scoring::{DenyReason, Policy, Preset};
use tg_service::{Gateway, Lifecycle, Lookup, ServiceError};
use tg_store::{Db, DbConfig};

use crate::support::{SERVICE_KEY, registration, service_on, service_with, tamper};

const T0: tg_core::Timestamp = tg_core::Timestamp::from_secs(1_798_761_600);
/// What an active, new (tier 0) agent asking for `read_data` (tier 1) gets.
const ACTIVE: Option<DenyReason> = Some(DenyReason::InsufficientTier);

async fn instance(db: Db, clock: &Arc<ManualClock>) -> Gateway {
    service_on(
        db,
        Arc::clone(clock),
        TrustBundles::default(),
        Policy::preset(Preset::Default),
    )
    .await
}

/// Registers an agent on `g`; its id.
async fn agent(g: &Gateway, name: &str) -> AgentId {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    g.register(
        &p,
        &g.actor(Some(&p), None),
        registration(name, Attestation::ApiKey),
    )
    .await
    .unwrap()
    .agent
    .id
}

async fn deny(g: &Gateway, id: &AgentId) -> Option<DenyReason> {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    g.authorize(&p, &g.actor(Some(&p), None), id, "read_data", None)
        .await
        .unwrap()
        .decision
        .deny
}

async fn suspend(g: &Gateway, id: &AgentId) {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    g.change_status(&p, &g.actor(Some(&p), None), id, Lifecycle::Suspend, None)
        .await
        .unwrap();
}

/// A tenant's key on `g`: its plaintext and id.
async fn tenant_key(g: &Gateway, name: &str) -> (String, String) {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    let account = g
        .create_account(&p, &actor, name, Plan::Free)
        .await
        .unwrap();
    let new = g
        .create_key(&p, &actor, &account.id, Scope::Read)
        .await
        .unwrap();
    (new.plaintext, new.key.id)
}

async fn revoke(g: &Gateway, key_id: &str) {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    g.revoke_key(&p, &g.actor(Some(&p), None), key_id)
        .await
        .unwrap();
}

fn unauthorized(r: Result<tg_access::Principal, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Unauthorized(_)))
}

/// This instance's own writes reach its decisions before the write returns.
pub async fn an_instance_decides_on_its_own_writes_at_once(db: DbConfig) {
    let clock = Arc::new(ManualClock::new(T0));
    let g = instance(Db::connect(&db).await.unwrap(), &clock).await;
    let id = agent(&g, "own").await;
    let (plaintext, key_id) = tenant_key(&g, "own-tenant").await;
    assert!(g.sync_decision_state().await.unwrap());
    // Held now: read twice.
    for _ in 0..2 {
        assert_eq!(deny(&g, &id).await, ACTIVE);
        assert!(g.authenticate(Some(&plaintext)).await.is_ok());
    }
    suspend(&g, &id).await;
    assert_eq!(deny(&g, &id).await, Some(DenyReason::Suspended));
    revoke(&g, &key_id).await;
    assert!(unauthorized(g.authenticate(Some(&plaintext)).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_instance_decides_on_its_own_writes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("own.db").to_string_lossy().into_owned();
    an_instance_decides_on_its_own_writes_at_once(DbConfig::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_instance_decides_on_its_own_writes_at_once() {
    let Some((_, db)) = tg_store::testing::postgres().await else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    };
    an_instance_decides_on_its_own_writes_at_once(db).await;
}

/// On SQLite the instance decides from memory, and another process's write to the file
/// (the command line's, here a hand edit) is picked up by the next poll of the file's
/// `data_version` (every quarter of `DECISION_STALENESS_MS` in a server; forced here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_decisions_come_from_memory_and_see_other_processes_at_the_next_poll() {
    let dir = tempfile::tempdir().unwrap();
    let db = DbConfig::Sqlite(dir.path().join("memory.db").to_string_lossy().into_owned());
    let clock = Arc::new(ManualClock::new(T0));
    let g = instance(Db::connect(&db).await.unwrap(), &clock).await;
    let id = agent(&g, "held").await;
    assert!(g.sync_decision_state().await.unwrap());
    assert_eq!(deny(&g, &id).await, ACTIVE);
    let edit = format!("UPDATE agents SET status = 'suspended' WHERE id = '{id}'");
    tamper(&db, &edit).await;
    let hits = g.metrics().lookups(Lookup::hit);
    assert_eq!(deny(&g, &id).await, ACTIVE, "decided from memory");
    // ... and counted so.
    assert_eq!(g.metrics().lookups(Lookup::hit), hits + 1);
    assert!(g.sync_decision_state().await.unwrap());
    assert_eq!(deny(&g, &id).await, Some(DenyReason::Suspended));
    // This instance's own write evicts what it changed at once, poll or no poll.
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    g.change_status(&p, &actor, &id, Lifecycle::Reactivate, None)
        .await
        .unwrap();
    assert_eq!(deny(&g, &id).await, ACTIVE);
    assert!(g.sync_decision_state().await.unwrap());
    assert_eq!(deny(&g, &id).await, ACTIVE);
}

/// Two instances on one PostgreSQL; `a` holds an agent and a tenant's key in memory.
struct Held {
    a: Gateway,
    b: Gateway,
    db: DbConfig,
    id: AgentId,
    plaintext: String,
    key_id: String,
}

async fn held_on_two(name: &str) -> Option<Held> {
    let (first, db) = tg_store::testing::postgres().await?;
    let clock = Arc::new(ManualClock::new(T0));
    let a = instance(first, &clock).await;
    let b = instance(Db::connect(&db).await.unwrap(), &clock).await;
    let id = agent(&a, name).await;
    let (plaintext, key_id) = tenant_key(&a, &format!("{name}-tenant")).await;
    assert!(a.sync_decision_state().await.unwrap());
    assert_eq!(deny(&a, &id).await, ACTIVE);
    assert!(a.authenticate(Some(&plaintext)).await.is_ok());
    Some(Held {
        a,
        b,
        db,
        id,
        plaintext,
        key_id,
    })
}

/// Two instances on one PostgreSQL: a suspension or key revocation on one reaches the
/// other's memory through LISTEN/NOTIFY. Once a probe sent after the write came back, the
/// other instance decides on the new state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_decisions_follow_writes_on_another_instance() {
    let Some(Held {
        a,
        b,
        id,
        plaintext,
        key_id,
        ..
    }) = held_on_two("shared").await
    else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    };
    suspend(&b, &id).await;
    revoke(&b, &key_id).await;
    assert!(a.sync_decision_state().await.unwrap());
    assert_eq!(deny(&a, &id).await, Some(DenyReason::Suspended));
    assert!(unauthorized(a.authenticate(Some(&plaintext)).await));
}

/// The fail-safe path: with its listener killed, an instance cannot hear other
/// instances' writes, so it stops deciding from memory. A suspension made on the other
/// instance meanwhile is decided on at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_lost_listener_never_leaves_decisions_stale() {
    let Some(Held {
        a,
        b,
        db,
        id,
        plaintext,
        key_id,
    }) = held_on_two("cut-off").await
    else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    };
    // Kill this schema's listening connections (both instances'), as a network cut would.
    let mut listening = a.decision_listener();
    tamper(
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query = 'LISTEN tg_events_' || left(md5(current_schema()), 16)",
    )
    .await;
    listening.wait_for(|up| !*up).await.unwrap();
    suspend(&b, &id).await;
    revoke(&b, &key_id).await;
    let (hits, not_current) = (
        a.metrics().lookups(Lookup::hit),
        a.metrics().lookups(Lookup::not_current),
    );
    assert_eq!(deny(&a, &id).await, Some(DenyReason::Suspended));
    // The metric says why: memory was not current, and nothing came from it.
    assert_eq!(a.metrics().lookups(Lookup::hit), hits);
    assert!(a.metrics().lookups(Lookup::not_current) > not_current);
    assert!(unauthorized(a.authenticate(Some(&plaintext)).await));
}

/// On PostgreSQL the signals come from triggers on the tables, so a row changed by any
/// writer, even by hand, reaches every instance's memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_hand_edit_reaches_memory_too() {
    let Some((first, db)) = tg_store::testing::postgres().await else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    };
    let clock = Arc::new(ManualClock::new(T0));
    let g = instance(first, &clock).await;
    let id = agent(&g, "edited").await;
    assert!(g.sync_decision_state().await.unwrap());
    assert_eq!(deny(&g, &id).await, ACTIVE);
    let edit = format!("UPDATE agents SET status = 'suspended' WHERE id = '{id}'");
    tamper(&db, &edit).await;
    assert!(g.sync_decision_state().await.unwrap());
    assert_eq!(deny(&g, &id).await, Some(DenyReason::Suspended));
}

/// An instance that trusts its memory for an hour after each poll (polls only when asked),
/// so what it holds stays as it is for the whole test.
async fn held_for_an_hour(db: Db, clock: &Arc<ManualClock>) -> Gateway {
    service_with(
        db,
        Arc::clone(clock),
        TrustBundles::default(),
        Policy::preset(Preset::Default),
        |c| c.decisions.bound = std::time::Duration::from_secs(3600),
    )
    .await
}

/// The decision on `read_data` and the state version it was made on.
async fn decide(
    g: &Gateway,
    id: &AgentId,
    min: Option<u64>,
) -> Result<(Option<DenyReason>, u64), ServiceError> {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    let o = g
        .authorize(&p, &g.actor(Some(&p), None), id, "read_data", min)
        .await?;
    Ok((o.decision.deny, o.state_version))
}

/// Suspends the agent on `g`; the state version the suspension wrote.
async fn suspended_at(g: &Gateway, id: &AgentId) -> u64 {
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    g.change_status(&p, &g.actor(Some(&p), None), id, Lifecycle::Suspend, None)
        .await
        .unwrap()
        .state
        .version
}

/// Read-your-writes: a caller that names the state version its write returned is never
/// answered from memory older than it, even by an instance whose memory has not heard of
/// the write. Two instances on one SQLite file (as the server and the command line are);
/// `a` holds the agent and will not poll the file again during the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_caller_that_names_its_write_is_answered_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = DbConfig::Sqlite(dir.path().join("ryw.db").to_string_lossy().into_owned());
    let clock = Arc::new(ManualClock::new(T0));
    let a = held_for_an_hour(Db::connect(&db).await.unwrap(), &clock).await;
    let b = instance(Db::connect(&db).await.unwrap(), &clock).await;
    let id = agent(&a, "ryw").await;
    assert!(a.sync_decision_state().await.unwrap());
    let (deny, held) = decide(&a, &id, None).await.unwrap();
    assert_eq!(deny, ACTIVE);
    let written = suspended_at(&b, &id).await;
    assert!(written > held, "the suspension raised the version");
    assert_eq!(
        decide(&a, &id, None).await.unwrap(),
        (ACTIVE, held),
        "without a version, `a` answers from what it holds (within its staleness bound)"
    );
    assert_eq!(
        decide(&a, &id, Some(written)).await.unwrap(),
        (Some(DenyReason::Suspended), written),
        "with the write's version, `a` reads through to it"
    );
    // What it read is held now, for every caller.
    assert_eq!(
        decide(&a, &id, None).await.unwrap(),
        (Some(DenyReason::Suspended), written)
    );
    // Trust reads honour it the same way.
    let p = a.authenticate(Some(SERVICE_KEY)).await.unwrap();
    let (view, _, _) = a
        .trust_with_plan(&p, &a.actor(Some(&p), None), &id, Some(written))
        .await
        .unwrap();
    assert_eq!(view.state.version, written);
    // A version nobody wrote is a conflict, never an answer on an older state.
    let ahead = decide(&a, &id, Some(written + 1)).await;
    assert!(matches!(ahead, Err(ServiceError::Conflict(_))), "{ahead:?}");
    let ahead = a
        .trust_with_plan(&p, &a.actor(Some(&p), None), &id, Some(written + 1))
        .await;
    assert!(matches!(ahead, Err(ServiceError::Conflict(_))), "{ahead:?}");
}

/// The same across two instances on PostgreSQL: whether or not `a` has heard the
/// suspension yet, an answer asked at its version is decided on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_caller_that_names_its_write_is_answered_on_it() {
    let Some(Held { a, b, id, .. }) = held_on_two("ryw").await else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    };
    let written = suspended_at(&b, &id).await;
    let (deny, seen) = decide(&a, &id, Some(written)).await.unwrap();
    assert_eq!(deny, Some(DenyReason::Suspended));
    assert!(seen >= written);
    let ahead = decide(&a, &id, Some(seen + 1)).await;
    assert!(matches!(ahead, Err(ServiceError::Conflict(_))), "{ahead:?}");
}

/// Trust reads (`GET /agents/{id}/trust`, `/trust/verify`) are answered from memory too,
/// with the account's plan and the vouch count held beside the agent; a vouch and a plan
/// change on this instance reach them at once.
pub async fn trust_reads_come_from_memory_and_follow_vouches_and_plans(db: DbConfig) {
    let clock = Arc::new(ManualClock::new(T0));
    let g = held_for_an_hour(Db::connect(&db).await.unwrap(), &clock).await;
    let id = agent(&g, "vouchee").await;
    let voucher = agent(&g, "voucher").await;
    let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    let actor = g.actor(Some(&p), None);
    assert!(g.sync_decision_state().await.unwrap());
    let read = || async {
        let (view, plan, result) = g.trust_with_plan(&p, &actor, &id, None).await.unwrap();
        (
            view.agent.name,
            plan,
            result.vouch_count,
            view.state.version,
        )
    };
    let (name, plan, vouches, v0) = read().await;
    assert_eq!((name.as_str(), vouches), ("vouchee", 0));
    // Held: a hand edit is not seen until the next poll (SQLite) or signal (PostgreSQL,
    // whose trigger would deliver it; this instance is not asked to wait for it).
    if matches!(db, DbConfig::Sqlite(_)) {
        tamper(
            &db,
            &format!("UPDATE agents SET name = 'edited' WHERE id = '{id}'"),
        )
        .await;
        assert_eq!(read().await.0, "vouchee", "answered from memory");
    }
    let new = tg_service::NewVouch {
        from_agent: voucher.clone(),
        weight: 0.5,
        note: None,
        signature: None,
    };
    g.vouch(&p, &actor, &id, new).await.unwrap();
    let (_, _, vouches, v1) = read().await;
    assert_eq!(vouches, 1, "the vouch evicted the held count");
    assert!(v1 > v0, "a vouch raises the vouchee's state version");
    let account = g.trust_view(&id).await.unwrap().agent.account_id;
    let other = if plan == Plan::Pro {
        Plan::Free
    } else {
        Plan::Pro
    };
    g.update_account(&p, &actor, &account, Some(other), None)
        .await
        .unwrap();
    assert_eq!(
        read().await.1,
        other,
        "the plan change evicted the held plan"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_trust_reads_come_from_memory_and_follow_vouches_and_plans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trust.db").to_string_lossy().into_owned();
    trust_reads_come_from_memory_and_follow_vouches_and_plans(DbConfig::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_trust_reads_come_from_memory_and_follow_vouches_and_plans() {
    let Some((_, db)) = tg_store::testing::postgres().await else {
        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half not run");
        return;
    };
    trust_reads_come_from_memory_and_follow_vouches_and_plans(db).await;
}
