//! The vouch factor, recomputed in the background: never inside a request.
//!
//! Vouch writes, violations, anchor and lifecycle changes wake the worker; it also runs on
//! a timer, because vouchers' credibility drifts with their own scores. Each run reads
//! every agent in pages, runs EigenTrust from the previous vector, and writes the factors
//! that moved by at least [`FACTOR_STEP`] — each under the agent's row lock, re-checked
//! there, so runs on several instances (or a run racing a request) never lose an update.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, Clock, Timestamp};
use tg_identity::{AgentStatus, VerificationLevel};
use tg_scoring::{Inputs, Trigger, breakdown};
use tg_vouch::{Edge, Graph, Params, credibility, eigentrust, vouch_factors};
use tokio::sync::{Mutex, Notify};

use crate::policy_cache::PolicyCache;
use crate::runtime::worker::Worker;
use crate::trust_view::{load_view, rescore, score_inputs};
use crate::{ServiceError, Store, in_transaction, reading};

/// Factor changes smaller than this are not written (no history point per float wobble).
pub const FACTOR_STEP: f64 = 0.001;
const SCAN_PAGE: u32 = 1000;
const WRITE_BATCH: usize = 100;

/// Who seeds EigenTrust, and how often the worker runs without being woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VouchConfig {
    /// Certified agents (verification level 3) are pre-trusted.
    pub pretrust_certified: bool,
    /// Agents an admin marked with `PUT /agents/{id}/anchor` are pre-trusted.
    pub pretrust_anchors: bool,
    /// The background worker's period; `None` runs no worker (recompute on demand only).
    pub every: Option<Duration>,
}

impl Default for VouchConfig {
    fn default() -> Self {
        Self {
            pretrust_certified: true,
            pretrust_anchors: true,
            every: Some(Duration::from_secs(60)),
        }
    }
}

/// What one recompute saw and did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VouchRecompute {
    pub agents: usize,
    pub vouches: usize,
    pub pretrusted: usize,
    /// Rounds of credibility ↔ factor refinement, and power iterations over all of them.
    pub rounds: u32,
    pub iterations: u32,
    pub residual: f64,
    /// Agents whose stored vouch factor was rewritten.
    pub changed: usize,
    pub computed_at: Timestamp,
}

pub(crate) struct VouchEngine {
    config: VouchConfig,
    store: Arc<dyn Store>,
    policy: Arc<PolicyCache>,
    clock: Arc<dyn Clock>,
    /// The previous trust vector; the lock also serialises runs on this instance.
    previous: Mutex<HashMap<AgentId, f64>>,
    wake: Notify,
}

impl std::fmt::Debug for VouchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VouchEngine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Most rounds of "credibility from factors, factors from credibility" per recompute.
const MAX_ROUNDS: u32 = 20;

struct Node {
    id: AgentId,
    stored: f64,
    /// The composite with a vouch factor of 0 and of 1: the composite is linear in the
    /// factor between them, so credibility follows the new factors without rescoring.
    at_zero: f64,
    at_one: f64,
    violations: u64,
    active: bool,
    pretrusted: bool,
}

impl Node {
    fn credibility(&self, factor: f64) -> f64 {
        if self.active {
            credibility(
                self.at_zero + (self.at_one - self.at_zero) * factor,
                self.violations,
            )
        } else {
            0.0
        }
    }
}

impl VouchEngine {
    pub(crate) fn start(
        config: VouchConfig,
        store: Arc<dyn Store>,
        policy: Arc<PolicyCache>,
        clock: Arc<dyn Clock>,
    ) -> (Arc<Self>, Worker) {
        let engine = Arc::new(Self {
            config,
            store,
            policy,
            clock,
            previous: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        });
        let Some(every) = config.every else {
            return (engine, Worker::none());
        };
        let weak = Arc::downgrade(&engine);
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let Some(engine) = weak.upgrade() else { return };
                tokio::select! {
                    _ = tick.tick() => {}
                    () = engine.wake.notified() => {}
                }
                match engine.recompute().await {
                    Ok(r) if r.changed > 0 => tracing::info!(
                        agents = r.agents,
                        vouches = r.vouches,
                        iterations = r.iterations,
                        changed = r.changed,
                        "vouch factors recomputed"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %tg_core::ErrorChain(&e), "vouch recompute failed")
                    }
                }
            }
        });
        (engine, Worker::new(handle))
    }

    /// Asks the worker for a run (coalesced: many wakes during a run give one more run).
    pub(crate) fn wake(&self) {
        if self.config.every.is_some() {
            self.wake.notify_one();
        }
    }

    pub(crate) async fn recompute(&self) -> Result<VouchRecompute, ServiceError> {
        let mut previous = self.previous.lock().await;
        let now = self.clock.now();
        let (nodes, edges) = self.read_graph(now).await?;
        let index: HashMap<&AgentId, u32> = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| u32::try_from(i).ok().map(|i| (&n.id, i)))
            .collect();
        let mut graph_edges = Vec::with_capacity(edges.len());
        for e in &edges {
            if let (Some(&from), Some(&to)) = (index.get(&e.from_agent), index.get(&e.to_agent)) {
                graph_edges.push(Edge {
                    from,
                    to,
                    weight: e.weight,
                });
            }
        }
        let pretrusted: Vec<u32> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.pretrusted)
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        let graph = Graph::build(nodes.len(), &graph_edges)
            .map_err(|e| ServiceError::internal_because("vouch graph", e))?;
        let mut trust: Vec<f64> = nodes
            .iter()
            .map(|n| previous.get(&n.id).copied().unwrap_or(0.0))
            .collect();
        let params = Params::default();
        // A voucher's credibility depends on its own factor: iterate to a fixed point, each
        // solve warm-started from the last.
        let mut factors: Vec<f64> = nodes.iter().map(|n| n.stored).collect();
        let (mut iterations, mut residual, mut rounds) = (0, 0.0, 0);
        while rounds < MAX_ROUNDS {
            let cred: Vec<f64> = nodes
                .iter()
                .zip(&factors)
                .map(|(n, f)| n.credibility(*f))
                .collect();
            let solution = eigentrust(&graph, &cred, &pretrusted, Some(&trust), &params);
            let next = vouch_factors(&solution.trust, &pretrusted, &params);
            let moved = factors
                .iter()
                .zip(&next)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            (factors, trust) = (next, solution.trust);
            iterations += solution.iterations;
            residual = solution.residual;
            rounds += 1;
            if moved < FACTOR_STEP / 10.0 {
                break;
            }
        }

        let moved: Vec<(AgentId, f64)> = nodes
            .iter()
            .zip(&factors)
            .filter(|(n, f)| needs_write(n.stored, **f))
            .map(|(n, f)| (n.id.clone(), *f))
            .collect();
        let mut changed = 0;
        for batch in moved.chunks(WRITE_BATCH) {
            changed += self.write(batch.to_vec(), now).await?;
        }
        *previous = nodes
            .iter()
            .zip(&trust)
            .filter(|(_, t)| **t > 0.0)
            .map(|(n, t)| (n.id.clone(), *t))
            .collect();
        Ok(VouchRecompute {
            agents: nodes.len(),
            vouches: graph.vouches(),
            pretrusted: pretrusted.len(),
            rounds,
            iterations,
            residual,
            changed,
            computed_at: now,
        })
    }

    async fn read_graph(
        &self,
        now: Timestamp,
    ) -> Result<(Vec<Node>, Vec<tg_vouch::VouchEdge>), ServiceError> {
        let policy = Arc::clone(&self.policy);
        let (edges, violations, anchors, snapshot) = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let snapshot = policy.load(tx).await?;
                Ok((
                    tx.vouch_edges().await?,
                    tx.voucher_violations().await?,
                    tx.anchors().await?,
                    snapshot,
                ))
            })
        })
        .await?;
        let violations: HashMap<AgentId, u64> = violations.into_iter().collect();
        let anchors: HashSet<AgentId> = anchors.into_iter().collect();
        let mut nodes = Vec::new();
        let mut after: Option<AgentId> = None;
        loop {
            let from = after.clone();
            let page = reading(self.store.as_ref(), move |tx| {
                Box::pin(async move { Ok(tx.scan_agents(from.as_ref(), SCAN_PAGE).await?) })
            })
            .await?;
            let full = page.len() == SCAN_PAGE as usize;
            after = page.last().map(|(a, _)| a.id.clone());
            for (agent, mut state) in page {
                let stored = state.vouch;
                let policy = &snapshot.policy;
                state.vouch = 0.0;
                let (inputs, level) = score_inputs(&agent, &state, now);
                let at_zero = breakdown(policy, &inputs, now).composite;
                let at_one = breakdown(
                    policy,
                    &Inputs {
                        vouch: 1.0,
                        ..inputs
                    },
                    now,
                )
                .composite;
                let active = agent.status == AgentStatus::Active;
                let pretrusted = active
                    && ((self.config.pretrust_certified && level == VerificationLevel::Certified)
                        || (self.config.pretrust_anchors && anchors.contains(&agent.id)));
                nodes.push(Node {
                    violations: violations.get(&agent.id).copied().unwrap_or(0),
                    id: agent.id,
                    stored,
                    at_zero,
                    at_one,
                    active,
                    pretrusted,
                });
            }
            if !full {
                break;
            }
        }
        Ok((nodes, edges))
    }

    /// Writes new factors under each agent's lock, re-checking against the stored value.
    async fn write(
        &self,
        batch: Vec<(AgentId, f64)>,
        now: Timestamp,
    ) -> Result<usize, ServiceError> {
        let cache = Arc::clone(&self.policy);
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let mut changed = 0;
                for (id, factor) in batch {
                    let before = load_view(tx, &cache, &id, now, true).await?;
                    if !needs_write(before.state.vouch, factor) {
                        continue;
                    }
                    let mut state = before.state.clone();
                    state.vouch = factor;
                    let after = rescore(
                        tx,
                        &before,
                        before.agent.clone(),
                        state,
                        Trigger::Vouch,
                        now,
                    )
                    .await?;
                    changed += 1;
                    let (old, new) = (&before.breakdown, &after.breakdown);
                    if (new.composite - old.composite).abs() > 1e-12 || new.tier != old.tier {
                        let details = json!({
                            "old_score": old.composite, "new_score": new.composite,
                            "old_tier": old.tier, "new_tier": new.tier,
                            "old_vouch_score": before.state.vouch, "new_vouch_score": factor,
                            "trigger": Trigger::Vouch.as_str(),
                        });
                        tx.append_audit(&AuditEvent::new(
                            EventType::TrustScoreChanged,
                            Some(id.clone()),
                            details,
                            &Actor::default(),
                            now,
                        ))
                        .await?;
                    }
                }
                Ok(changed)
            })
        })
        .await
    }
}

fn needs_write(stored: f64, factor: f64) -> bool {
    (factor - stored).abs() >= FACTOR_STEP || (factor == 0.0 && stored != 0.0)
}
