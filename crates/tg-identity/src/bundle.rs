//! Trust bundles: per trust domain, the X.509 authorities and JWT-SVID signing keys that
//! attestations are verified against (SPIFFE Trust Domain and Bundle).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::BundleSummary;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use serde_json::Value;

/// A JWT-SVID signing key of a trust domain.
#[derive(Debug, Clone)]
pub struct JwtAuthority {
    pub kid: String,
    pub(crate) jwk: josekit::jwk::Jwk,
}

/// One trust domain's bundle.
#[derive(Debug, Clone, Default)]
pub struct TrustBundle {
    pub trust_domain: String,
    pub(crate) x509_authorities: Vec<CertificateDer<'static>>,
    pub(crate) anchors: Vec<TrustAnchor<'static>>,
    pub(crate) jwt_authorities: Vec<JwtAuthority>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("trust domain `{0}` is not a valid trust domain name")]
    TrustDomain(String),
    #[error("no certificate found in the PEM bundle")]
    NoCertificates,
    #[error("certificate {index} of the bundle cannot be a trust anchor: {reason}")]
    BadAuthority { index: usize, reason: String },
    #[error("the SPIFFE bundle is not valid JSON with a `keys` array: {0}")]
    BadJwks(String),
    #[error("key {index} of the SPIFFE bundle: {reason}")]
    BadKey { index: usize, reason: String },
}

/// What a SPIFFE bundle (JWK Set) added: authorities by use, and the keys left out, with
/// why (to log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwksLoad {
    pub x509: usize,
    pub jwt: usize,
    pub skipped: Vec<String>,
}

impl TrustBundle {
    pub fn new(trust_domain: &str) -> Result<Self, BundleError> {
        crate::SpiffeId::parse(&format!("spiffe://{trust_domain}"))
            .map_err(|_| BundleError::TrustDomain(trust_domain.to_owned()))?;
        Ok(Self {
            trust_domain: trust_domain.to_owned(),
            ..Self::default()
        })
    }

    fn add_authority(
        &mut self,
        index: usize,
        der: CertificateDer<'static>,
    ) -> Result<(), BundleError> {
        let anchor = webpki::anchor_from_trusted_cert(&der)
            .map_err(|e| BundleError::BadAuthority {
                index,
                reason: format!("{e:?}"),
            })?
            .to_owned();
        self.anchors.push(anchor);
        self.x509_authorities.push(der);
        Ok(())
    }

    /// Adds every `CERTIFICATE` block of a PEM file as an X.509 authority.
    pub fn add_x509_pem(&mut self, pem: &[u8]) -> Result<usize, BundleError> {
        let mut n = 0;
        for (index, der) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let der = der.map_err(|e| BundleError::BadAuthority {
                index,
                reason: e.to_string(),
            })?;
            self.add_authority(index, der)?;
            n += 1;
        }
        if n == 0 {
            return Err(BundleError::NoCertificates);
        }
        Ok(n)
    }

    /// Adds the keys of a SPIFFE bundle (a JWK Set): `use: "x509-svid"` keys contribute
    /// their `x5c[0]` certificate as an X.509 authority, `use: "jwt-svid"` keys (a `kid` is
    /// required) verify JWT-SVIDs. Keys of any other use are refused.
    pub fn add_spiffe_jwks(&mut self, json: &[u8]) -> Result<JwksLoad, BundleError> {
        let doc: Value =
            serde_json::from_slice(json).map_err(|e| BundleError::BadJwks(e.to_string()))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| BundleError::BadJwks("no `keys` array".into()))?;
        let mut load = JwksLoad::default();
        for (index, key) in keys.iter().enumerate() {
            let bad = |reason: &str| BundleError::BadKey {
                index,
                reason: reason.to_owned(),
            };
            match key.get("use").and_then(Value::as_str) {
                Some("x509-svid") => {
                    let b64 = key
                        .get("x5c")
                        .and_then(Value::as_array)
                        .and_then(|a| a.first())
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("`x509-svid` key without `x5c`"))?;
                    let der = STANDARD
                        .decode(b64)
                        .map_err(|_| bad("`x5c` is not base64"))?;
                    self.add_authority(index, CertificateDer::from(der))?;
                    load.x509 += 1;
                }
                Some("jwt-svid") => {
                    let kid = key
                        .get("kid")
                        .and_then(Value::as_str)
                        .filter(|k| !k.is_empty())
                        .ok_or_else(|| bad("`jwt-svid` key without `kid`"))?
                        .to_owned();
                    let mut map = key
                        .as_object()
                        .cloned()
                        .ok_or_else(|| bad("key is not an object"))?;
                    // `use: jwt-svid` is the SPIFFE bundle's; to JOSE the key is a signature key.
                    map.remove("use");
                    let jwk = josekit::jwk::Jwk::from_map(map).map_err(|e| bad(&e.to_string()))?;
                    if jwk.key_type() != "RSA" && jwk.key_type() != "EC" {
                        // A key type JWT-SVIDs cannot be verified with here (e.g. OKP
                        // Ed25519): the bundle's other keys still count, as go-spiffe
                        // loads such bundles.
                        load.skipped.push(format!(
                            "key {index} (`{kid}`): `kty` {} cannot verify JWT-SVIDs (RSA or EC only)",
                            jwk.key_type()
                        ));
                        continue;
                    }
                    self.jwt_authorities.push(JwtAuthority { kid, jwk });
                    load.jwt += 1;
                }
                _ => return Err(bad("`use` must be `x509-svid` or `jwt-svid`")),
            }
        }
        Ok(load)
    }

    pub fn summary(&self) -> BundleSummary {
        BundleSummary {
            trust_domain: self.trust_domain.clone(),
            x509_authorities: self.x509_authorities.len(),
            jwt_authorities: self.jwt_authorities.iter().map(|k| k.kid.clone()).collect(),
        }
    }

    pub(crate) fn jwt_key(&self, kid: &str) -> Option<&JwtAuthority> {
        self.jwt_authorities.iter().find(|k| k.kid == kid)
    }
}

/// Every configured bundle, by trust domain.
#[derive(Debug, Clone, Default)]
pub struct TrustBundles {
    by_domain: BTreeMap<String, Arc<TrustBundle>>,
}

impl TrustBundles {
    pub fn new(bundles: impl IntoIterator<Item = TrustBundle>) -> Self {
        Self {
            by_domain: bundles
                .into_iter()
                .map(|b| (b.trust_domain.clone(), Arc::new(b)))
                .collect(),
        }
    }

    pub fn get(&self, trust_domain: &str) -> Option<&Arc<TrustBundle>> {
        self.by_domain.get(trust_domain)
    }

    pub fn summaries(&self) -> Vec<BundleSummary> {
        self.by_domain.values().map(|b| b.summary()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }
}
