//! The decision state in memory: what `POST /authorize` (and its batch) and API-key
//! authentication are decided from, held per instance so a decision needs no database
//! round trip.
//!
//! - **What is held:** each agent's row, its score state and the policy version they were
//!   read with (the score is computed at `now` from them, as from the database), and,
//!   once a trust read loaded them, its account's plan and active vouch count; each API
//!   key with its account. Both bounded ([`DecisionConfig`]); a full shard drops an
//!   arbitrary entry. Nothing unknown is held: an unknown agent or key is read each time.
//! - **What evicts it:** every write that changes an agent, its score state, an account,
//!   a key or the policy raises a state signal in its transaction
//!   ([`crate::state_signals`]). This instance evicts at commit, before the write
//!   returns; other instances evict when PostgreSQL delivers the signal, which triggers
//!   on the tables raise inside every writing transaction, whoever wrote (LISTEN/NOTIFY,
//!   in commit order). A policy change drops every agent, an account change every agent
//!   and key. A vouch given or withdrawn raises the vouchee's state version, which
//!   signals it.
//! - **State versions:** every entry carries its agent's state version. A caller that
//!   names a least version (`min_state_version`, see `memory_reads.rs`) is answered from
//!   memory only when the entry is at that version or later; otherwise from the database.
//! - **A load never caches what a concurrent write replaced:** a load takes its shard's
//!   generation before reading the database and stores the result only if no eviction
//!   touched that shard meanwhile.
//! - **Staleness bound, failing safe (PostgreSQL):** the instance probes its own listener
//!   (`ping:<instance>:<n>` on the same channel). A probe that comes back proves every
//!   signal committed before it was sent has been applied. Memory is trusted only while
//!   the listener is connected and a probe sent within `bound` has come back; otherwise
//!   every decision reads through the database. On reconnecting, everything held is
//!   dropped (signals sent meanwhile were missed) and trust returns with the next probe.
//! - **SQLite** serves one instance per file, but the command line (`trust-gateway keys
//!   revoke`, …) writes to the same file from another process. The instance polls the
//!   file's `data_version`, which only other connections' commits change, and drops
//!   everything held when it moved. Memory is trusted only while a poll made within
//!   `bound` found it unchanged, the same bound as on PostgreSQL.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tg_access::{Account, ApiKey, Plan};
use tg_identity::Agent;
use tokio::sync::watch;

use crate::state_signals::{Changed, PING_SIGNAL, parse};
use crate::{ServiceError, Store, TrustState};

const SHARDS: usize = 64;
/// Probes remembered until they come back.
const PROBES_KEPT: usize = 64;

/// Sizes and timing of the decision state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionConfig {
    /// Most agents held (`DECISION_CACHE_AGENTS`).
    pub agents: usize,
    /// Most API keys held (`DECISION_CACHE_KEYS`).
    pub keys: usize,
    /// How often the instance probes its listener (PostgreSQL); `None`: only when asked
    /// ([`crate::Gateway::sync_decision_state`]).
    pub probe_every: Option<Duration>,
    /// Memory is trusted only while a probe sent at most this long ago has come back.
    pub bound: Duration,
}

impl Default for DecisionConfig {
    fn default() -> Self {
        Self {
            agents: 100_000,
            keys: 10_000,
            probe_every: Some(Duration::from_millis(250)),
            bound: Duration::from_secs(1),
        }
    }
}

/// An agent as decisions read it.
#[derive(Debug)]
pub(crate) struct AgentEntry {
    pub(crate) agent: Agent,
    pub(crate) state: TrustState,
    pub(crate) policy_version: i64,
    /// What a trust read adds, once one has loaded it: the owning account's plan and the
    /// active vouches received.
    pub(crate) standing: Option<(Plan, u64)>,
}

/// An API key and its account.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) key: ApiKey,
    pub(crate) account: Account,
}

struct Shard<V> {
    generation: u64,
    map: HashMap<String, V>,
}

/// A bounded map split into independently locked shards, each with a generation that
/// every eviction bumps.
pub(crate) struct Shards<V> {
    shards: Vec<Mutex<Shard<V>>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<V: Clone> Shards<V> {
    fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        generation: 0,
                        map: HashMap::new(),
                    })
                })
                .collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The shard holding `key` (always one: the index is below the shard count).
    fn shard(&self, key: &str) -> Option<&Mutex<Shard<V>>> {
        let h = self.hasher.hash_one(key);
        let i = usize::try_from(h % self.shards.len() as u64).ok()?;
        self.shards.get(i)
    }

    pub(crate) fn get(&self, key: &str) -> Option<V> {
        lock(self.shard(key)?).map.get(key).cloned()
    }

    /// Take before reading `key` from the database; pass to [`Shards::put`].
    pub(crate) fn generation(&self, key: &str) -> u64 {
        self.shard(key).map_or(0, |s| lock(s).generation)
    }

    /// Holds `value` unless an eviction touched the shard since `generation` was taken.
    pub(crate) fn put(&self, key: &str, generation: u64, value: V) {
        let Some(shard) = self.shard(key).filter(|_| self.per_shard > 0) else {
            return;
        };
        let mut shard = lock(shard);
        if shard.generation != generation {
            return;
        }
        if shard.map.len() >= self.per_shard
            && !shard.map.contains_key(key)
            && let Some(victim) = shard.map.keys().next().cloned()
        {
            shard.map.remove(&victim);
        }
        shard.map.insert(key.to_owned(), value);
    }

    fn evict(&self, key: &str) {
        let Some(shard) = self.shard(key) else {
            return self.clear();
        };
        let mut shard = lock(shard);
        shard.generation = shard.generation.wrapping_add(1);
        shard.map.remove(key);
    }

    fn clear(&self) {
        for s in &self.shards {
            let mut shard = lock(s);
            shard.generation = shard.generation.wrapping_add(1);
            shard.map.clear();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.len()).sum()
    }
}

/// How an instance knows its memory is current.
enum Freshness {
    /// Other processes' writes show in the database's data version (SQLite): the last one
    /// read and when the read began.
    Polled {
        last: Mutex<Option<(i64, Instant)>>,
        bound: Duration,
    },
    /// Other instances' writes arrive as signals (PostgreSQL).
    Listening(Listener),
}

struct Listener {
    instance: String,
    bound: Duration,
    connected: watch::Sender<bool>,
    next: AtomicU64,
    /// Probes in flight: number and when sent.
    sent: Mutex<VecDeque<(u64, Instant)>>,
    /// When the newest probe that came back was sent.
    acked_at: Mutex<Option<Instant>>,
    /// The newest probe number that came back.
    acked: watch::Sender<u64>,
}

pub(crate) struct DecisionState {
    pub(crate) agents: Shards<Arc<AgentEntry>>,
    pub(crate) keys: Shards<Arc<KeyEntry>>,
    freshness: Freshness,
}

impl std::fmt::Debug for DecisionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionState")
            .field("agents", &self.agents.len())
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl DecisionState {
    /// `listening`: other instances' writes arrive through `listen_events` (else through
    /// the database's data version).
    pub(crate) fn new(config: &DecisionConfig, listening: bool) -> Self {
        let freshness = if listening {
            Freshness::Listening(Listener {
                instance: format!("instance-{}", tg_core::random_hex::<8>()),
                bound: config.bound,
                connected: watch::Sender::new(false),
                next: AtomicU64::new(0),
                sent: Mutex::new(VecDeque::new()),
                acked_at: Mutex::new(None),
                acked: watch::Sender::new(0),
            })
        } else {
            Freshness::Polled {
                last: Mutex::new(None),
                bound: config.bound,
            }
        };
        Self {
            agents: Shards::new(config.agents),
            keys: Shards::new(config.keys),
            freshness,
        }
    }

    /// Whether memory may answer now.
    pub(crate) fn fresh(&self) -> bool {
        match &self.freshness {
            Freshness::Polled { last, bound } => {
                lock(last).is_some_and(|(_, at)| at.elapsed() <= *bound)
            }
            Freshness::Listening(l) => {
                if !*l.connected.borrow() {
                    return false;
                }
                lock(&l.acked_at).is_some_and(|t| t.elapsed() <= l.bound)
            }
        }
    }

    /// Applies state signals (from this instance's commits or the listener); answers the
    /// probe signals among them that were this instance's own.
    pub(crate) fn apply(&self, signals: &[String]) {
        for signal in signals {
            if let Some(probe) = signal.strip_prefix(PING_SIGNAL) {
                self.probe_returned(probe);
                continue;
            }
            match parse(signal) {
                Some(Changed::Agent(id)) => self.agents.evict(id),
                Some(Changed::Key(id)) => self.keys.evict(id),
                // Agents hold their account's plan.
                Some(Changed::Account(_)) => {
                    self.keys.clear();
                    self.agents.clear();
                }
                Some(Changed::Policy) => self.agents.clear(),
                // A state signal this version cannot read: anything may have changed.
                None if signal.starts_with(crate::state_signals::STATE_SIGNAL) => {
                    self.agents.clear();
                    self.keys.clear();
                }
                None => {}
            }
        }
    }

    fn probe_returned(&self, probe: &str) {
        let Freshness::Listening(l) = &self.freshness else {
            return;
        };
        let Some((instance, n)) = probe.rsplit_once(':') else {
            return;
        };
        let Ok(n) = n.parse::<u64>() else { return };
        if instance != l.instance {
            return;
        }
        let sent_at = lock(&l.sent)
            .iter()
            .find(|(m, _)| *m == n)
            .map(|(_, at)| *at);
        if let Some(at) = sent_at {
            let mut acked = lock(&l.acked_at);
            if acked.is_none_or(|t| t < at) {
                *acked = Some(at);
            }
        }
        l.acked.send_modify(|a| *a = (*a).max(n));
    }

    /// The listener is listening (again): drop everything held, since signals sent while
    /// it was away were missed. Trust returns with the next probe.
    pub(crate) fn listening(&self) {
        if let Freshness::Listening(l) = &self.freshness {
            *lock(&l.acked_at) = None;
            self.agents.clear();
            self.keys.clear();
            l.connected.send_replace(true);
        }
    }

    /// The listener is gone: decide from the database until it is back.
    pub(crate) fn not_listening(&self) {
        if let Freshness::Listening(l) = &self.freshness {
            l.connected.send_replace(false);
            *lock(&l.acked_at) = None;
            self.agents.clear();
            self.keys.clear();
        }
    }

    /// Whether the listener is connected, as it changes (always `true` where there is no
    /// listener).
    pub(crate) fn listener(&self) -> watch::Receiver<bool> {
        match &self.freshness {
            Freshness::Polled { .. } => watch::Sender::new(true).subscribe(),
            Freshness::Listening(l) => l.connected.subscribe(),
        }
    }

    /// Sends a probe; with `wait`, answers once it came back (`true`) or the listener
    /// went away first (`false`). Where there is no listener, polls the data version now.
    pub(crate) async fn probe(&self, store: &dyn Store, wait: bool) -> Result<bool, ServiceError> {
        let l = match &self.freshness {
            Freshness::Polled { last, .. } => {
                let at = Instant::now();
                let version = store.outside_writes().await?;
                let mut last = lock(last);
                if last.map(|(v, _)| Some(v)) != Some(version) {
                    self.agents.clear();
                    self.keys.clear();
                }
                *last = version.map(|v| (v, at));
                return Ok(true);
            }
            Freshness::Listening(l) => l,
        };
        let n = l.next.fetch_add(1, Ordering::Relaxed) + 1;
        {
            let mut sent = lock(&l.sent);
            sent.push_back((n, Instant::now()));
            while sent.len() > PROBES_KEPT {
                sent.pop_front();
            }
        }
        let (mut acked, mut connected) = (l.acked.subscribe(), l.connected.subscribe());
        store
            .signal(&[format!("{PING_SIGNAL}{}:{n}", l.instance)])
            .await?;
        if !wait {
            return Ok(true);
        }
        loop {
            if *acked.borrow_and_update() >= n {
                return Ok(true);
            }
            if !*connected.borrow_and_update() {
                return Ok(false);
            }
            tokio::select! {
                r = acked.changed() => if r.is_err() { return Ok(false) },
                r = connected.changed() => if r.is_err() { return Ok(false) },
            }
        }
    }
}

/// Probes the listener, or polls the data version, every `every` (the staleness bound
/// needs one within it).
pub(crate) fn start_probing(
    state: Arc<DecisionState>,
    store: Arc<dyn Store>,
    every: Duration,
) -> crate::runtime::worker::Worker {
    crate::runtime::worker::Worker::new(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.probe(store.as_ref(), false).await {
                tracing::warn!(error = %tg_core::ErrorChain(&e), "decision state: cannot send a probe");
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_raced_an_eviction_is_not_held() {
        let shards: Shards<u32> = Shards::new(100);
        let before = shards.generation("a");
        shards.evict("a");
        shards.put("a", before, 1);
        assert_eq!(shards.get("a"), None);
        let now = shards.generation("a");
        shards.put("a", now, 2);
        assert_eq!(shards.get("a"), Some(2));
    }

    #[test]
    fn shards_hold_at_most_their_capacity() {
        let shards: Shards<u32> = Shards::new(SHARDS * 2);
        for i in 0..10_000u32 {
            let key = format!("k{i}");
            let g = shards.generation(&key);
            shards.put(&key, g, i);
        }
        assert!(shards.len() <= SHARDS * 2, "{}", shards.len());
        let empty: Shards<u32> = Shards::new(0);
        empty.put("k", empty.generation("k"), 1);
        assert_eq!(empty.get("k"), None);
    }

    #[test]
    fn signals_evict_what_they_name() {
        let state = DecisionState::new(&DecisionConfig::default(), false);
        for key in ["a1", "a2"] {
            state
                .keys
                .put(key, state.keys.generation(key), Arc::new(test_key(key)));
        }
        state.apply(&[crate::state_signals::key_changed("a1")]);
        assert!(state.keys.get("a1").is_none());
        assert!(state.keys.get("a2").is_some());
        state.apply(&[crate::state_signals::account_changed("acc")]);
        assert!(state.keys.get("a2").is_none());
        assert!(!state.fresh(), "not trusted before the first poll");
    }

    #[test]
    fn a_listening_instance_is_not_fresh_until_its_probe_returns() {
        let state = DecisionState::new(&DecisionConfig::default(), true);
        assert!(!state.fresh(), "not listening yet");
        state.listening();
        assert!(!state.fresh(), "no probe back yet");
        let Freshness::Listening(l) = &state.freshness else {
            panic!("listening")
        };
        lock(&l.sent).push_back((1, Instant::now()));
        state.apply(&[format!("{PING_SIGNAL}someone-else:1")]);
        assert!(!state.fresh(), "another instance's probe proves nothing");
        state.apply(&[format!("{PING_SIGNAL}{}:1", l.instance)]);
        assert!(state.fresh());
        state.not_listening();
        assert!(!state.fresh());
        state.listening();
        assert!(!state.fresh(), "a reconnect needs a new probe");
    }

    fn test_key(id: &str) -> KeyEntry {
        let account = Account {
            id: tg_core::AccountId::generate(),
            name: "a".into(),
            plan: tg_access::Plan::Free,
            created_at: tg_core::Timestamp::from_secs(1),
            lifts_operator_suspensions: false,
        };
        KeyEntry {
            key: ApiKey {
                id: id.into(),
                account_id: account.id.clone(),
                prefix: "p".into(),
                hash: [0; 32],
                scope: tg_access::Scope::Read,
                created_at: tg_core::Timestamp::from_secs(1),
                revoked_at: None,
            },
            account,
        }
    }
}
