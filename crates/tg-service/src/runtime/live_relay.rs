//! The live feed across instances: where the database signals fanned-out events (PostgreSQL
//! LISTEN/NOTIFY), every instance publishes every instance's events in the order signalled
//! (commit order). It reads other instances' events back from the outbox rows the signals
//! reference; its own it takes from what its delivery worker held for it
//! ([`FannedHere`]). Without such a signal (SQLite) the delivery worker publishes what it
//! fans out itself.
//!
//! The feed is a live view: events fanned out while the listening connection is down (it
//! reconnects with backoff) do not reach this instance's dashboards. Webhooks, from the
//! durable outbox, are the path that loses nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tg_webhooks::OutboxEvent;

use crate::decision_state::DecisionState;
use crate::runtime::fanned_here::FannedHere;
use crate::runtime::live::LiveFeed;
use crate::runtime::metrics::RelaySource;
use crate::runtime::worker::Worker;
use crate::store::EventSignals;
use crate::{ServiceError, Store, reading};

/// Signals read together (each carries up to a few hundred ids).
const BATCH: usize = 16;
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Starts relaying if the store signals events (`signals`, already listening, so an event
/// committed after they were opened reaches this instance's dashboards); `None` if it does
/// not (SQLite: one instance). State signals and probes go to the decision state,
/// which trusts its memory only while this listener is connected.
/// A signal naming a revoked API key (`key:<id>`) rather than an outbox event: the store
/// sends it with the revocation, so every instance closes that key's dashboards at once.
pub const REVOKED_KEY_SIGNAL: &str = "key:";

pub(crate) fn start(
    store: Arc<dyn Store>,
    live: Arc<LiveFeed>,
    here: Arc<FannedHere>,
    metrics: Arc<crate::Metrics>,
    decisions: Arc<DecisionState>,
    signals: Option<EventSignals>,
) -> Option<Worker> {
    let signals = signals?;
    let handle = tokio::spawn(async move {
        let mut signals = signals;
        loop {
            decisions.listening();
            relay(store.as_ref(), &live, &here, &metrics, &decisions, signals).await;
            decisions.not_listening();
            signals = reconnect(store.as_ref()).await;
        }
    });
    Some(Worker::new(handle))
}

/// Publishes until the signal stream ends or fails.
async fn relay(
    store: &dyn Store,
    live: &LiveFeed,
    here: &FannedHere,
    metrics: &crate::Metrics,
    decisions: &DecisionState,
    signals: EventSignals,
) {
    let mut batches = signals.ready_chunks(BATCH);
    while let Some(batch) = batches.next().await {
        let mut ids = Vec::new();
        let mut failed = None;
        for signal in batch {
            match signal {
                Ok(more) => ids.extend(more),
                Err(e) => failed = Some(e),
            }
        }
        // Changes to what decisions are made from, and this instance's probes.
        let (state, rest): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| {
            id.starts_with(crate::state_signals::STATE_SIGNAL)
                || id.starts_with(crate::state_signals::PING_SIGNAL)
        });
        decisions.apply(&state);
        let mut ids = rest;
        // A key revoked on any instance closes its dashboards and voids its tickets here.
        ids.retain(|id| match id.strip_prefix(REVOKED_KEY_SIGNAL) {
            Some(key) => {
                live.key_revoked(key);
                false
            }
            None => true,
        });
        if !ids.is_empty() {
            match read(store, here, metrics, ids).await {
                Ok(events) => live.publish(&events),
                Err(e) => {
                    tracing::warn!(error = %tg_core::ErrorChain(&e), "live feed: signalled events unreadable")
                }
            }
        }
        if let Some(e) = failed {
            tracing::warn!(error = %tg_core::ErrorChain(&e), "live feed: event listener failed");
            return;
        }
    }
    tracing::warn!("live feed: event listener connection closed");
}

/// The events, in the order signalled: this instance's from `here`, the others' from the
/// outbox.
async fn read(
    store: &dyn Store,
    here: &FannedHere,
    metrics: &crate::Metrics,
    ids: Vec<String>,
) -> Result<Vec<OutboxEvent>, ServiceError> {
    let taken = here.take(ids);
    let elsewhere: Vec<String> = taken
        .iter()
        .filter_map(|t| t.as_ref().err().cloned())
        .collect();
    let held = taken.len() - elsewhere.len();
    metrics.relayed(RelaySource::held, held);
    let mut read: HashMap<String, OutboxEvent> = HashMap::new();
    if !elsewhere.is_empty() {
        let events = reading(store, move |tx| {
            Box::pin(async move { Ok(tx.outbox_events(&elsewhere).await?) })
        })
        .await?;
        metrics.relayed(RelaySource::outbox, events.len());
        read = events.into_iter().map(|e| (e.id.clone(), e)).collect();
    }
    Ok(taken
        .into_iter()
        .filter_map(|t| match t {
            Ok(event) => Some(event),
            Err(id) => read.remove(&id),
        })
        .collect())
}

/// Listens again, backing off while the database is unreachable.
async fn reconnect(store: &dyn Store) -> EventSignals {
    let mut wait = RETRY_FIRST;
    loop {
        tokio::time::sleep(wait).await;
        match store.listen_events().await {
            Ok(Some(signals)) => {
                tracing::info!("live feed: listening for events again");
                return signals;
            }
            Ok(None) => return Box::pin(futures_util::stream::pending()),
            Err(e) => {
                tracing::warn!(error = %tg_core::ErrorChain(&e), "live feed: cannot listen for events yet")
            }
        }
        wait = (wait * 2).min(RETRY_MAX);
    }
}
