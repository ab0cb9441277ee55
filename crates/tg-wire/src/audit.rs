//! Audit trails: pages and the signed JSON export.

use serde::{Deserialize, Serialize};
use tg_audit::{AuditEvent, AuditStatement, AuditSummary};
use tg_core::{AgentId, ExportId, Timestamp};

use crate::signed::DetachedSignature;

/// A page of the agent's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the gateway's own audit trail: the events about no agent (API keys and
/// accounts, policy edits, signing keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GatewayAuditPage {
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The head of an export (everything before `events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportHead {
    /// `trust-gateway/audit/v1`.
    pub format: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub export_id: ExportId,
    pub generated_at: Timestamp,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
}

/// Joy §5.3 export (JSON): the head, every event of the period, a summary, and the
/// gateway's signed statement of them (checked offline by `trust-gateway verify-export`).
/// Streamed: the head is [`ExportHead`], the tail serialised from the export's statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(dead_code)] // Describes the streamed document; never built whole.
pub struct AuditExportDocument {
    /// `trust-gateway/audit/v1`.
    pub format: String,
    pub export_id: String,
    pub generated_at: Timestamp,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub agent_id: String,
    pub events: Vec<AuditEvent>,
    pub summary: AuditSummary,
    /// Period, event count and digest, summary: what the signature covers.
    pub statement: AuditStatement,
    /// JWS with detached payload over the RFC 8785 form of `statement`.
    pub signature: DetachedSignature,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// RFC 3339; default: 30 days before `end`.
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    pub start: Option<String>,
    /// RFC 3339; default: now.
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    pub end: Option<String>,
    /// Only events of this type (e.g. `trust_check`).
    #[serde(rename = "type")]
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    pub event_type: Option<String>,
    #[serde(default = "crate::default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100, minimum = 1, maximum = 1000))]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportQuery {
    /// Default: `json`.
    #[serde(default = "default_format")]
    #[cfg_attr(feature = "openapi", param(inline))]
    pub format: Format,
    /// RFC 3339; default: 30 days before `end`.
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    pub start: Option<String>,
    /// RFC 3339; default: now.
    #[serde(default, deserialize_with = "crate::empty_as_none")]
    pub end: Option<String>,
}

pub fn default_format() -> Format {
    Format::Json
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            start: None,
            end: None,
            event_type: None,
            limit: crate::default_page_limit(),
            cursor: None,
        }
    }
}

impl Default for ExportQuery {
    fn default() -> Self {
        Self {
            format: default_format(),
            start: None,
            end: None,
        }
    }
}
