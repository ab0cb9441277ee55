//! The webhook events a change produces, appended to the outbox in the change's
//! transaction.

use serde_json::json;
use tg_core::Timestamp;
use tg_identity::Agent;
use tg_scoring::{Breakdown, Trigger};
use tg_webhooks::{EventKind, OutboxEvent};

/// A composite move at least this large is a `trust_changed` event (V2: "changed
/// significantly"); config drift always is.
pub const TRUST_CHANGE_EVENT: f64 = 0.05;

/// An event about `agent`, routed to its account's endpoints (and the admin's).
pub(crate) fn agent_event(
    kind: EventKind,
    agent: &Agent,
    mut data: serde_json::Value,
    now: Timestamp,
) -> OutboxEvent {
    if let Some(obj) = data.as_object_mut() {
        obj.insert("agent_id".into(), json!(agent.id));
        obj.insert("agent_name".into(), json!(agent.name));
    }
    OutboxEvent::new(
        kind,
        Some(agent.account_id.clone()),
        Some(agent.id.clone()),
        data,
        now,
    )
}

/// `tier_changed` and/or `trust_changed` for a score that moved from `before` to `after`.
pub(crate) fn score_events(
    agent: &Agent,
    before: &Breakdown,
    after: &Breakdown,
    trigger: Trigger,
    always_trust_changed: bool,
    now: Timestamp,
) -> Vec<OutboxEvent> {
    let mut out = Vec::new();
    if after.tier != before.tier {
        out.push(agent_event(
            EventKind::TierChanged,
            agent,
            json!({"old_tier": before.tier, "new_tier": after.tier, "score": after.composite, "tier_name": after.tier_name, "trigger": trigger.as_str()}),
            now,
        ));
    }
    let delta = after.composite - before.composite;
    if always_trust_changed || delta.abs() >= TRUST_CHANGE_EVENT {
        out.push(agent_event(
            EventKind::TrustChanged,
            agent,
            json!({"old_score": before.composite, "new_score": after.composite, "tier": after.tier, "trigger": trigger.as_str(), "factors": after.factors}),
            now,
        ));
    }
    out
}
