use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tg_core::Timestamp;

/// Joy §2.3 verification levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VerificationLevel {
    Unverified = 0,
    Claimed = 1,
    Verified = 2,
    Certified = 3,
}

impl VerificationLevel {
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    pub fn from_u8(n: u8) -> Option<Self> {
        match n {
            0 => Some(Self::Unverified),
            1 => Some(Self::Claimed),
            2 => Some(Self::Verified),
            3 => Some(Self::Certified),
            _ => None,
        }
    }
}

impl Serialize for VerificationLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.as_u8())
    }
}

impl<'de> Deserialize<'de> for VerificationLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        Self::from_u8(n).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Unsigned(n.into()), &"0 to 3")
        })
    }
}

/// What a registration presents to prove who the agent is (V2 `attestation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Attestation {
    /// An X509-SVID leaf and its chain, PEM. It counts (level 3, `certified`, pre-trust,
    /// and a hold on the SPIFFE ID) only with proof of possession: `nonce` from
    /// `POST /attestation/nonce` and `signature`, base64 of the leaf key's signature over
    /// the nonce's UTF-8 bytes. Without them the certificate is checked and then counts as
    /// no more than a self-declared claim.
    X509 {
        certificate: String,
        #[serde(default)]
        chain: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// A JWT-SVID, compact JWS.
    Jwt { token: String },
    /// The registering API key's owner vouches for the agent.
    ApiKey,
    /// Nothing is verified.
    SelfDeclared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// Whether evidence of this kind proves the SPIFFE ID it names: a JWT-SVID (a bearer
    /// credential audience-bound to this gateway) or an X509-SVID — which only counts as
    /// `X509` with proof of possession of its key. Only a holder blocks another
    /// registration of the same ID.
    pub fn holds_spiffe_id(self) -> bool {
        matches!(self, AttestationType::X509 | AttestationType::Jwt)
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
    /// The gateway nonce an X509 attestation's proof of possession answers.
    pub fn nonce(&self) -> Option<&str> {
        match self {
            Attestation::X509 { nonce, .. } => nonce.as_deref(),
            _ => None,
        }
    }

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
    /// When the evidence stops counting (the SVID's expiry); `None` for declared kinds.
    pub expires_at: Option<Timestamp>,
}

impl VerifiedAttestation {
    /// See [`AttestationType::holds_spiffe_id`].
    pub fn holds_spiffe_id(&self) -> bool {
        self.kind.holds_spiffe_id()
    }
}

#[cfg(feature = "verify")]
impl VerifiedAttestation {
    pub(crate) fn of(kind: AttestationType, expires_at: Option<Timestamp>) -> Self {
        Self {
            kind,
            strength: kind.strength(),
            level: kind.level(),
            expires_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    #[error("`{0}` attestation requires a `spiffe_id`")]
    SpiffeIdRequired(&'static str),
    #[error("no trust bundle configured for trust domain `{0}`")]
    NoTrustBundle(String),
    #[error("X509-SVID refused: {0}")]
    X509(String),
    #[error("JWT-SVID refused: {0}")]
    Jwt(String),
}
