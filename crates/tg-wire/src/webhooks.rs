//! Webhook endpoints and their delivery attempts.

use serde::{Deserialize, Serialize};
use tg_core::{Timestamp, WebhookId};
use tg_webhooks::{Attempt, Endpoint, EventKind};

/// An endpoint; its secrets only ever appear once, in the answer that set them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointOut {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<EventKind>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; null while deliveries succeed.
    pub failing_since: Option<Timestamp>,
    /// How many signing secrets are active (two while a rotation's old one lives on).
    pub signing_secrets: usize,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The new signing secret (`whsec_…`): only in the answer that created or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// What was accepted but should be fixed (a short V2 secret); only in the answer to
    /// the request that caused it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl From<&Endpoint> for EndpointOut {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            events: e.events.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            signing_secrets: e.secrets.len(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            secret: None,
            warnings: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptPage {
    pub attempts: Vec<Attempt>,
    pub next_offset: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queued {
    pub queued: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Requeued {
    /// Failed deliveries put back in the queue.
    pub requeued: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// `http(s)://…` to a public address (`WEBHOOK_ALLOW_NETS` opens private ones).
    pub url: String,
    /// Event types to receive, at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, value_type = Vec<EventKind>))]
    pub events: Vec<String>,
    /// Your own `whsec_…` secret; default: a generated one, returned once.
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

/// Only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    /// Event types to receive, at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, value_type = Option<Vec<EventKind>>))]
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub secret: Option<String>,
    /// Generate a new secret; the previous one keeps signing beside it until
    /// `expire_previous_secret`.
    #[serde(default)]
    pub rotate_secret: bool,
    /// Stop signing with the previous secret now.
    #[serde(default)]
    pub expire_previous_secret: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub since: String,
    /// RFC 3339; default: now.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub until: Option<String>,
}
