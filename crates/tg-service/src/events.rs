//! The webhook events a change produces, appended to the outbox in the change's
//! transaction.

use serde_json::json;
use tg_core::Timestamp;
use tg_identity::Agent;
use tg_scoring::{Breakdown, Trigger};
use tg_webhooks::{EventKind, OutboxEvent};

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

/// Where a score stood: its composite and tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Standing {
    pub composite: f64,
    pub tier: u8,
}

impl From<&Breakdown> for Standing {
    fn from(b: &Breakdown) -> Self {
        Self {
            composite: b.composite,
            tier: b.tier,
        }
    }
}

/// `tier_changed` and/or `trust_changed` for a score that moved from `before` to `after`:
/// `trust_changed` when the composite moved by at least the policy's
/// `trust_changed_delta` (or always, when `always_trust_changed`).
pub(crate) fn score_events(
    agent: &Agent,
    before: Standing,
    after: &Breakdown,
    trigger: Trigger,
    always_trust_changed: bool,
    trust_changed_delta: f64,
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
    // Scores are reported to four places: compare at that precision.
    if always_trust_changed || tg_scoring::rounded(delta.abs()) >= trust_changed_delta {
        out.push(agent_event(
            EventKind::TrustChanged,
            agent,
            json!({"old_score": before.composite, "new_score": after.composite, "old_tier": before.tier, "new_tier": after.tier, "tier": after.tier, "tier_name": after.tier_name, "trigger": trigger.as_str(), "factors": after.factors}),
            now,
        ));
    }
    out
}
