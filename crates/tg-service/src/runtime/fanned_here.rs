//! Events this instance fanned out, held for its live relay. On PostgreSQL the relay
//! publishes every instance's events in the order the database signals them (commit
//! order); for this instance's own it takes the events from here instead of reading them
//! back from the outbox, which cost more database time per receipt than writing it
//! (docs/PERFORMANCE.md).
//!
//! The delivery worker holds a fan-out's events inside its transaction, before the commit
//! that sends their signal, so the relay finds them when the signal comes. A fan-out whose
//! transaction fails leaves events that no signal will take: the oldest go once more than
//! [`HELD`] are held. An id not held is read from the outbox, as another instance's.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tg_webhooks::OutboxEvent;

/// Events held at most; an in-flight fan-out holds at most the worker's batch.
const HELD: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct FannedHere {
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    events: HashMap<String, OutboxEvent>,
    /// Ids in the order held, for dropping the oldest.
    order: VecDeque<String>,
}

impl FannedHere {
    /// Holds events about to be committed (and signalled) by this instance.
    pub(crate) fn hold(&self, events: &[OutboxEvent]) {
        let mut held = crate::runtime::live::lock(&self.held);
        for e in events {
            if held.events.insert(e.id.clone(), e.clone()).is_none() {
                held.order.push_back(e.id.clone());
            }
        }
        while held.order.len() > HELD {
            if let Some(id) = held.order.pop_front() {
                held.events.remove(&id);
            }
        }
    }

    /// Takes the events of `ids`, in order: each held one, or its id to read.
    pub(crate) fn take(&self, ids: Vec<String>) -> Vec<Result<OutboxEvent, String>> {
        let mut held = crate::runtime::live::lock(&self.held);
        let out: Vec<_> = ids
            .into_iter()
            .map(|id| held.events.remove(&id).ok_or(id))
            .collect();
        if held.events.is_empty() {
            held.order.clear();
        } else if held.order.len() > 2 * held.events.len() + 64 {
            let Held { events, order } = &mut *held;
            order.retain(|id| events.contains_key(id));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;
    use tg_core::Timestamp;
    use tg_webhooks::EventKind;

    use super::*;

    fn event() -> OutboxEvent {
        OutboxEvent::new(
            EventKind::ReceiptRecorded,
            None,
            None,
            json!({}),
            Timestamp::from_secs(1),
        )
    }

    #[test]
    fn held_events_are_taken_once_in_the_order_asked_and_others_are_named() {
        let here = FannedHere::default();
        let (a, b) = (event(), event());
        here.hold(&[a.clone(), b.clone()]);
        let taken = here.take(vec![b.id.clone(), "evt_elsewhere".into(), a.id.clone()]);
        assert_eq!(taken[0].as_ref().unwrap().id, b.id);
        assert_eq!(taken[1].as_ref().unwrap_err(), "evt_elsewhere");
        assert_eq!(taken[2].as_ref().unwrap().id, a.id);
        assert_eq!(
            here.take(vec![a.id.clone()])[0].as_ref().unwrap_err(),
            &a.id
        );
    }

    #[test]
    fn events_no_signal_takes_are_dropped_oldest_first() {
        let here = FannedHere::default();
        let first = event();
        here.hold(std::slice::from_ref(&first));
        let rest: Vec<OutboxEvent> = (0..HELD).map(|_| event()).collect();
        here.hold(&rest);
        assert!(here.take(vec![first.id.clone()])[0].is_err());
        assert!(here.take(vec![rest[0].id.clone()])[0].is_ok());
        let held = crate::runtime::live::lock(&here.held);
        assert!(held.events.len() < HELD && held.order.len() <= HELD);
    }
}
