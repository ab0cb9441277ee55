//! An audit event as the store appends it: its details already JSON text.
//!
//! The busiest writers (a `trust_check` for every decision and trust read) build their
//! details from a typed struct straight into text. Going through a `serde_json::Value`
//! cost a map with an allocation per key on the request thread, then its serialisation
//! and its frees on the store's writer (about a quarter of the SQLite writer thread's time
//! under `POST /authorize` load; docs/PERFORMANCE.md).

use serde::Serialize;
use tg_core::{AgentId, EventId, Timestamp};

use crate::{Actor, AuditEvent, EventType};

/// An audit event whose details are a JSON object in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    pub event_id: EventId,
    pub timestamp: Timestamp,
    pub event_type: EventType,
    pub agent_id: Option<AgentId>,
    details: String,
    pub ip_hash: Option<String>,
    pub api_key_prefix: Option<String>,
}

impl EncodedEvent {
    /// A new event at `at` whose details are `details` serialised. Fails if they are not a
    /// JSON object (as every event's details are).
    pub fn new<T: Serialize + ?Sized>(
        event_type: EventType,
        agent_id: Option<AgentId>,
        details: &T,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Self, serde_json::Error> {
        let details = serde_json::to_string(details)?;
        if !details.starts_with('{') {
            return Err(serde::ser::Error::custom(
                "an audit event's details must be a JSON object",
            ));
        }
        // Stamped (id, time, actor) as every event is; the details are ours.
        let AuditEvent {
            event_id,
            timestamp,
            event_type,
            agent_id,
            ip_hash,
            api_key_prefix,
            details: _,
        } = AuditEvent::new(event_type, agent_id, serde_json::Value::Null, actor, at);
        Ok(Self {
            event_id,
            timestamp,
            event_type,
            agent_id,
            details,
            ip_hash,
            api_key_prefix,
        })
    }

    /// The details: a JSON object.
    pub fn details(&self) -> &str {
        &self.details
    }

    /// The details, taken.
    pub fn into_details(self) -> String {
        self.details
    }
}

impl From<&AuditEvent> for EncodedEvent {
    fn from(e: &AuditEvent) -> Self {
        Self {
            event_id: e.event_id.clone(),
            timestamp: e.timestamp,
            event_type: e.event_type,
            agent_id: e.agent_id.clone(),
            details: e.details.to_string(),
            ip_hash: e.ip_hash.clone(),
            api_key_prefix: e.api_key_prefix.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[derive(Serialize)]
    struct Check<'a> {
        action: &'a str,
        allowed: bool,
        score: f64,
    }

    #[test]
    fn typed_details_are_the_text_a_value_would_give() {
        let actor = Actor {
            ip_hash: Some("ab".into()),
            api_key_prefix: None,
        };
        let at = Timestamp::from_micros(1_700_000_000_000_000);
        let typed = EncodedEvent::new(
            EventType::TrustCheck,
            None,
            &Check {
                action: "send \"mail\"",
                allowed: true,
                score: 0.5,
            },
            &actor,
            at,
        )
        .unwrap();
        let value = AuditEvent::new(
            EventType::TrustCheck,
            None,
            json!({"action": "send \"mail\"", "allowed": true, "score": 0.5}),
            &actor,
            at,
        );
        assert_eq!(typed.details(), EncodedEvent::from(&value).details());
        assert_eq!(typed.ip_hash.as_deref(), Some("ab"));
        assert_eq!(typed.timestamp, at);
    }

    #[test]
    fn details_that_are_not_an_object_are_refused() {
        let actor = Actor::default();
        let at = Timestamp::from_micros(0);
        for details in [json!([1]), json!("text"), json!(null)] {
            assert!(EncodedEvent::new(EventType::TrustCheck, None, &details, &actor, at).is_err());
        }
    }
}
