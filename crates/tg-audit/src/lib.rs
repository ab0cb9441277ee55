#![doc = include_str!("../README.md")]

extern crate self as tg_audit;

mod digest;
mod encoded;
mod live;
mod statement;

pub use digest::EventDigest;
pub use encoded::EncodedEvent;
pub use live::LiveEvent;
pub use statement::{AUDIT_EXPORT_FORMAT, AuditStatement, AuditSummary};

use ring::hmac;
use serde::Serialize;
use tg_core::{AgentId, EventId, StoreError, Timestamp};

/// Kinds of audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    AgentRegistered,
    AgentVerified,
    TrustCheck,
    VouchGiven,
    VouchReceived,
    VouchRevoked,
    AnchorChanged,
    DelegationStarted,
    DelegationCompleted,
    TrustScoreChanged,
    ReceiptRecorded,
    TokenIssued,
    AuthorizationDenied,
    AgentSuspended,
    AgentReactivated,
    AgentRevoked,
    ConfigDrift,
    ApiKeyCreated,
    ApiKeyRevoked,
    PolicyChanged,
    AgentProfileChanged,
    SigningKeyRotated,
    SigningKeyRetired,
    DelegationAccepted,
    IdentitySuperseded,
    TokenRevoked,
    LogKeyRotated,
    LogCosigned,
}

impl EventType {
    pub const ALL: [EventType; 28] = [
        EventType::AgentRegistered,
        EventType::AgentVerified,
        EventType::TrustCheck,
        EventType::VouchGiven,
        EventType::VouchReceived,
        EventType::VouchRevoked,
        EventType::AnchorChanged,
        EventType::DelegationStarted,
        EventType::DelegationCompleted,
        EventType::TrustScoreChanged,
        EventType::ReceiptRecorded,
        EventType::TokenIssued,
        EventType::AuthorizationDenied,
        EventType::AgentSuspended,
        EventType::AgentReactivated,
        EventType::AgentRevoked,
        EventType::ConfigDrift,
        EventType::ApiKeyCreated,
        EventType::ApiKeyRevoked,
        EventType::PolicyChanged,
        EventType::AgentProfileChanged,
        EventType::SigningKeyRotated,
        EventType::SigningKeyRetired,
        EventType::DelegationAccepted,
        EventType::IdentitySuperseded,
        EventType::TokenRevoked,
        EventType::LogKeyRotated,
        EventType::LogCosigned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AgentRegistered => "agent_registered",
            EventType::AgentVerified => "agent_verified",
            EventType::TrustCheck => "trust_check",
            EventType::VouchGiven => "vouch_given",
            EventType::VouchReceived => "vouch_received",
            EventType::VouchRevoked => "vouch_revoked",
            EventType::AnchorChanged => "anchor_changed",
            EventType::DelegationStarted => "delegation_started",
            EventType::DelegationCompleted => "delegation_completed",
            EventType::TrustScoreChanged => "trust_score_changed",
            EventType::ReceiptRecorded => "receipt_recorded",
            EventType::TokenIssued => "token_issued",
            EventType::AuthorizationDenied => "authorization_denied",
            EventType::AgentSuspended => "agent_suspended",
            EventType::AgentReactivated => "agent_reactivated",
            EventType::AgentRevoked => "agent_revoked",
            EventType::ConfigDrift => "config_drift",
            EventType::ApiKeyCreated => "api_key_created",
            EventType::ApiKeyRevoked => "api_key_revoked",
            EventType::PolicyChanged => "policy_changed",
            EventType::AgentProfileChanged => "agent_profile_changed",
            EventType::SigningKeyRotated => "signing_key_rotated",
            EventType::SigningKeyRetired => "signing_key_retired",
            EventType::DelegationAccepted => "delegation_accepted",
            EventType::IdentitySuperseded => "identity_superseded",
            EventType::TokenRevoked => "token_revoked",
            EventType::LogKeyRotated => "log_key_rotated",
            EventType::LogCosigned => "log_cosigned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Who caused an event, in the privacy-preserving form the trail keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub ip_hash: Option<String>,
    pub api_key_prefix: Option<String>,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub event_id: EventId,
    pub timestamp: Timestamp,
    pub event_type: EventType,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub agent_id: Option<AgentId>,
    pub details: serde_json::Value,
    pub ip_hash: Option<String>,
    pub api_key_prefix: Option<String>,
}

impl AuditEvent {
    pub fn new(
        event_type: EventType,
        agent_id: Option<AgentId>,
        details: serde_json::Value,
        actor: &Actor,
        at: Timestamp,
    ) -> Self {
        Self {
            event_id: EventId::generate_at(at),
            timestamp: at,
            event_type,
            agent_id,
            details,
            ip_hash: actor.ip_hash.clone(),
            api_key_prefix: actor.api_key_prefix.clone(),
        }
    }
}

/// Keyed hashing of client addresses: equal addresses hash alike under one gateway secret,
/// and the address cannot be recovered or brute-forced without it.
pub struct IpHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for IpHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IpHasher(..)")
    }
}

impl IpHasher {
    pub fn from_secret(secret: &[u8]) -> Self {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&derive, b"trust-gateway/ip-hash/v1");
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// 32 hex characters (128 bits) of HMAC-SHA256 over the textual address.
    pub fn hash(&self, ip: &str) -> String {
        let tag = hmac::sign(&self.key, ip.as_bytes());
        hex::encode(tag.as_ref().get(..16).unwrap_or_default())
    }
}

/// A time window and page of an agent's events, or of the gateway's own.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    /// `None`: the events about no agent — the operators' (API keys, policy edits,
    /// signing keys).
    pub agent_id: Option<AgentId>,
    /// Inclusive.
    pub start: Timestamp,
    /// Inclusive.
    pub end: Timestamp,
    pub event_type: Option<EventType>,
    /// Resume after this `(timestamp, event_id)` (keyset pagination).
    pub after: Option<(Timestamp, EventId)>,
    pub limit: u32,
}

/// Storage of the audit trail. Append-only by contract: there is no update or delete.
///
/// - `append_encoded_audit` inserts events in one statement (group commit), all or none;
///   a duplicate `event_id` is a `Conflict`. `append_audit` and `append_audit_batch` are
///   the same for events whose details are a `serde_json::Value`.
/// - `query_audit` returns events in ascending `(timestamp, event_id)` order.
#[async_trait::async_trait]
pub trait AuditStore: Send {
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        self.append_encoded_audit(vec![EncodedEvent::from(event)])
            .await
    }
    async fn append_audit_batch(&mut self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.append_encoded_audit(events.iter().map(EncodedEvent::from).collect())
            .await
    }
    async fn append_encoded_audit(&mut self, events: Vec<EncodedEvent>) -> Result<(), StoreError>;
    async fn query_audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(serde_json::Value::from(t.as_str()))
            );
        }
        assert_eq!(EventType::parse("nope"), None);
    }

    #[test]
    fn ip_hashes_are_keyed_and_stable() {
        let a = IpHasher::from_secret(b"one");
        let b = IpHasher::from_secret(b"two");
        assert_eq!(a.hash("203.0.113.9"), a.hash("203.0.113.9"));
        assert_ne!(a.hash("203.0.113.9"), b.hash("203.0.113.9"));
        assert_ne!(a.hash("203.0.113.9"), a.hash("203.0.113.10"));
        assert_eq!(a.hash("203.0.113.9").len(), 32);
        assert!(!a.hash("203.0.113.9").contains("203"));
    }
}
