//! Shared Signals (OpenID SSF 1.0): the transmitter's metadata and stream configurations.

use serde::{Deserialize, Serialize};
use tg_webhooks::Endpoint;
use tg_webhooks::security_events::{EVENTS_SUPPORTED, PUSH_DELIVERY, events_delivered};

/// `GET /.well-known/ssf-configuration` (SSF 1.0 §7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransmitterConfiguration {
    /// `1_0`.
    pub spec_version: String,
    /// The `iss` of every SET: the gateway's token issuer (`GATEWAY_ISSUER`).
    pub issuer: String,
    /// Where the keys that sign SETs are published: the token JWKS.
    pub jwks_uri: String,
    /// `urn:ietf:rfc:8935` (push) only.
    pub delivery_methods_supported: Vec<String>,
    /// Streams are created, read, changed and deleted here (with an API key).
    pub configuration_endpoint: String,
    /// `ALL`: a stream carries events about every agent of its account.
    pub default_subjects: String,
}

/// How a stream is delivered: pushed to `endpoint_url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamDelivery {
    /// `urn:ietf:rfc:8935`.
    pub method: String,
    /// Checked like a webhook URL (public addresses only, unless allow-listed).
    pub endpoint_url: String,
}

/// A stream's configuration (SSF 1.0 §8.1.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamConfiguration {
    pub stream_id: String,
    /// The `iss` of the stream's SETs.
    pub iss: String,
    /// The `aud` of the stream's SETs: the receiving account's id.
    pub aud: String,
    pub events_supported: Vec<String>,
    pub events_requested: Vec<String>,
    /// The requested types the gateway sends.
    pub events_delivered: Vec<String>,
    pub delivery: StreamDelivery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl StreamConfiguration {
    /// `stream`'s configuration as `issuer` transmits it; `None` for a webhook endpoint.
    pub fn of(stream: &Endpoint, issuer: &str) -> Option<Self> {
        let config = stream.stream.as_ref()?;
        Some(Self {
            stream_id: stream.id.to_string(),
            iss: issuer.to_owned(),
            aud: stream.account_id.to_string(),
            events_supported: EVENTS_SUPPORTED.map(String::from).to_vec(),
            events_requested: config.events_requested.clone(),
            events_delivered: events_delivered(&config.events_requested),
            delivery: StreamDelivery {
                method: PUSH_DELIVERY.to_owned(),
                endpoint_url: stream.url.clone(),
            },
            description: config.description.clone(),
        })
    }
}

/// `POST /ssf/streams`: the receiver-supplied properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamRequest {
    pub delivery: StreamDelivery,
    /// At most 32 event-type URIs.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 32, inline, value_type = Vec<EventTypeUri>))]
    pub events_requested: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
}

/// An event-type URI: 1–256 characters, no control characters.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,256}$")]
#[allow(dead_code)] // Describes the strings of `events_requested`.
struct EventTypeUri(String);

/// `PATCH /ssf/streams`: `stream_id` and what changes. Transmitter-supplied properties a
/// receiver copies back from a read (`iss`, `aud`, …) are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamUpdate {
    pub stream_id: String,
    #[serde(default)]
    pub delivery: Option<StreamDelivery>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 32, inline, value_type = Option<Vec<EventTypeUri>>))]
    pub events_requested: Option<Vec<String>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
}
