//! What the gateway counts for `GET /metrics`: decisions by outcome, receipts, webhook
//! deliveries by result, and (read when scraped) dashboards and database connections.
//! The HTTP layer adds its own request metrics to the same registry.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Outcome {
    allowed,
    denied,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: Outcome,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum DeliveryResult {
    delivered,
    failed,
    gone,
    /// Endpoint disabled or deleted, or event missing: nothing sent.
    not_sent,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: DeliveryResult,
}

/// How a look-up of an agent in the decision state ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Lookup {
    /// Answered from memory.
    hit,
    /// Memory is current but does not hold the agent, or not at the version asked.
    not_held,
    /// Memory is not current (the staleness bound, or the listener down): every answer
    /// reads through the database until it is again.
    not_current,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabel {
    result: Lookup,
}

/// How a batch of records began.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum BatchBasis {
    /// From the agent as this instance's last batch left it, committed without the row
    /// lock (its guard held).
    memory,
    /// Begun from memory, but the agent or the policy had moved: nothing was written and
    /// the batch ran again under the row lock.
    moved,
    /// Under the row lock from the start: nothing held for the agent, or a report that
    /// reads more than the agent's own rows (a witness's token, a violation).
    locked,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BasisLabel {
    basis: BatchBasis,
}

/// Where the live relay found a signalled event.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum RelaySource {
    /// This instance fanned it out and held it.
    held,
    /// Read back from the outbox (another instance's).
    outbox,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: RelaySource,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum ConnState {
    in_use,
    idle,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: ConnState,
}

/// Connections of the store's pool (SQLite: its one connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub in_use: usize,
    pub idle: usize,
    pub max: usize,
}

#[derive(Debug, Default)]
pub struct Metrics {
    decisions: Family<OutcomeLabel, Counter>,
    receipts: Counter,
    receipt_commits: Counter,
    record_batches: Family<BasisLabel, Counter>,
    deliveries: Family<ResultLabel, Counter>,
    lookups: Family<LookupLabel, Counter>,
    relayed: Family<SourceLabel, Counter>,
    dashboards: Gauge,
    audit_queue_full: Counter,
    audit_queued: Gauge,
    connections: Family<StateLabel, Gauge>,
    pool_max: Gauge,
}

impl Metrics {
    /// Adds every family to `registry` (prefix `trust_gateway_` is the registry's). Every
    /// outcome and result is exposed from the start, at 0.
    pub fn register(&self, registry: &mut Registry) {
        for outcome in [Outcome::allowed, Outcome::denied] {
            drop(self.decisions.get_or_create(&OutcomeLabel { outcome }));
        }
        for result in [
            DeliveryResult::delivered,
            DeliveryResult::failed,
            DeliveryResult::gone,
            DeliveryResult::not_sent,
        ] {
            drop(self.deliveries.get_or_create(&ResultLabel { result }));
        }
        for result in [Lookup::hit, Lookup::not_held, Lookup::not_current] {
            drop(self.lookups.get_or_create(&LookupLabel { result }));
        }
        for basis in [BatchBasis::memory, BatchBasis::moved, BatchBasis::locked] {
            drop(self.record_batches.get_or_create(&BasisLabel { basis }));
        }
        for source in [RelaySource::held, RelaySource::outbox] {
            drop(self.relayed.get_or_create(&SourceLabel { source }));
        }
        registry.register(
            "authorization_decisions",
            "Authorization decisions, by outcome",
            self.decisions.clone(),
        );
        registry.register(
            "receipts_recorded",
            "Action receipts recorded",
            self.receipts.clone(),
        );
        registry.register(
            "receipt_commits",
            "Transactions that appended receipts; receipts_recorded over this is the mean batch",
            self.receipt_commits.clone(),
        );
        registry.register(
            "record_batches",
            "Batches of records, by how they began (moved: from memory, then again under the lock)",
            self.record_batches.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts, by result",
            self.deliveries.clone(),
        );
        registry.register(
            "decision_state_lookups",
            "Look-ups of an agent in this instance's decision state (decisions, trust reads, tokens), by result; a request that misses may look twice",
            self.lookups.clone(),
        );
        registry.register(
            "live_relay_events",
            "Events signalled across instances (PostgreSQL) that the live feed published, by where it found them",
            self.relayed.clone(),
        );
        registry.register(
            "dashboard_clients",
            "Dashboards connected to this instance",
            self.dashboards.clone(),
        );
        registry.register(
            "audit_queue_full",
            "Audit records that found the group-commit queue full and waited for room (backpressure: none is dropped)",
            self.audit_queue_full.clone(),
        );
        registry.register(
            "audit_queued",
            "Audit records queued for the group-commit writer and not yet taken",
            self.audit_queued.clone(),
        );
        registry.register(
            "db_connections",
            "Database connections of this instance, by state",
            self.connections.clone(),
        );
        registry.register(
            "db_connections_max",
            "Database connections this instance may open",
            self.pool_max.clone(),
        );
    }

    pub(crate) fn decided(&self, allowed: bool) {
        let outcome = if allowed {
            Outcome::allowed
        } else {
            Outcome::denied
        };
        self.decisions
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// One transaction appended `n` receipts.
    pub(crate) fn receipts_committed(&self, n: usize) {
        self.receipts.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        self.receipt_commits.inc();
    }

    pub(crate) fn record_batch(&self, basis: BatchBasis) {
        self.record_batches
            .get_or_create(&BasisLabel { basis })
            .inc();
    }

    /// Batches of records that began as `basis` so far.
    pub fn record_batches(&self, basis: BatchBasis) -> u64 {
        self.record_batches
            .get_or_create(&BasisLabel { basis })
            .get()
    }

    pub(crate) fn delivery(&self, result: DeliveryResult) {
        self.deliveries.get_or_create(&ResultLabel { result }).inc();
    }

    pub(crate) fn looked_up(&self, result: Lookup) {
        self.lookups.get_or_create(&LookupLabel { result }).inc();
    }

    /// Look-ups in the decision state that ended in `result` so far.
    pub fn lookups(&self, result: Lookup) -> u64 {
        self.lookups.get_or_create(&LookupLabel { result }).get()
    }

    pub(crate) fn relayed(&self, source: RelaySource, n: usize) {
        self.relayed
            .get_or_create(&SourceLabel { source })
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// An audit record found the queue full and waits for room.
    pub(crate) fn audit_queue_full(&self) {
        self.audit_queue_full.inc();
    }

    /// Audit records that found the queue full so far.
    pub fn audit_queue_fulls(&self) -> u64 {
        self.audit_queue_full.get()
    }

    /// Sets the gauges read at scrape time.
    pub(crate) fn observe(&self, dashboards: usize, audit_queued: usize, pool: PoolStatus) {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.dashboards.set(n(dashboards));
        self.audit_queued.set(n(audit_queued));
        self.connections
            .get_or_create(&StateLabel {
                state: ConnState::in_use,
            })
            .set(n(pool.in_use));
        self.connections
            .get_or_create(&StateLabel {
                state: ConnState::idle,
            })
            .set(n(pool.idle));
        self.pool_max.set(n(pool.max));
    }
}
