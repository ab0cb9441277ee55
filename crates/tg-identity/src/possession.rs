//! Proof of possession of an X509-SVID's key: the registrant signs a single-use gateway
//! nonce with the key of the SVID's leaf certificate. A certificate alone is public; only
//! its key holder can answer the nonce.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use tg_core::{AccountId, StoreError, Timestamp};

use crate::AttestationError;

/// How long a nonce may be answered.
pub const NONCE_TTL_SECS: i64 = 120;

/// Most unanswered, unexpired nonces one account may hold.
pub const MAX_PENDING_NONCES: u64 = 100;

/// What the signature may be: ECDSA with SHA-256 (DER, on P-256 or P-384), RSA PKCS#1 v1.5
/// or PSS with SHA-256, or Ed25519 — the key's own type decides which can verify.
const ALGORITHMS: [&dyn SignatureVerificationAlgorithm; 5] = [
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::ED25519,
];

/// A nonce the gateway issued to an account for one X509-SVID registration or
/// re-attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationNonce {
    pub nonce: String,
    pub account_id: AccountId,
    pub expires_at: Timestamp,
}

impl AttestationNonce {
    pub fn issue(account_id: AccountId, now: Timestamp) -> Self {
        Self {
            nonce: tg_core::random_hex::<32>(),
            account_id,
            expires_at: now.plus_secs(NONCE_TTL_SECS),
        }
    }
}

/// Storage of attestation nonces: single use across instances.
///
/// - `purge_nonces`: deletes the account's expired nonces.
/// - `pending_nonces`: the account's unexpired nonces.
/// - `take_nonce`: deletes and returns the nonce if it exists, belongs to `account` and has
///   not expired at `now`; `Ok(false)` otherwise (an expired one is deleted too). A nonce
///   is taken at most once, whatever the concurrency.
#[async_trait::async_trait]
pub trait NonceStore: Send {
    async fn insert_nonce(&mut self, nonce: &AttestationNonce) -> Result<(), StoreError>;
    async fn purge_nonces(&mut self, account: &AccountId, now: Timestamp)
    -> Result<(), StoreError>;
    async fn pending_nonces(&mut self, account: &AccountId) -> Result<u64, StoreError>;
    async fn take_nonce(
        &mut self,
        nonce: &str,
        account: &AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Checks that `signature` (base64 or base64url) over the UTF-8 bytes of `nonce` verifies
/// with the public key of the leaf in `certificate` (PEM). The leaf's path to the bundle
/// is checked elsewhere ([`crate::verify_x509_svid`]); this checks possession only.
pub fn verify_possession(
    certificate: &str,
    nonce: &str,
    signature: &str,
) -> Result<(), AttestationError> {
    let refuse = |why: &str| AttestationError::X509(format!("proof of possession refused: {why}"));
    let leaf = CertificateDer::pem_slice_iter(certificate.as_bytes())
        .next()
        .ok_or_else(|| refuse("`certificate` holds no certificate"))?
        .map_err(|_| refuse("`certificate` is not valid PEM"))?;
    let signature = signature.trim();
    let signature = STANDARD
        .decode(signature)
        .or_else(|_| URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')))
        .map_err(|_| refuse("`signature` is not base64"))?;
    if signature.is_empty() || signature.len() > 1024 {
        return Err(refuse("`signature` must be 1–1024 bytes"));
    }
    let end_entity = webpki::EndEntityCert::try_from(&leaf)
        .map_err(|_| refuse("the leaf certificate is malformed"))?;
    let verified = ALGORITHMS.iter().any(|alg| {
        end_entity
            .verify_signature(*alg, nonce.as_bytes(), &signature)
            .is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(refuse(
            "`signature` does not verify over the nonce with the leaf certificate's key (ECDSA SHA-256 DER, RSA PKCS#1 v1.5 or PSS SHA-256, or Ed25519)",
        ))
    }
}
