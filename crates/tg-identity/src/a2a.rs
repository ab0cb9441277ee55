//! What the agent's A2A AgentCard says beyond its registration: where other agents reach
//! it (A2A v1.0 `AgentInterface`) and how it describes itself. The card itself, with the
//! trust data and the gateway's signature, is built by the gateway (`tg-service`).

use serde::{Deserialize, Serialize};

/// The agent's A2A endpoint and self-description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct A2aProfile {
    /// Where the agent serves A2A: an absolute `https://` (or `http://`) URL.
    pub url: String,
    /// `JSONRPC` (default), `GRPC` or `HTTP+JSON`.
    #[serde(default = "default_binding")]
    pub protocol_binding: String,
    /// The A2A version the endpoint speaks (default `1.0`).
    #[serde(default = "default_protocol_version")]
    pub protocol_version: String,
    /// What the agent does, for people and agents choosing it; default: a line naming it.
    #[serde(default)]
    pub description: Option<String>,
    /// The agent's own version; default: its registered configuration hash.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub provider: Option<A2aProvider>,
    #[serde(default)]
    pub documentation_url: Option<String>,
    /// Media types the agent accepts (default `text/plain`).
    #[serde(default = "default_modes")]
    pub input_modes: Vec<String>,
    /// Media types the agent answers with (default `text/plain`).
    #[serde(default = "default_modes")]
    pub output_modes: Vec<String>,
}

/// The organisation behind the agent (A2A `AgentProvider`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct A2aProvider {
    pub organization: String,
    pub url: String,
}

impl A2aProfile {
    /// A profile with the defaults (JSON-RPC, A2A 1.0, text in and out) at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            protocol_binding: default_binding(),
            protocol_version: default_protocol_version(),
            description: None,
            version: None,
            provider: None,
            documentation_url: None,
            input_modes: default_modes(),
            output_modes: default_modes(),
        }
    }
}

fn default_binding() -> String {
    "JSONRPC".into()
}

fn default_protocol_version() -> String {
    "1.0".into()
}

fn default_modes() -> Vec<String> {
    vec!["text/plain".into()]
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum A2aProfileError {
    #[error(
        "`a2a.{0}` must be an absolute http(s) URL without credentials, at most 2048 characters"
    )]
    Url(&'static str),
    #[error("`a2a.protocol_binding` must be one of JSONRPC, GRPC, HTTP+JSON")]
    Binding,
    #[error("`a2a.{field}` must be 1–{max} characters without control characters")]
    Text { field: &'static str, max: usize },
    #[error("`a2a.{0}` must list 1–16 media types such as `text/plain`")]
    Modes(&'static str),
}
