//! Ed25519 keys and proof of possession (Joy §2.2, DESIGN §14).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{ED25519, UnparsedPublicKey};
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use tg_core::{AgentId, StoreError, Timestamp};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Domain separation of the challenge message.
pub const CHALLENGE_PREFIX: &[u8] = b"trust-gateway/ed25519-challenge/v1\0";

/// How long a challenge may be answered.
pub const CHALLENGE_TTL_SECS: i64 = 120;

/// Most unanswered, unexpired challenges per agent.
pub const MAX_PENDING: u64 = 5;

const ED25519_OID: &str = "1.3.101.112";

/// A validated Ed25519 public key: its PEM (as given, normalised) and raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519Key {
    pub pem: String,
    raw: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("`key_algorithm` must be `Ed25519`")]
    Algorithm,
    #[error("`public_key` is not a PEM `PUBLIC KEY` (SubjectPublicKeyInfo)")]
    Pem,
    #[error("`public_key` is not an Ed25519 key")]
    NotEd25519,
    #[error("`public_key` is not a canonical encoding of an Ed25519 curve point")]
    NotOnCurve,
    #[error("`public_key` is a small-order Ed25519 point: signatures under it prove nothing")]
    SmallOrder,
    #[error("the signature is not base64 of 64 bytes")]
    SignatureEncoding,
    #[error("the signature does not verify with the agent's key")]
    BadSignature,
}

impl Ed25519Key {
    pub fn parse(pem: &str, algorithm: &str) -> Result<Self, KeyError> {
        if algorithm != "Ed25519" {
            return Err(KeyError::Algorithm);
        }
        let der =
            SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|_| KeyError::Pem)?;
        let (rest, spki) =
            SubjectPublicKeyInfo::from_der(der.as_ref()).map_err(|_| KeyError::Pem)?;
        if !rest.is_empty() {
            return Err(KeyError::Pem);
        }
        if spki.algorithm.algorithm.to_id_string() != ED25519_OID
            || spki.algorithm.parameters.is_some()
        {
            return Err(KeyError::NotEd25519);
        }
        let raw: [u8; 32] = spki
            .subject_public_key
            .data
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::NotEd25519)?;
        check_point(&raw)?;
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        Ok(Self { pem, raw })
    }

    /// The 32-byte public key (RFC 8032 encoding): what a JWK's `x` carries (RFC 8037).
    pub fn raw(&self) -> &[u8; 32] {
        &self.raw
    }

    /// Verifies a signature (base64 or base64url, 64 bytes) over the challenge message.
    pub fn verify_challenge(
        &self,
        agent: &AgentId,
        nonce: &str,
        signature: &str,
    ) -> Result<(), KeyError> {
        self.verify(&challenge_message(agent, nonce), signature)
    }

    /// Verifies a signature (base64 or base64url, 64 bytes) over `message`. ring refuses
    /// non-canonical signatures (`S` not reduced mod ℓ).
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<(), KeyError> {
        let sig = STANDARD
            .decode(signature.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(signature.trim().trim_end_matches('=')))
            .map_err(|_| KeyError::SignatureEncoding)?;
        if sig.len() != 64 {
            return Err(KeyError::SignatureEncoding);
        }
        UnparsedPublicKey::new(&ED25519, &self.raw)
            .verify(message, &sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

/// RFC 8032 §5.1.3 decoding, strictly: the encoding must decode to a curve point and be
/// that point's canonical encoding (`y < p`, no sign bit on `x = 0`), and the point must
/// not be of small order (the identity and the other torsion points, under which any
/// message "verifies" with a crafted signature).
fn check_point(raw: &[u8; 32]) -> Result<(), KeyError> {
    let point = curve25519_dalek::edwards::CompressedEdwardsY(*raw)
        .decompress()
        .ok_or(KeyError::NotOnCurve)?;
    if point.compress().as_bytes() != raw {
        return Err(KeyError::NotOnCurve);
    }
    if point.is_small_order() {
        return Err(KeyError::SmallOrder);
    }
    Ok(())
}

/// `"trust-gateway/ed25519-challenge/v1\0" ‖ agent_id ‖ nonce` — what the agent signs.
pub fn challenge_message(agent: &AgentId, nonce: &str) -> Vec<u8> {
    let mut m = CHALLENGE_PREFIX.to_vec();
    m.extend_from_slice(agent.as_str().as_bytes());
    m.extend_from_slice(nonce.as_bytes());
    m
}

/// A pending challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub agent_id: AgentId,
    pub nonce: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Challenge {
    pub fn issue(agent_id: AgentId, now: Timestamp) -> Self {
        Self {
            agent_id,
            nonce: tg_core::random_hex::<32>(),
            created_at: now,
            expires_at: now.plus_secs(CHALLENGE_TTL_SECS),
        }
    }
}

/// Storage of challenges.
///
/// - `purge_challenges` deletes the agent's challenges expired at `now`, then
///   `pending_challenges` counts what is left.
/// - `take_challenge` deletes and returns the challenge (single use: a second take of the
///   same nonce, from any instance, returns `None`).
#[async_trait::async_trait]
pub trait ChallengeStore: Send {
    async fn insert_challenge(&mut self, c: &Challenge) -> Result<(), StoreError>;
    async fn purge_challenges(&mut self, agent: &AgentId, now: Timestamp)
    -> Result<(), StoreError>;
    async fn pending_challenges(&mut self, agent: &AgentId) -> Result<u64, StoreError>;
    async fn take_challenge(
        &mut self,
        agent: &AgentId,
        nonce: &str,
    ) -> Result<Option<Challenge>, StoreError>;
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    use super::*;

    fn pair() -> (Ed25519KeyPair, String) {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap_or_else(|_| unreachable!());
        let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap_or_else(|_| unreachable!());
        // SPKI = SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING key }
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(kp.public_key().as_ref());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(spki)
        );
        (kp, pem)
    }

    #[test]
    fn proof_of_possession() {
        let (kp, pem) = pair();
        let key = Ed25519Key::parse(&pem, "Ed25519").unwrap_or_else(|e| unreachable!("{e}"));
        let agent = AgentId::generate();
        let nonce = "ab".repeat(32);
        let sig = kp.sign(&challenge_message(&agent, &nonce));
        assert_eq!(
            key.verify_challenge(&agent, &nonce, &STANDARD.encode(sig.as_ref())),
            Ok(())
        );
        assert_eq!(
            key.verify_challenge(&agent, &nonce, &URL_SAFE_NO_PAD.encode(sig.as_ref())),
            Ok(())
        );
        // Another nonce, another agent, another key, a truncated or non-canonical signature.
        assert_eq!(
            key.verify_challenge(&agent, &"cd".repeat(32), &STANDARD.encode(sig.as_ref())),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            key.verify_challenge(&AgentId::generate(), &nonce, &STANDARD.encode(sig.as_ref())),
            Err(KeyError::BadSignature)
        );
        let (other, _) = pair();
        let forged = other.sign(&challenge_message(&agent, &nonce));
        assert_eq!(
            key.verify_challenge(&agent, &nonce, &STANDARD.encode(forged.as_ref())),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            key.verify_challenge(&agent, &nonce, &STANDARD.encode(&sig.as_ref()[..63])),
            Err(KeyError::SignatureEncoding)
        );
        let mut non_canonical = sig.as_ref().to_vec();
        // S + ℓ: same value mod ℓ, not reduced — must be refused.
        add_group_order(&mut non_canonical[32..]);
        assert_eq!(
            key.verify_challenge(&agent, &nonce, &STANDARD.encode(&non_canonical)),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            key.verify_challenge(&agent, &nonce, "%%%"),
            Err(KeyError::SignatureEncoding)
        );
    }

    /// Adds ℓ = 2^252 + 27742317777372353535851937790883648493 to a little-endian scalar.
    fn add_group_order(s: &mut [u8]) {
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (b, l) in s.iter_mut().zip(L) {
            let sum = u16::from(*b) + u16::from(l) + carry;
            *b = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
    }

    #[test]
    fn only_ed25519_spki_keys_are_accepted() {
        let (_, pem) = pair();
        assert_eq!(Ed25519Key::parse(&pem, "RSA"), Err(KeyError::Algorithm));
        assert_eq!(Ed25519Key::parse("hello", "Ed25519"), Err(KeyError::Pem));
        let ec = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----\n";
        assert_eq!(Ed25519Key::parse(ec, "Ed25519"), Err(KeyError::NotEd25519));
    }

    fn spki_pem(raw: [u8; 32]) -> String {
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(&raw);
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der)
        )
    }

    fn raw(hex: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The eight small-order points in canonical encoding (the table of "Taming the many
    /// EdDSAs", Chalkias et al. 2020, and libsodium's blocklist), and encodings that are
    /// not canonical: `y = p`, `y = p + 1`, and `x = 0` with the sign bit set.
    #[test]
    fn small_order_and_non_canonical_keys_are_refused() {
        let small_order = [
            "0100000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        ];
        for hex in small_order {
            assert_eq!(
                Ed25519Key::parse(&spki_pem(raw(hex)), "Ed25519"),
                Err(KeyError::SmallOrder),
                "{hex}"
            );
        }
        let non_canonical = [
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "0100000000000000000000000000000000000000000000000000000000000080",
        ];
        for hex in non_canonical {
            assert_eq!(
                Ed25519Key::parse(&spki_pem(raw(hex)), "Ed25519"),
                Err(KeyError::NotOnCurve),
                "{hex}"
            );
        }
        // A real key still parses.
        let (_, pem) = pair();
        assert!(Ed25519Key::parse(&pem, "Ed25519").is_ok());
    }
}
