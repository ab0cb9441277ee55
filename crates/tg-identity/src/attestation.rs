use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tg_core::Timestamp;

use crate::{SpiffeId, TrustBundle, TrustBundles, VerificationLevel};

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

impl VerifiedAttestation {
    fn of(kind: AttestationType, expires_at: Option<Timestamp>) -> Self {
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

/// Most cached X509-SVID verifications (the cache is emptied when full).
const X509_CACHE_ENTRIES: usize = 4096;

/// SHA-256 over the SPIFFE ID, the leaf and the chain, length-prefixed.
fn x509_fingerprint(id: &SpiffeId, certificate: &str, chain: &[String]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let id = id.to_string();
    for part in std::iter::once(id.as_str())
        .chain(std::iter::once(certificate))
        .chain(chain.iter().map(String::as_str))
    {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Verifies attestations against the configured trust bundles, which can be replaced at
/// any time (reload) without disturbing verifications in flight.
#[derive(Debug)]
pub struct AttestationVerifier {
    bundles: RwLock<Arc<TrustBundles>>,
    /// Successful X509-SVID verifications: SHA-256(id, leaf, chain) → valid until.
    /// Cleared when the bundles change; bounded.
    x509_cache: Mutex<HashMap<[u8; 32], Timestamp>>,
    audience: String,
    leeway_secs: i64,
}

impl AttestationVerifier {
    /// `audience` is what JWT-SVIDs must carry in `aud`.
    pub fn new(bundles: TrustBundles, audience: &str) -> Self {
        Self {
            bundles: RwLock::new(Arc::new(bundles)),
            x509_cache: Mutex::new(HashMap::new()),
            audience: audience.to_owned(),
            leeway_secs: 30,
        }
    }

    pub fn bundles(&self) -> Arc<TrustBundles> {
        match self.bundles.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    pub fn replace_bundles(&self, bundles: TrustBundles) {
        let new = Arc::new(bundles);
        match self.bundles.write() {
            Ok(mut g) => *g = new,
            Err(p) => *p.into_inner() = new,
        }
        self.cache().clear();
    }

    pub fn verify(
        &self,
        spiffe_id: Option<&SpiffeId>,
        attestation: &Attestation,
        now: Timestamp,
    ) -> Result<VerifiedAttestation, AttestationError> {
        let kind = attestation.kind();
        match attestation {
            Attestation::SelfDeclared | Attestation::ApiKey => {
                Ok(VerifiedAttestation::of(kind, None))
            }
            Attestation::X509 {
                certificate,
                chain,
                nonce,
                signature,
            } => {
                let id = spiffe_id.ok_or(AttestationError::SpiffeIdRequired(kind.as_str()))?;
                let expires = self.x509_path(id, certificate, chain, now)?;
                match (nonce, signature) {
                    (Some(nonce), Some(signature)) => {
                        crate::verify_possession(certificate, nonce, signature)?;
                        Ok(VerifiedAttestation::of(kind, Some(expires)))
                    }
                    // A certificate is public: without its key's answer it proves nothing.
                    (None, None) => {
                        Ok(VerifiedAttestation::of(AttestationType::SelfDeclared, None))
                    }
                    _ => Err(AttestationError::X509(
                        "give both `nonce` and `signature` (proof of possession), or neither"
                            .into(),
                    )),
                }
            }
            Attestation::Jwt { token } => {
                let id = spiffe_id.ok_or(AttestationError::SpiffeIdRequired(kind.as_str()))?;
                let bundle = self.bundle(id)?;
                if bundle.jwt_authorities.is_empty() {
                    return Err(AttestationError::NoTrustBundle(
                        id.trust_domain().to_owned(),
                    ));
                }
                let expires = crate::jwt_svid::verify_jwt_svid(
                    &bundle,
                    id,
                    token,
                    &self.audience,
                    self.leeway_secs,
                    now,
                )?;
                Ok(VerifiedAttestation::of(kind, Some(expires)))
            }
        }
    }

    /// The X509-SVID's path to the bundle (cached by fingerprint until it expires).
    fn x509_path(
        &self,
        id: &SpiffeId,
        certificate: &str,
        chain: &[String],
        now: Timestamp,
    ) -> Result<Timestamp, AttestationError> {
        let fingerprint = x509_fingerprint(id, certificate, chain);
        if let Some(expires) = self.cache().get(&fingerprint).copied().filter(|e| now < *e) {
            return Ok(expires);
        }
        let bundle = self.bundle(id)?;
        let expires = crate::x509::verify_x509_svid(&bundle, id, certificate, chain, now)?;
        let mut cache = self.cache();
        if cache.len() >= X509_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(fingerprint, expires);
        Ok(expires)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Timestamp>> {
        match self.x509_cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn bundle(&self, id: &SpiffeId) -> Result<Arc<TrustBundle>, AttestationError> {
        self.bundles()
            .get(id.trust_domain())
            .cloned()
            .ok_or_else(|| AttestationError::NoTrustBundle(id.trust_domain().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::UNIX_EPOCH;

    #[test]
    fn declared_kinds_carry_their_strength_and_level() {
        let v = AttestationVerifier::new(TrustBundles::default(), "trust-gateway");
        let ok = v.verify(None, &Attestation::SelfDeclared, NOW);
        assert_eq!(
            ok.map(|a| (a.strength, a.level, a.expires_at)),
            Ok((0.3, VerificationLevel::Unverified, None))
        );
        let ok = v.verify(None, &Attestation::ApiKey, NOW);
        assert_eq!(
            ok.map(|a| (a.strength, a.level)),
            Ok((0.6, VerificationLevel::Claimed))
        );
    }

    #[test]
    fn svids_are_never_accepted_without_a_bundle() {
        let v = AttestationVerifier::new(TrustBundles::default(), "trust-gateway");
        let id = SpiffeId::parse("spiffe://example.org/agent/a").ok();
        let x509 = Attestation::X509 {
            certificate: "-----BEGIN CERTIFICATE-----".into(),
            chain: vec![],
            nonce: None,
            signature: None,
        };
        assert_eq!(
            v.verify(id.as_ref(), &x509, NOW),
            Err(AttestationError::NoTrustBundle("example.org".into()))
        );
        let jwt = Attestation::Jwt {
            token: "a.b.c".into(),
        };
        assert_eq!(
            v.verify(id.as_ref(), &jwt, NOW),
            Err(AttestationError::NoTrustBundle("example.org".into()))
        );
        assert_eq!(
            v.verify(None, &jwt, NOW),
            Err(AttestationError::SpiffeIdRequired("jwt"))
        );
    }
}
