use std::fmt;

/// A SPIFFE ID, parsed strictly per the SPIFFE-ID standard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    trust_domain: String,
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiffeIdError {
    #[error("SPIFFE ID is empty")]
    Empty,
    #[error("SPIFFE ID exceeds 2048 bytes")]
    TooLong,
    #[error("SPIFFE ID must start with `spiffe://` (lowercase scheme)")]
    WrongScheme,
    #[error("SPIFFE ID has no trust domain")]
    MissingTrustDomain,
    #[error("trust domain exceeds 255 bytes")]
    TrustDomainTooLong,
    #[error(
        "trust domain may contain only lowercase letters, digits, `.`, `-` and `_` (no port, userinfo or uppercase)"
    )]
    BadTrustDomainChar,
    #[error(
        "path segments may contain only letters, digits, `.`, `-` and `_` (no percent-encoding, query or fragment)"
    )]
    BadPathChar,
    #[error("path has an empty segment or a trailing `/`")]
    EmptySegment,
    #[error("path segments `.` and `..` are not allowed")]
    DotSegment,
}

const MAX_LEN: usize = 2048;
const MAX_TRUST_DOMAIN_LEN: usize = 255;

impl SpiffeId {
    pub fn parse(input: &str) -> Result<Self, SpiffeIdError> {
        if input.is_empty() {
            return Err(SpiffeIdError::Empty);
        }
        if input.len() > MAX_LEN {
            return Err(SpiffeIdError::TooLong);
        }
        let rest = input
            .strip_prefix("spiffe://")
            .ok_or(SpiffeIdError::WrongScheme)?;
        let (trust_domain, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if trust_domain.is_empty() {
            return Err(SpiffeIdError::MissingTrustDomain);
        }
        if trust_domain.len() > MAX_TRUST_DOMAIN_LEN {
            return Err(SpiffeIdError::TrustDomainTooLong);
        }
        if !trust_domain.bytes().all(is_trust_domain_char) {
            return Err(SpiffeIdError::BadTrustDomainChar);
        }
        if !path.is_empty() {
            // `path` starts with '/': skip the leading empty piece.
            for segment in path.split('/').skip(1) {
                if segment.is_empty() {
                    return Err(SpiffeIdError::EmptySegment);
                }
                if segment == "." || segment == ".." {
                    return Err(SpiffeIdError::DotSegment);
                }
                if !segment.bytes().all(is_path_char) {
                    return Err(SpiffeIdError::BadPathChar);
                }
            }
        }
        Ok(Self {
            trust_domain: trust_domain.to_owned(),
            path: path.to_owned(),
        })
    }

    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// The path including its leading `/`, or empty.
    pub fn path(&self) -> &str {
        &self.path
    }
}

fn is_trust_domain_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
}

fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}{}", self.trust_domain, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::SpiffeIdError as E;
    use super::*;

    fn check(input: &str, expected: Result<(&str, &str), E>) {
        let got = SpiffeId::parse(input);
        let got = got
            .as_ref()
            .map(|id| (id.trust_domain(), id.path()))
            .map_err(Clone::clone);
        assert_eq!(got, expected, "{input:?}");
        if let Ok(id) = SpiffeId::parse(input) {
            assert_eq!(id.to_string(), input, "round trip");
        }
    }

    #[test]
    fn valid_ids() {
        check("spiffe://example.org", Ok(("example.org", "")));
        check(
            "spiffe://example.org/agent/email-bot",
            Ok(("example.org", "/agent/email-bot")),
        );
        check("spiffe://a-b_c.9/A.b-C_9", Ok(("a-b_c.9", "/A.b-C_9")));
        check(
            "spiffe://example.org/..a/b..",
            Ok(("example.org", "/..a/b..")),
        );
        check(
            &format!("spiffe://{}", "a".repeat(255)),
            Ok((&"a".repeat(255), "")),
        );
    }

    #[test]
    fn scheme_rules() {
        check("", Err(E::Empty));
        check("SPIFFE://example.org", Err(E::WrongScheme));
        check("Spiffe://example.org", Err(E::WrongScheme));
        check("https://example.org/x", Err(E::WrongScheme));
        check("spiffe:/example.org", Err(E::WrongScheme));
        check("spiffe//example.org", Err(E::WrongScheme));
        check("example.org/x", Err(E::WrongScheme));
    }

    #[test]
    fn trust_domain_rules() {
        check("spiffe://", Err(E::MissingTrustDomain));
        check("spiffe:///path", Err(E::MissingTrustDomain));
        check("spiffe://Example.org", Err(E::BadTrustDomainChar));
        check("spiffe://example.org:8080/x", Err(E::BadTrustDomainChar));
        check("spiffe://user@example.org/x", Err(E::BadTrustDomainChar));
        check("spiffe://user:pw@example.org", Err(E::BadTrustDomainChar));
        check("spiffe://exa%41mple.org", Err(E::BadTrustDomainChar));
        check("spiffe://example.org?x=1", Err(E::BadTrustDomainChar));
        check("spiffe://example.org#frag", Err(E::BadTrustDomainChar));
        check("spiffe://exämple.org", Err(E::BadTrustDomainChar));
        check(
            &format!("spiffe://{}", "a".repeat(256)),
            Err(E::TrustDomainTooLong),
        );
    }

    #[test]
    fn path_rules() {
        check("spiffe://example.org/", Err(E::EmptySegment));
        check("spiffe://example.org/a/", Err(E::EmptySegment));
        check("spiffe://example.org//a", Err(E::EmptySegment));
        check("spiffe://example.org/a//b", Err(E::EmptySegment));
        check("spiffe://example.org/.", Err(E::DotSegment));
        check("spiffe://example.org/a/..", Err(E::DotSegment));
        check("spiffe://example.org/./a", Err(E::DotSegment));
        check("spiffe://example.org/a%20b", Err(E::BadPathChar));
        check("spiffe://example.org/a?b=c", Err(E::BadPathChar));
        check("spiffe://example.org/a#b", Err(E::BadPathChar));
        check("spiffe://example.org/a b", Err(E::BadPathChar));
        check("spiffe://example.org/a:b", Err(E::BadPathChar));
        check("spiffe://example.org/a@b", Err(E::BadPathChar));
        check("spiffe://example.org/ä", Err(E::BadPathChar));
    }

    #[test]
    fn length_limit() {
        let just = format!(
            "spiffe://example.org/{}",
            "a".repeat(2048 - "spiffe://example.org/".len())
        );
        assert_eq!(just.len(), 2048);
        assert!(SpiffeId::parse(&just).is_ok());
        check(&format!("{just}a"), Err(E::TooLong));
    }
}
