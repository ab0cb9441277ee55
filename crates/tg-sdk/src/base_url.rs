//! The gateway's base URL and the URLs of its endpoints. `http::Uri` parses the base; each
//! path segment is percent-encoded on its own, so an id never adds, removes or climbs a
//! segment.

use http::Uri;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::Error;

/// What a path segment carries percent-encoded: all but RFC 3986's `pchar` (unreserved,
/// sub-delims, `:` and `@`) and `.`, which is encoded only where it would make a dot
/// segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// An `http://` or `https://` base: scheme, authority and path prefix, without query,
/// fragment or credentials.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    /// `scheme://authority` followed by the path prefix without its trailing `/`.
    prefix: String,
    tls: bool,
}

impl BaseUrl {
    /// Parses `raw`. A host must be ASCII: an internationalised name is given in its
    /// `xn--` form.
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::InvalidRequest(format!("base URL `{raw}`: {why}"));
        let uri: Uri = raw
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(invalid("must be http:// or https://")),
        };
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(|| invalid("names no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "must not carry credentials (send the API key instead)",
            ));
        }
        let scheme = if tls { "https" } else { "http" };
        let path = uri.path().trim_end_matches('/');
        Ok(Self {
            prefix: format!("{scheme}://{authority}{path}"),
            tls,
        })
    }

    /// Whether the gateway is reached over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls
    }

    /// The base, as the client addresses it (no trailing `/`).
    pub(crate) fn as_str(&self) -> &str {
        &self.prefix
    }

    /// The base followed by `segments`, each percent-encoded as one path segment.
    pub(crate) fn join(&self, segments: &[&str]) -> String {
        let mut url = self.prefix.clone();
        for segment in segments {
            url.push('/');
            match *segment {
                // A dot segment would be resolved away by the server or a proxy.
                "." => url.push_str("%2E"),
                ".." => url.push_str("%2E%2E"),
                s => url.extend(utf8_percent_encode(s, SEGMENT)),
            }
        }
        url
    }

    /// [`Self::join`] with the scheme `ws` for `http`, `wss` for `https`.
    #[cfg(any(feature = "live", test))]
    pub(crate) fn websocket(&self, segments: &[&str]) -> String {
        let url = self.join(segments);
        // The prefix starts with `http` (`http://` or `https://`).
        format!("ws{}", url.get("http".len()..).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(raw: &str) -> BaseUrl {
        BaseUrl::parse(raw).unwrap()
    }

    #[test]
    fn a_base_keeps_scheme_authority_and_path_prefix_only() {
        assert_eq!(
            base("http://127.0.0.1:8002").as_str(),
            "http://127.0.0.1:8002"
        );
        assert_eq!(
            base("http://127.0.0.1:8002/").as_str(),
            "http://127.0.0.1:8002"
        );
        assert_eq!(
            base("HTTPS://gw.example/trust/?x=1").as_str(),
            "https://gw.example/trust"
        );
        assert!(base("https://gw.example").is_tls());
        assert!(!base("http://gw.example").is_tls());
        assert_eq!(
            base("http://[::1]:8002/api").join(&["agents", "a"]),
            "http://[::1]:8002/api/agents/a"
        );
        assert_eq!(
            base("https://gw.example/t").websocket(&["ws", "dashboard"]),
            "wss://gw.example/t/ws/dashboard"
        );
        assert_eq!(
            base("http://gw.example").websocket(&["ws", "dashboard"]),
            "ws://gw.example/ws/dashboard"
        );
    }

    #[test]
    fn bases_that_are_not_http_urls_are_refused_with_the_reason() {
        let refused = |raw: &str| match BaseUrl::parse(raw) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("{raw}: {other:?}"),
        };
        assert!(refused("ftp://gw.example").ends_with("must be http:// or https://"));
        assert!(refused("gw.example:8002").ends_with("must be http:// or https://"));
        assert!(refused("/agents").ends_with("must be http:// or https://"));
        assert!(refused("http://user:pw@gw.example").contains("must not carry credentials"));
        // An internationalised host is given in its `xn--` form (the README says so).
        assert!(refused("http://bücher.example").starts_with("base URL `http://bücher.example`: "));
        assert_eq!(
            base("http://xn--bcher-kva.example").as_str(),
            "http://xn--bcher-kva.example"
        );
        assert!(refused("http://gw example").starts_with("base URL `http://gw example`: "));
        assert!(refused("").starts_with("base URL ``: "));
    }

    #[test]
    fn each_segment_stays_one_segment() {
        let b = base("http://gw.example");
        assert_eq!(
            b.join(&["agents", "a/b?c#d%e f", "trust"]),
            "http://gw.example/agents/a%2Fb%3Fc%23d%25e%20f/trust"
        );
        assert_eq!(b.join(&["agents", ".."]), "http://gw.example/agents/%2E%2E");
        assert_eq!(b.join(&["agents", "."]), "http://gw.example/agents/%2E");
        // Dots inside a segment, sub-delims, `:` and `@` are pchar and stay as they are.
        assert_eq!(
            b.join(&["x", "a..b", "k=v;w!$&'()*+,:@~"]),
            "http://gw.example/x/a..b/k=v;w!$&'()*+,:@~"
        );
        // Non-ASCII is sent as its UTF-8 bytes, encoded.
        assert_eq!(b.join(&["é"]), "http://gw.example/%C3%A9");
        // Every joined URL is one `http::Uri`.
        for s in ["a/b?c#d%e f", "\"<>[\\]^`{|}", "\u{7f}\u{0}", "é"] {
            let joined = b.join(&["agents", s]);
            let uri: Uri = joined.parse().unwrap();
            assert_eq!(uri.path().matches('/').count(), 2, "{joined}");
        }
    }
}
