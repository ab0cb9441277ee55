//! The transparency log (docs/LOG.md): every receipt's hash becomes a leaf of one RFC 9162
//! tree, in the order the **sequencer** integrates them, and each integration ends in a
//! checkpoint signed with the log's own Ed25519 key (a C2SP signed note).
//!
//! - One instance sequences: it holds the `log-sequencer` lease and, every period, takes
//!   unlogged receipts in batches; per batch, in one transaction, it checks the stored
//!   right-edge tiles still give the last signed root, appends the leaves to the tiles,
//!   gives each receipt its index and signs the new checkpoint. A second sequencer could
//!   only collide on the same indexes and sizes, which the store refuses.
//! - Every instance **monitors**: each checkpoint must verify under a log key and extend
//!   the last one this instance saw (a consistency proof from the stored tiles); now and
//!   then it also checks that no logged receipt is gone. A failure fires `log_inconsistent`
//!   once per finding.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tg_core::{Clock, Timestamp};
use tg_log::tiles::{append, right_edge};
use tg_log::{
    Checkpoint, EMPTY_ROOT, Hash, LogKey, Note, NoteSigner, StoredCheckpoint, Verifier, Wanted,
    leaf_hash,
};
use tg_webhooks::{EventKind, OutboxEvent};
use tokio::sync::Mutex;

use crate::runtime::webhook_worker::Dispatcher;
use crate::runtime::worker::Worker;
use crate::{ServiceError, Store, Tx, in_transaction, reading};

/// The lease the sequencer holds.
pub const LOG_LEASE: &str = "log-sequencer";
/// The id of a database's first log key (fixed, so instances starting together make one).
const FIRST_KEY_ID: &str = "log-1";

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The checkpoint origin and the log key's name (`LOG_ORIGIN`).
    pub origin: String,
    /// How often the sequencer integrates; `None` runs no worker (call
    /// [`crate::Gateway::integrate_log`]).
    pub every: Option<Duration>,
    /// Leaves per integration transaction. On SQLite a transaction holds the one writer,
    /// so this bounds how long records wait behind a round (docs/PERFORMANCE.md). The
    /// default is 500 whatever the store; the binary's configuration sets
    /// [`SHARED_WRITER_LEAVES`] on SQLite unless `LOG_INTEGRATE_LEAVES` is given.
    pub batch: u32,
    /// Witness cosigner vkeys whose cosignatures are accepted (`LOG_WITNESSES`).
    pub witnesses: Vec<String>,
    /// Rounds between checks that logged receipts still exist.
    pub coverage_every: u32,
    /// Log entries each of those checks covers: the checks sweep the log from its first
    /// entry to its newest and begin again, so a check costs the same however long the
    /// log is (a million entries are swept in 16 checks).
    pub coverage_entries: u64,
    /// Receipts integrated between two reclaims of the queue's deleted rows
    /// ([`crate::Store::reclaim_log_queue`]): after a round that brings the count since the
    /// last one to this, the sequencer reclaims them. At 5 000 receipts a second that is
    /// every round; an idle log is never vacuumed.
    pub reclaim_after: u64,
}

/// Leaves per integration transaction where every write goes through one writer (SQLite).
/// A leaf lands on a random page of its epoch's part of the leaf-hash index, so a
/// transaction writes about one page per leaf, and every record waits behind it. 125 gave
/// records a p99 of 5–5.5 ms against 7–11 ms with 500; on PostgreSQL, where nothing waits
/// behind it, 125 cost ~7 % of the record rate (docs/PERFORMANCE.md, thirty-sixth session).
/// Records at a million receipts ran as at the start once the index led with the leaf's
/// epoch (thirty-seventh session).
pub const SHARED_WRITER_LEAVES: u32 = 125;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            origin: "trust-gateway.invalid/log".into(),
            every: Some(Duration::from_secs(1)),
            batch: 500,
            witnesses: Vec::new(),
            coverage_every: 60,
            coverage_entries: 65_536,
            reclaim_after: 2_000,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LogRound {
    /// Whether this instance held the sequencer lease.
    pub leader: bool,
    /// Leaves integrated this round.
    pub integrated: u64,
    /// The size of the newest checkpoint.
    pub size: u64,
    /// What the monitor found wrong this round (each finding reported once).
    pub inconsistencies: Vec<String>,
}

pub(crate) struct TransparencyLog {
    pub(crate) config: LogConfig,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secret: tg_core::Secret<Vec<u8>>,
    webhooks: Arc<Dispatcher>,
    pub(crate) witnesses: Vec<Verifier>,
    holder: String,
    /// Also serialises rounds on this instance.
    state: Mutex<LogState>,
    /// The size of the newest checkpoint this instance's monitor accepted (0 before its
    /// first round). Signed sizes only grow, so any tree size up to it is signed: an
    /// inclusion proof for one needs no checkpoint read.
    accepted: AtomicU64,
}

#[derive(Default)]
struct LogState {
    /// Opened signing keys by id.
    signers: HashMap<String, Arc<NoteSigner>>,
    /// The newest checkpoint the monitor accepted.
    seen: Option<(u64, Hash)>,
    reported: HashSet<String>,
    rounds: u32,
    /// Where the next coverage check begins.
    swept: u64,
    /// Receipts integrated since the queue's deleted rows were last reclaimed.
    unreclaimed: u64,
}

fn seal_context(key_id: &str) -> String {
    format!("log-key:{key_id}")
}

/// A new checkpoint key, sealed under `secret`.
pub(crate) fn new_log_key(
    secret: &[u8],
    key_id: &str,
    now: Timestamp,
) -> Result<LogKey, ServiceError> {
    let pkcs8 = tg_log::note::generate_key()
        .map_err(|e| ServiceError::internal_because("generating the log key", e))?;
    let signer = NoteSigner::from_pkcs8("key", &pkcs8)
        .map_err(|e| ServiceError::internal_because("the new log key", e))?;
    Ok(LogKey {
        key_id: key_id.to_owned(),
        sealed: tg_tokens::seal(secret, &seal_context(key_id), &pkcs8)
            .map_err(|e| ServiceError::internal_because("sealing the log key", e))?,
        public_key: signer.public_key(),
        created_at: now,
    })
}

/// The verifier of each log key under `origin`, oldest first.
pub(crate) fn verifiers(origin: &str, keys: &[LogKey]) -> Vec<Verifier> {
    keys.iter()
        .map(|k| Verifier::ed25519(origin, k.public_key))
        .collect()
}

impl TransparencyLog {
    pub(crate) async fn start(
        config: LogConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secret: tg_core::Secret<Vec<u8>>,
        webhooks: Arc<Dispatcher>,
    ) -> Result<(Arc<Self>, Worker), ServiceError> {
        if !tg_log::note::valid_name(&config.origin) {
            return Err(ServiceError::Invalid(format!(
                "LOG_ORIGIN `{}` is not a valid checkpoint origin (no spaces, no `+`)",
                config.origin
            )));
        }
        let witnesses = config
            .witnesses
            .iter()
            .map(|v| {
                Verifier::parse(v)
                    .ok()
                    .filter(|v| v.kind == tg_log::note::ED25519_COSIGNATURE)
                    .ok_or_else(|| {
                        ServiceError::Invalid(format!(
                            "LOG_WITNESSES: `{v}` is not an Ed25519 cosignature vkey"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let first = new_log_key(secret.expose(), FIRST_KEY_ID, clock.now())?;
        in_transaction(store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.insert_log_key_if_none(&first).await?) })
        })
        .await?;
        let log = Arc::new(Self {
            config: config.clone(),
            store,
            clock,
            secret,
            webhooks,
            witnesses,
            holder: format!("instance-{}", tg_core::random_hex::<8>()),
            state: Mutex::new(LogState::default()),
            accepted: AtomicU64::new(0),
        });
        let Some(every) = config.every else {
            return Ok((log, Worker::none()));
        };
        let weak = Arc::downgrade(&log);
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(log) = weak.upgrade() else { return };
                if let Err(e) = log.round().await {
                    tracing::warn!(error = %tg_core::ErrorChain(&e), "transparency log round failed");
                }
            }
        });
        Ok((log, Worker::new(handle)))
    }

    /// The key that signs now (the newest), opened.
    async fn current_signer(&self, state: &mut LogState) -> Result<Arc<NoteSigner>, ServiceError> {
        let keys = reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.log_keys().await?) })
        })
        .await?;
        let newest = keys
            .iter()
            .max_by_key(|k| (k.created_at, k.key_id.clone()))
            .ok_or_else(|| ServiceError::internal("no log key"))?;
        if let Some(s) = state.signers.get(&newest.key_id) {
            return Ok(Arc::clone(s));
        }
        let pkcs8 = tg_tokens::open(
            self.secret.expose(),
            &seal_context(&newest.key_id),
            &newest.sealed,
        )
        .map_err(|e| ServiceError::internal_because("unsealing the log key", e))?;
        let signer = Arc::new(
            NoteSigner::from_pkcs8(&self.config.origin, &pkcs8)
                .map_err(|e| ServiceError::internal_because("the stored log key", e))?,
        );
        state
            .signers
            .insert(newest.key_id.clone(), Arc::clone(&signer));
        Ok(signer)
    }

    /// The checkpoint of the empty log, signed now (nothing is stored until a leaf is).
    pub(crate) async fn empty_checkpoint(&self) -> Result<String, ServiceError> {
        let mut state = self.state.lock().await;
        let signer = self.current_signer(&mut state).await?;
        let body = Checkpoint {
            origin: self.config.origin.clone(),
            size: 0,
            root: EMPTY_ROOT,
        }
        .body();
        signer
            .sign(&body)
            .map_err(|e| ServiceError::internal_because("signing a checkpoint", e))
    }

    /// The size of the newest checkpoint the monitor accepted: every size up to it is signed.
    pub(crate) fn accepted_size(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// One round: integrate when this instance holds the lease, then monitor.
    pub(crate) async fn round(&self) -> Result<LogRound, ServiceError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        let leader = self.take_lease().await?;
        let mut round = LogRound {
            leader,
            ..LogRound::default()
        };
        if leader {
            let signer = self.current_signer(&mut state).await?;
            let mut first = true;
            loop {
                // A long backlog outlasts the lease: renew it before each further batch,
                // and stop if another instance took it meanwhile.
                if !std::mem::take(&mut first) && !self.take_lease().await? {
                    break;
                }
                let (signer, origin, batch) = (
                    Arc::clone(&signer),
                    self.config.origin.clone(),
                    self.config.batch,
                );
                let added = in_transaction(self.store.as_ref(), move |tx| {
                    Box::pin(async move { integrate_batch(tx, &signer, &origin, batch, now).await })
                })
                .await;
                match added {
                    Ok(added) => {
                        round.integrated += added;
                        if added < u64::from(self.config.batch) {
                            break;
                        }
                    }
                    Err(ServiceError::Invalid(finding)) => {
                        // The stored tree no longer gives the signed root: never extend it.
                        if self.report(&mut state, finding.clone(), now).await? {
                            round.inconsistencies.push(finding);
                        }
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            self.reclaim_if_due(&mut state, round.integrated).await;
        }
        // The first round, then every `coverage_every` rounds.
        let every = self.config.coverage_every;
        let coverage = every > 0 && state.rounds % every == 0;
        state.rounds = state.rounds.wrapping_add(1);
        for finding in self.monitor(&mut state, coverage).await? {
            if self.report(&mut state, finding.clone(), now).await? {
                round.inconsistencies.push(finding);
            }
        }
        round.size = state.seen.map_or(0, |(s, _)| s);
        Ok(round)
    }

    /// Counts `integrated` towards [`LogConfig::reclaim_after`], and reclaims the queue's
    /// deleted rows once it is reached. Housekeeping: the round's work is committed
    /// whatever it does, so a failure is only logged.
    async fn reclaim_if_due(&self, state: &mut LogState, integrated: u64) {
        state.unreclaimed = state.unreclaimed.saturating_add(integrated);
        if state.unreclaimed < self.config.reclaim_after.max(1) {
            return;
        }
        match self.store.reclaim_log_queue().await {
            Ok(()) => state.unreclaimed = 0,
            Err(e) => tracing::warn!(
                error = %tg_core::ErrorChain(&e),
                "reclaiming the log queue's deleted rows failed"
            ),
        }
    }

    /// Takes or renews the sequencer lease for three periods; whether this instance holds it.
    async fn take_lease(&self) -> Result<bool, ServiceError> {
        let now = self.clock.now();
        let period = self.config.every.unwrap_or(Duration::from_secs(1));
        let lease = i64::try_from(period.as_micros().saturating_mul(3)).unwrap_or(i64::MAX);
        let until = Timestamp::from_micros(now.as_micros().saturating_add(lease));
        let holder = self.holder.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.take_lease(LOG_LEASE, &holder, now, until).await?) })
        })
        .await
    }

    /// Checks the newest checkpoint against the last accepted one; answers findings.
    async fn monitor(
        &self,
        state: &mut LogState,
        coverage: bool,
    ) -> Result<Vec<String>, ServiceError> {
        let (latest, keys) = reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok((tx.latest_checkpoint().await?, tx.log_keys().await?)) })
        })
        .await?;
        let Some(latest) = latest else {
            return Ok(Vec::new());
        };
        let mut findings = Vec::new();
        let signed = Note::parse(&latest.note)
            .and_then(|n| n.verify(&verifiers(&self.config.origin, &keys)).map(|_| n))
            .ok()
            .and_then(|n| Checkpoint::parse(&n.text).ok());
        if signed.as_ref().map(|c| (c.size, c.root)) != Some((latest.size, latest.root)) {
            findings.push(format!(
                "the checkpoint of size {} does not verify under the log's keys",
                latest.size
            ));
            return Ok(findings);
        }
        let (old_size, old_root) = state.seen.unwrap_or((0, EMPTY_ROOT));
        let proven = if latest.size < old_size {
            Err(format!(
                "the newest checkpoint (size {}) is smaller than one already seen (size {old_size})",
                latest.size
            ))
        } else {
            let new = (latest.size, latest.root);
            match consistency_from_store(self.store.as_ref(), old_size, latest.size).await {
                Ok(proof)
                    if tg_log::verify_consistency(old_size, new.0, &old_root, &new.1, &proof) =>
                {
                    Ok(())
                }
                Ok(_) => Err(format!(
                    "the checkpoint of size {} does not extend the one of size {old_size}",
                    latest.size
                )),
                Err(e) => Err(format!(
                    "cannot prove size {} extends size {old_size}: {e}",
                    latest.size
                )),
            }
        };
        // The right edge must still give the signed root (a rewritten tile there is caught
        // even when nothing was added since).
        let size = latest.size;
        let proven = match proven {
            Ok(()) => {
                let edge = tg_log::tiles::right_edge(size);
                let tiles = reading(self.store.as_ref(), move |tx| {
                    Box::pin(async move { Ok(tx.tiles(&edge).await?) })
                })
                .await?;
                if tg_log::root(&tiles, size).ok() == Some(latest.root) {
                    Ok(())
                } else {
                    Err(format!(
                        "the stored tiles do not give the signed root of size {size}"
                    ))
                }
            }
            Err(f) => Err(f),
        };
        match proven {
            Ok(()) => {
                state.seen = Some((latest.size, latest.root));
                self.accepted.fetch_max(latest.size, Ordering::Relaxed);
            }
            Err(f) => findings.push(f),
        }
        if coverage {
            let size = latest.size;
            let from = if state.swept < size { state.swept } else { 0 };
            let to = from
                .saturating_add(self.config.coverage_entries.max(1))
                .min(size);
            let missing = reading(self.store.as_ref(), move |tx| {
                Box::pin(async move { Ok(tx.log_entries_without_receipt(from, to).await?) })
            })
            .await?;
            state.swept = to;
            if missing > 0 {
                findings.push(format!(
                    "{missing} receipts in the log (entries {from} to {to}) are missing \
                     from the database"
                ));
            }
        }
        Ok(findings)
    }

    /// Fires `log_inconsistent` for a finding not reported yet; whether it was new.
    async fn report(
        &self,
        state: &mut LogState,
        finding: String,
        now: Timestamp,
    ) -> Result<bool, ServiceError> {
        if !state.reported.insert(finding.clone()) {
            return Ok(false);
        }
        tracing::error!(finding = %finding, "transparency log inconsistent");
        let event = OutboxEvent::new(
            EventKind::LogInconsistent,
            None,
            None,
            json!({"finding": finding}),
            now,
        );
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.append_outbox(&event).await?) })
        })
        .await?;
        self.webhooks.wake();
        Ok(true)
    }
}

/// One integration transaction: up to `batch` unlogged receipts into the tree and a new
/// signed checkpoint; how many. `Invalid` when the stored tiles do not give the last
/// signed root.
async fn integrate_batch(
    tx: &mut dyn Tx,
    signer: &NoteSigner,
    origin: &str,
    batch: u32,
    now: Timestamp,
) -> Result<u64, ServiceError> {
    let (size, root) = tx
        .latest_checkpoint()
        .await?
        .map_or((0, EMPTY_ROOT), |c| (c.size, c.root));
    let pending = tx.unlogged_receipts(batch).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let edge = tx.tiles(&right_edge(size)).await?;
    if tg_log::root(&edge, size).ok() != Some(root) {
        return Err(ServiceError::Invalid(format!(
            "the stored tiles do not give the signed root of size {size}"
        )));
    }
    let leaves: Vec<Hash> = pending.iter().map(|e| leaf_hash(&e.receipt_hash)).collect();
    let changed = append(size, &edge, &leaves)
        .map_err(|e| ServiceError::internal_because("appending to the log", e))?;
    let mut tree = edge;
    for (id, hashes) in &changed {
        tree.0.insert(*id, hashes.clone());
    }
    let new_size = size + leaves.len() as u64;
    let new_root = tg_log::root(&tree, new_size)
        .map_err(|e| ServiceError::internal_because("the log root", e))?;
    tx.put_tiles(&changed).await?;
    tx.append_log_entries(size, &pending).await?;
    let body = Checkpoint {
        origin: origin.to_owned(),
        size: new_size,
        root: new_root,
    }
    .body();
    let note = signer
        .sign(&body)
        .map_err(|e| ServiceError::internal_because("signing a checkpoint", e))?;
    tx.add_checkpoint(&StoredCheckpoint {
        size: new_size,
        root: new_root,
        note,
        created_at: now,
    })
    .await?;
    Ok(leaves.len() as u64)
}

/// PROOF(first, second) from the stored tiles (the ones a dry run names, in one read).
pub(crate) async fn consistency_from_store(
    store: &dyn Store,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ServiceError> {
    let wanted = Wanted::default();
    tg_log::consistency_proof(&wanted, first, second)
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let ids = wanted
        .tiles()
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let tiles = reading(store, move |tx| {
        Box::pin(async move { Ok(tx.tiles(&ids).await?) })
    })
    .await?;
    tg_log::consistency_proof(&tiles, first, second)
        .map_err(|e| ServiceError::internal_because("a consistency proof", e))
}
