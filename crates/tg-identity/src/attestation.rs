use serde::{Deserialize, Serialize};

use crate::{SpiffeId, VerificationLevel};

/// What a registration presents to prove who the agent is (V2 `attestation`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Attestation {
    /// An X509-SVID leaf and its chain, PEM.
    X509 {
        certificate: String,
        #[serde(default)]
        chain: Vec<String>,
    },
    /// A JWT-SVID, compact JWS.
    Jwt { token: String },
    /// The registering API key's owner vouches for the agent.
    ApiKey,
    /// Nothing is verified.
    SelfDeclared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationType {
    X509,
    Jwt,
    ApiKey,
    SelfDeclared,
}

impl AttestationType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationType::X509 => "x509",
            AttestationType::Jwt => "jwt",
            AttestationType::ApiKey => "api_key",
            AttestationType::SelfDeclared => "self_declared",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "x509" => Some(AttestationType::X509),
            "jwt" => Some(AttestationType::Jwt),
            "api_key" => Some(AttestationType::ApiKey),
            "self_declared" => Some(AttestationType::SelfDeclared),
            _ => None,
        }
    }

    /// Identity credit (DESIGN §5).
    pub fn strength(self) -> f64 {
        match self {
            AttestationType::X509 => 1.0,
            AttestationType::Jwt => 0.9,
            AttestationType::ApiKey => 0.6,
            AttestationType::SelfDeclared => 0.3,
        }
    }

    pub fn level(self) -> VerificationLevel {
        match self {
            AttestationType::X509 => VerificationLevel::Certified,
            AttestationType::Jwt => VerificationLevel::Verified,
            AttestationType::ApiKey => VerificationLevel::Claimed,
            AttestationType::SelfDeclared => VerificationLevel::Unverified,
        }
    }
}

impl Attestation {
    pub fn kind(&self) -> AttestationType {
        match self {
            Attestation::X509 { .. } => AttestationType::X509,
            Attestation::Jwt { .. } => AttestationType::Jwt,
            Attestation::ApiKey => AttestationType::ApiKey,
            Attestation::SelfDeclared => AttestationType::SelfDeclared,
        }
    }
}

/// An attestation that passed verification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifiedAttestation {
    pub kind: AttestationType,
    pub strength: f64,
    pub level: VerificationLevel,
}

impl VerifiedAttestation {
    fn of(kind: AttestationType) -> Self {
        Self {
            kind,
            strength: kind.strength(),
            level: kind.level(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    #[error("`{0}` attestation requires a `spiffe_id`")]
    SpiffeIdRequired(&'static str),
    #[error("no trust bundle configured for trust domain `{0}`")]
    NoTrustBundle(String),
}

/// Verifies attestations against the configured trust bundles.
///
/// No trust bundle can be configured yet, so every `x509` and `jwt` attestation is refused
/// with [`AttestationError::NoTrustBundle`]: they are never accepted unverified.
#[derive(Debug, Default, Clone)]
pub struct AttestationVerifier {
    _private: (),
}

impl AttestationVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn verify(
        &self,
        spiffe_id: Option<&SpiffeId>,
        attestation: &Attestation,
    ) -> Result<VerifiedAttestation, AttestationError> {
        match attestation {
            Attestation::SelfDeclared => Ok(VerifiedAttestation::of(AttestationType::SelfDeclared)),
            Attestation::ApiKey => Ok(VerifiedAttestation::of(AttestationType::ApiKey)),
            Attestation::X509 { .. } | Attestation::Jwt { .. } => {
                let kind = attestation.kind();
                let id = spiffe_id.ok_or(AttestationError::SpiffeIdRequired(kind.as_str()))?;
                Err(AttestationError::NoTrustBundle(
                    id.trust_domain().to_owned(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_kinds_carry_their_strength_and_level() {
        let v = AttestationVerifier::new();
        let ok = v.verify(None, &Attestation::SelfDeclared);
        assert_eq!(
            ok.map(|a| (a.strength, a.level)),
            Ok((0.3, VerificationLevel::Unverified))
        );
        let ok = v.verify(None, &Attestation::ApiKey);
        assert_eq!(
            ok.map(|a| (a.strength, a.level)),
            Ok((0.6, VerificationLevel::Claimed))
        );
    }

    #[test]
    fn svids_are_never_accepted_without_a_bundle() {
        let v = AttestationVerifier::new();
        let id = SpiffeId::parse("spiffe://example.org/agent/a").ok();
        let x509 = Attestation::X509 {
            certificate: "-----BEGIN CERTIFICATE-----".into(),
            chain: vec![],
        };
        assert_eq!(
            v.verify(id.as_ref(), &x509),
            Err(AttestationError::NoTrustBundle("example.org".into()))
        );
        let jwt = Attestation::Jwt {
            token: "a.b.c".into(),
        };
        assert_eq!(
            v.verify(id.as_ref(), &jwt),
            Err(AttestationError::NoTrustBundle("example.org".into()))
        );
        assert_eq!(
            v.verify(None, &jwt),
            Err(AttestationError::SpiffeIdRequired("jwt"))
        );
    }
}
