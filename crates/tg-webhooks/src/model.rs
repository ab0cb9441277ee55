use serde::Serialize;
use serde_json::json;
use tg_core::{AccountId, AgentId, Timestamp, WebhookId};

/// What endpoints can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    TrustChanged,
    TierChanged,
    AuthorizationDenied,
    ReceiptChainBroken,
    AgentRegistered,
    ReceiptRecorded,
    AgentSuspended,
    AgentReactivated,
    AgentRevoked,
    EndpointDisabled,
    IdentitySuperseded,
    /// The transparency log failed a check: a checkpoint that does not extend the last
    /// one, tiles that do not give a signed root, or logged receipts that are gone.
    LogInconsistent,
    /// One token of an agent was revoked (`POST /tokens/revoke`).
    TokenRevoked,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::TrustChanged,
        EventKind::TierChanged,
        EventKind::AuthorizationDenied,
        EventKind::ReceiptChainBroken,
        EventKind::AgentRegistered,
        EventKind::ReceiptRecorded,
        EventKind::AgentSuspended,
        EventKind::AgentReactivated,
        EventKind::AgentRevoked,
        EventKind::EndpointDisabled,
        EventKind::IdentitySuperseded,
        EventKind::LogInconsistent,
        EventKind::TokenRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TrustChanged => "trust_changed",
            EventKind::TierChanged => "tier_changed",
            EventKind::AuthorizationDenied => "authorization_denied",
            EventKind::ReceiptChainBroken => "receipt_chain_broken",
            EventKind::AgentRegistered => "agent_registered",
            EventKind::ReceiptRecorded => "receipt_recorded",
            EventKind::AgentSuspended => "agent_suspended",
            EventKind::AgentReactivated => "agent_reactivated",
            EventKind::AgentRevoked => "agent_revoked",
            EventKind::EndpointDisabled => "endpoint_disabled",
            EventKind::IdentitySuperseded => "identity_superseded",
            EventKind::LogInconsistent => "log_inconsistent",
            EventKind::TokenRevoked => "token_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: WebhookId,
    /// Receives events about this account's agents (the admin account's: every agent's).
    pub account_id: AccountId,
    pub url: String,
    pub events: Vec<EventKind>,
    /// Signing secrets as given (`whsec_…` or plain), newest first; two during rotation.
    pub secrets: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (cleared by a success).
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// `Some`: a Shared Signals stream, delivered as Security Event Tokens (RFC 8417) by
    /// push (RFC 8935) instead of Standard Webhooks; `events` are then the kinds its
    /// requested event types are made from.
    pub stream: Option<SetStream>,
}

/// What a Shared Signals receiver asked of its stream (SSF 1.0 §8.1.1, receiver-supplied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SetStream {
    /// `events_requested`: event-type URIs as the receiver gave them.
    pub events_requested: Vec<String>,
    pub description: Option<String>,
}

/// An event in the outbox: written in the transaction of the change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// `msg_` + 24 hex: the `webhook-id` of every delivery of this event. Time-ordered
    /// (`Id::generate_at`), so the outbox's unique index on it is appended at its end; with
    /// random ids every event dirtied a random page of an index that keeps every event.
    pub id: String,
    pub kind: EventKind,
    /// The account owning the agent, for routing.
    pub account_id: Option<AccountId>,
    pub agent_id: Option<AgentId>,
    /// The body every endpoint receives: `{"event", "timestamp", "data"}` (V2 shape).
    pub payload: String,
    pub created_at: Timestamp,
}

impl OutboxEvent {
    pub fn new(
        kind: EventKind,
        account_id: Option<AccountId>,
        agent_id: Option<AgentId>,
        data: serde_json::Value,
        at: Timestamp,
    ) -> Self {
        let payload = json!({"event": kind.as_str(), "timestamp": at, "data": data}).to_string();
        Self {
            id: tg_core::MessageId::generate_at(at).to_string(),
            kind,
            account_id,
            agent_id,
            payload,
            created_at: at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// The schedule ran out, or the endpoint was disabled or deleted.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub endpoint_id: WebhookId,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    /// A worker holds the delivery until then; after a crash the lease runs out and
    /// another worker takes it (at least once).
    pub lease_until: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

/// The record of one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    pub event_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub endpoint_id: WebhookId,
    pub attempt: u32,
    pub at: Timestamp,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outbox keeps every event under a unique index on its id: ids made later sort
    /// later, so that index grows at its end (random ids dirtied a random page of it at
    /// every event, which showed at a million events).
    #[test]
    fn outbox_event_ids_sort_by_creation_time() {
        let at = Timestamp::from_secs(1_798_761_600);
        let event = |at| OutboxEvent::new(EventKind::TrustChanged, None, None, json!({}), at);
        let first = event(at);
        let same_millisecond = event(at);
        let later = event(Timestamp::from_micros(at.as_micros() + 1000));
        assert!(
            first.id.starts_with("msg_01a2ce8bd400"),
            "the millisecond leads: {}",
            first.id
        );
        assert!(first.id < later.id, "{} < {}", first.id, later.id);
        assert_ne!(first.id, same_millisecond.id, "48 random bits follow");
        assert!(tg_core::MessageId::parse(&first.id).is_ok());
    }
}
