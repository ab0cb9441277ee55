//! The background runtime: what every instance runs beside the use cases — the audit and
//! receipt batchers, the live feed and its cross-instance relay, webhook delivery, the
//! vouch engine, background upkeep, metrics — and the one lifecycle of its workers: started
//! together by `Gateway::start`, stopped together by `Gateway::shutdown` (or aborted when
//! the gateway is dropped).

pub(crate) mod audit_batch;
pub(crate) mod fanned_here;
pub(crate) mod live;
pub(crate) mod live_relay;
pub(crate) mod maintenance;
pub(crate) mod metrics;
pub(crate) mod record_batch;
pub(crate) mod record_heads;
pub(crate) mod vouch_engine;
pub(crate) mod webhook_worker;
pub(crate) mod worker;

use std::sync::Mutex;

use worker::Worker;

/// The instance's running workers, by name, in start order.
#[derive(Debug)]
pub(crate) struct Workers(Mutex<Vec<(&'static str, Worker)>>);

impl Workers {
    pub(crate) fn new(workers: Vec<(&'static str, Worker)>) -> Self {
        Self(Mutex::new(workers))
    }

    /// How many are running.
    pub(crate) fn running(&self) -> usize {
        let workers = self.0.lock().unwrap_or_else(|p| p.into_inner());
        workers.iter().filter(|(_, w)| w.running()).count()
    }

    /// Stops every worker, last started first, and waits until each has ended. A second
    /// call finds none.
    pub(crate) async fn stop(&self) {
        let workers = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, worker) in workers.into_iter().rev() {
            worker.stop().await;
            tracing::debug!(worker = name, "stopped");
        }
    }
}
