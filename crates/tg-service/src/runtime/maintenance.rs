//! Background upkeep every instance runs, but only the lease holder does the work:
//! - the **score sweep**: scores decay with inactivity and follow policy edits, but are
//!   computed at read time; the sweep finds agents whose stored tier no longer holds (or
//!   whose composite moved by the policy's `trust_changed_delta`) and writes the move —
//!   a history point (`decay`, or `policy_change` after an edit), `tier_changed` /
//!   `trust_changed` events, a `trust_score_changed` audit event;
//! - **chain verification**: a slice of every agent's receipt chain per round, round-robin,
//!   firing `receipt_chain_broken` once per break it finds.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, Clock, Timestamp};
use tg_identity::AgentStatus;
use tg_receipts::ReceiptSigner;
use tg_scoring::Trigger;
use tokio::sync::Mutex;

use crate::events::{Standing, agent_event, score_events};
use crate::policy_cache::PolicyCache;
use crate::runtime::webhook_worker::Dispatcher;
use crate::runtime::worker::Worker;
use crate::trust_view::{TrustView, append_point, load_view};
use crate::{ServiceError, Store, Tx, in_transaction, reading};

/// The lease background upkeep runs under.
pub const LEASE: &str = "maintenance";
/// Agents read per page of a sweep.
const SCAN_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy)]
pub struct MaintenanceConfig {
    /// How often a round runs; `None` runs no worker (call [`crate::Gateway::maintain`]).
    pub every: Option<Duration>,
    /// Receipts verified per round, at most (whole chains; at least one chain a round).
    pub receipts_per_round: u64,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            every: Some(Duration::from_secs(60)),
            receipts_per_round: 200_000,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MaintenanceRound {
    /// False when another instance holds the lease (this one did nothing).
    pub leader: bool,
    /// Agents whose stored score the sweep moved.
    pub rescored: usize,
    pub chains_verified: usize,
    pub receipts_verified: u64,
    /// Breaks found and reported this round (each reported once per instance).
    pub chains_broken: Vec<AgentId>,
}

pub(crate) struct Maintenance {
    config: MaintenanceConfig,
    store: Arc<dyn Store>,
    policy: Arc<PolicyCache>,
    clock: Arc<dyn Clock>,
    signer: Arc<ReceiptSigner>,
    webhooks: Arc<Dispatcher>,
    /// This instance, as a lease holder.
    holder: String,
    /// Set by a policy edit: the next sweep's moves are `policy_change`, not `decay`.
    policy_changed: AtomicBool,
    /// Where chain verification resumes, and the breaks already reported; the lock also
    /// serialises rounds on this instance.
    chains: Mutex<ChainCursor>,
}

#[derive(Default)]
struct ChainCursor {
    after: Option<AgentId>,
    reported: HashSet<(AgentId, Option<u64>, u64)>,
}

impl Maintenance {
    pub(crate) fn start(
        config: MaintenanceConfig,
        store: Arc<dyn Store>,
        policy: Arc<PolicyCache>,
        clock: Arc<dyn Clock>,
        signer: Arc<ReceiptSigner>,
        webhooks: Arc<Dispatcher>,
    ) -> (Arc<Self>, Worker) {
        let m = Arc::new(Self {
            config,
            store,
            policy,
            clock,
            signer,
            webhooks,
            holder: format!("instance-{}", tg_core::random_hex::<8>()),
            policy_changed: AtomicBool::new(false),
            chains: Mutex::new(ChainCursor::default()),
        });
        let Some(every) = config.every else {
            return (m, Worker::none());
        };
        let weak = Arc::downgrade(&m);
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(m) = weak.upgrade() else { return };
                match m.round().await {
                    Ok(r) if r.rescored > 0 || !r.chains_broken.is_empty() => tracing::info!(
                        rescored = r.rescored,
                        chains_verified = r.chains_verified,
                        chains_broken = r.chains_broken.len(),
                        "maintenance round"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %tg_core::ErrorChain(&e), "maintenance round failed")
                    }
                }
            }
        });
        (m, Worker::new(handle))
    }

    pub(crate) fn policy_changed(&self) {
        self.policy_changed.store(true, Ordering::Relaxed);
    }

    /// Takes (or renews) the lease for three periods; false: another instance holds it.
    async fn lead(&self) -> Result<bool, ServiceError> {
        let now = self.clock.now();
        let period = self.config.every.unwrap_or(Duration::from_secs(60));
        let ttl = i64::try_from(period.as_secs().saturating_mul(3).max(1)).unwrap_or(i64::MAX);
        let holder = self.holder.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                Ok(tx
                    .take_lease(LEASE, &holder, now, now.plus_secs(ttl))
                    .await?)
            })
        })
        .await
    }

    pub(crate) async fn round(&self) -> Result<MaintenanceRound, ServiceError> {
        let mut chains = self.chains.lock().await;
        if !self.lead().await? {
            return Ok(MaintenanceRound::default());
        }
        let trigger = if self.policy_changed.swap(false, Ordering::Relaxed) {
            Trigger::PolicyChange
        } else {
            Trigger::Decay
        };
        let rescored = self.sweep(trigger).await?;
        let mut round = self.verify_chains(&mut chains).await?;
        round.leader = true;
        round.rescored = rescored;
        Ok(round)
    }

    /// Every active agent whose stored score no longer holds at `now`, rewritten.
    async fn sweep(&self, trigger: Trigger) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let mut after: Option<AgentId> = None;
        let mut moved = 0;
        loop {
            let (cache, from) = (Arc::clone(&self.policy), after.clone());
            let (page, stale) = reading(self.store.as_ref(), move |tx| {
                Box::pin(async move {
                    let page = tx.scan_agents(from.as_ref(), SCAN_PAGE).await?;
                    let policy = cache.load(tx).await?;
                    let stale: Vec<AgentId> = page
                        .iter()
                        .filter(|(a, _)| a.status == AgentStatus::Active)
                        .filter(|(a, s)| {
                            let v = TrustView::compute(a.clone(), s.clone(), policy.clone(), now);
                            no_longer_holds(&v)
                        })
                        .map(|(a, _)| a.id.clone())
                        .collect();
                    Ok((page.last().map(|(a, _)| a.id.clone()), stale))
                })
            })
            .await?;
            for id in stale {
                moved += usize::from(self.restate(id, trigger, now).await?);
            }
            match page {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        if moved > 0 {
            self.webhooks.wake();
        }
        Ok(moved)
    }

    /// Under the agent's lock, re-checked: writes the move if the stored score still
    /// does not hold. Returns whether it wrote.
    async fn restate(
        &self,
        id: AgentId,
        trigger: Trigger,
        now: Timestamp,
    ) -> Result<bool, ServiceError> {
        let cache = Arc::clone(&self.policy);
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = load_view(tx, &cache, &id, now, true).await?;
                if view.agent.status != AgentStatus::Active || !no_longer_holds(&view) {
                    return Ok(false);
                }
                write_move(tx, &view, trigger, now).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Verifies whole chains, resuming where the last round stopped, until the round's
    /// receipt budget is spent.
    async fn verify_chains(
        &self,
        cursor: &mut ChainCursor,
    ) -> Result<MaintenanceRound, ServiceError> {
        let mut round = MaintenanceRound::default();
        // One pass at most: from where the last round stopped, round to the start again.
        let start = cursor.after.clone();
        let mut wrapped = false;
        'rounds: while round.receipts_verified < self.config.receipts_per_round {
            let from = cursor.after.clone();
            let page = reading(self.store.as_ref(), move |tx| {
                Box::pin(async move { Ok(tx.scan_agents(from.as_ref(), SCAN_PAGE).await?) })
            })
            .await?;
            if page.is_empty() {
                cursor.after = None;
                if wrapped || start.is_none() {
                    break;
                }
                wrapped = true;
                continue;
            }
            for (agent, state) in page {
                if wrapped
                    && start
                        .as_ref()
                        .is_some_and(|s| agent.id.as_str() > s.as_str())
                {
                    break 'rounds;
                }
                cursor.after = Some(agent.id.clone());
                if state.chain.seq == 0 {
                    continue;
                }
                let (agent, report) = crate::chain_check::verify_stored_chain(
                    self.store.as_ref(),
                    &self.signer,
                    &agent.id,
                    |_| true,
                )
                .await?;
                round.chains_verified += 1;
                round.receipts_verified += report.length;
                if !report.valid
                    && cursor.reported.insert((
                        agent.id.clone(),
                        report.first_broken_seq,
                        report.length,
                    ))
                {
                    self.report_break(&agent, &report).await?;
                    round.chains_broken.push(agent.id.clone());
                }
                if round.receipts_verified >= self.config.receipts_per_round {
                    break 'rounds;
                }
            }
        }
        Ok(round)
    }

    async fn report_break(
        &self,
        agent: &tg_identity::Agent,
        report: &tg_receipts::ChainReport,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let event = agent_event(
            tg_webhooks::EventKind::ReceiptChainBroken,
            agent,
            json!({"length": report.length, "first_broken_seq": report.first_broken_seq, "reason": report.reason, "found_by": "background verification"}),
            now,
        );
        tracing::error!(agent = %agent.id, first_broken_seq = ?report.first_broken_seq, reason = ?report.reason, "receipt chain broken");
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.append_outbox(&event).await?) })
        })
        .await?;
        self.webhooks.wake();
        Ok(())
    }
}

/// Whether the stored tier, or the stored composite within the policy's
/// `trust_changed_delta`, no longer matches the score at the view's instant.
fn no_longer_holds(v: &TrustView) -> bool {
    let b = &v.breakdown;
    b.tier != v.state.tier
        || tg_scoring::rounded((b.composite - v.state.composite).abs())
            >= v.policy.policy.trust_changed_delta
}

/// Stores the view's score as the agent's standing: a history point with `trigger`, the
/// events the move calls for (against the stored standing), an audit event.
async fn write_move(
    tx: &mut dyn Tx,
    view: &TrustView,
    trigger: Trigger,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let stored = Standing {
        composite: view.state.composite,
        tier: view.state.tier,
    };
    let b = &view.breakdown;
    let delta = view.policy.policy.trust_changed_delta;
    for e in score_events(&view.agent, stored, b, trigger, false, delta, now) {
        tx.append_outbox(&e).await?;
    }
    let mut state = append_point(tx, &view.state, b, trigger, now).await?;
    state.updated_at = now;
    state.version = tx.update_trust(&state).await?;
    let details = json!({
        "old_score": stored.composite, "new_score": b.composite,
        "old_tier": stored.tier, "new_tier": b.tier,
        "days_inactive": b.days_inactive, "trigger": trigger.as_str(),
    });
    tx.append_audit(&AuditEvent::new(
        EventType::TrustScoreChanged,
        Some(view.agent.id.clone()),
        details,
        &Actor::default(),
        now,
    ))
    .await?;
    Ok(())
}
