//! Checking attestations against the configured trust bundles (the `verify` feature).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tg_core::Timestamp;

use crate::{
    Attestation, AttestationError, AttestationType, SpiffeId, TrustBundle, TrustBundles,
    VerifiedAttestation,
};

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
    use crate::VerificationLevel;

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
