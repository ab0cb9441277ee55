//! The checks an A2A profile passes before the gateway stores it (the `verify` feature:
//! URLs are parsed by `url`).

use crate::{A2aProfile, A2aProfileError};

/// The transports A2A v1.0 defines.
const PROTOCOL_BINDINGS: [&str; 3] = ["JSONRPC", "GRPC", "HTTP+JSON"];
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 1000;
const MAX_SHORT: usize = 64;
const MAX_MODES: usize = 16;

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
