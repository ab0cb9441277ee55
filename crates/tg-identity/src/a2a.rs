//! What the agent's A2A AgentCard says beyond its registration: where other agents reach
//! it (A2A v1.0 `AgentInterface`) and how it describes itself. The card itself, with the
//! trust data and the gateway's signature, is built by the API.

use serde::{Deserialize, Serialize};

/// The transports A2A v1.0 defines.
pub const PROTOCOL_BINDINGS: [&str; 3] = ["JSONRPC", "GRPC", "HTTP+JSON"];
pub const MAX_URL: usize = 2048;
pub const MAX_DESCRIPTION: usize = 1000;
pub const MAX_SHORT: usize = 64;
pub const MAX_MODES: usize = 16;

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

impl A2aProfile {
    /// Checks every field; the profile is stored only when it passes.
    pub fn validate(&self) -> Result<(), A2aProfileError> {
        url("url", &self.url)?;
        if !PROTOCOL_BINDINGS.contains(&self.protocol_binding.as_str()) {
            return Err(A2aProfileError::Binding);
        }
        text("protocol_version", &self.protocol_version, 16)?;
        if let Some(d) = &self.description {
            text("description", d, MAX_DESCRIPTION)?;
        }
        if let Some(v) = &self.version {
            text("version", v, MAX_SHORT)?;
        }
        if let Some(p) = &self.provider {
            text("provider.organization", &p.organization, 200)?;
            url("provider.url", &p.url)?;
        }
        if let Some(d) = &self.documentation_url {
            url("documentation_url", d)?;
        }
        modes("input_modes", &self.input_modes)?;
        modes("output_modes", &self.output_modes)
    }
}

fn url(field: &'static str, raw: &str) -> Result<(), A2aProfileError> {
    let ok = raw.len() <= MAX_URL
        && url::Url::parse(raw).is_ok_and(|u| {
            matches!(u.scheme(), "https" | "http")
                && u.host().is_some()
                && u.username().is_empty()
                && u.password().is_none()
        });
    if ok {
        Ok(())
    } else {
        Err(A2aProfileError::Url(field))
    }
}

fn text(field: &'static str, value: &str, max: usize) -> Result<(), A2aProfileError> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > max || value.chars().any(char::is_control) {
        return Err(A2aProfileError::Text { field, max });
    }
    Ok(())
}

fn modes(field: &'static str, list: &[String]) -> Result<(), A2aProfileError> {
    let valid = |m: &String| {
        m.len() <= 100
            && m.split_once('/').is_some_and(|(t, s)| {
                !t.is_empty()
                    && !s.is_empty()
                    && m.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/+-.*".contains(&b))
            })
    };
    if list.is_empty() || list.len() > MAX_MODES || !list.iter().all(valid) {
        return Err(A2aProfileError::Modes(field));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> A2aProfile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_and_checks() {
        let p = profile(r#"{"url": "https://agents.example.com/a2a"}"#);
        assert_eq!(p.protocol_binding, "JSONRPC");
        assert_eq!(p.protocol_version, "1.0");
        assert_eq!(p.input_modes, ["text/plain"]);
        assert_eq!(p.validate(), Ok(()));

        for (json, err) in [
            (r#"{"url": "ftp://x.example"}"#, A2aProfileError::Url("url")),
            (
                r#"{"url": "https://u:p@x.example"}"#,
                A2aProfileError::Url("url"),
            ),
            (r#"{"url": "not a url"}"#, A2aProfileError::Url("url")),
            (
                r#"{"url": "https://x.example", "protocol_binding": "SOAP"}"#,
                A2aProfileError::Binding,
            ),
            (
                r#"{"url": "https://x.example", "input_modes": []}"#,
                A2aProfileError::Modes("input_modes"),
            ),
            (
                r#"{"url": "https://x.example", "output_modes": ["text"]}"#,
                A2aProfileError::Modes("output_modes"),
            ),
            (
                r#"{"url": "https://x.example", "provider": {"organization": "Acme", "url": "acme"}}"#,
                A2aProfileError::Url("provider.url"),
            ),
            (
                r#"{"url": "https://x.example", "description": " "}"#,
                A2aProfileError::Text {
                    field: "description",
                    max: MAX_DESCRIPTION,
                },
            ),
        ] {
            assert_eq!(profile(json).validate(), Err(err), "{json}");
        }
        assert!(serde_json::from_str::<A2aProfile>(r#"{"url": "https://x", "extra": 1}"#).is_err());
    }
}
