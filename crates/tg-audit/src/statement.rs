//! What a signed audit export ends with: the period, how many events, their digest and
//! the Joy §5.3 summary.

use tg_core::Timestamp;

use crate::{AuditEvent, EventType};

/// Joy §5.3 export summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditSummary {
    pub total_events: u64,
    pub trust_checks_received: u64,
    pub delegations_received: u64,
    pub delegations_successful: u64,
    pub vouches_received: u64,
    pub vouches_given: u64,
}

impl AuditSummary {
    pub fn add(&mut self, e: &AuditEvent) {
        self.total_events += 1;
        match e.event_type {
            EventType::TrustCheck => self.trust_checks_received += 1,
            EventType::DelegationStarted => self.delegations_received += 1,
            EventType::DelegationCompleted
                if e.details.get("outcome").and_then(|o| o.as_str()) == Some("success") =>
            {
                self.delegations_successful += 1
            }
            EventType::VouchReceived => self.vouches_received += 1,
            EventType::VouchGiven => self.vouches_given += 1,
            _ => {}
        }
    }
}

/// `format` of a signed audit export (JSON).
pub const AUDIT_EXPORT_FORMAT: &str = "trust-gateway/audit/v1";

/// What the gateway signs at the end of a JSON audit export: the period, how many events
/// and their digest ([`tg_audit::EventDigest`]), and the summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditStatement {
    /// [`AUDIT_EXPORT_FORMAT`].
    pub format: String,
    pub issuer: String,
    pub agent_id: String,
    pub export_id: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub events: u64,
    /// Hex SHA-256 over each event's RFC 8785 form and a newline, in export order.
    pub events_sha256: String,
    pub summary: AuditSummary,
    pub exported_at: Timestamp,
}
