use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use tg_core::{StoreError, Timestamp, random_bytes, random_hex};

use crate::TokenError;

/// A signing key as stored: the private key sealed under `SECRET_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    pub kid: String,
    pub alg: String,
    /// 12-byte nonce ‖ AES-256-GCM ciphertext of the PKCS#8 PEM private key.
    pub sealed: Vec<u8>,
    /// The public JWK, JSON.
    pub public_jwk: String,
    pub created_at: Timestamp,
}

/// Storage of the gateway's signing keys.
///
/// - `signing_keys` lists every key, oldest first.
/// - `insert_signing_key_if_none` inserts `key` only if no key exists yet (atomically, so
///   several instances starting together end up with exactly one), and returns the key that
///   is then current.
#[async_trait::async_trait]
pub trait SigningKeyStore: Send {
    async fn signing_keys(&mut self) -> Result<Vec<SealedKey>, StoreError>;
    async fn insert_signing_key_if_none(
        &mut self,
        key: &SealedKey,
    ) -> Result<SealedKey, StoreError>;
    /// Adds `key` after every existing one (a rotation). Two rotations racing: one of them
    /// fails with a conflict.
    async fn add_signing_key(&mut self, key: &SealedKey) -> Result<(), StoreError>;
    /// Removes the key `kid`; whether it existed.
    async fn remove_signing_key(&mut self, kid: &str) -> Result<bool, StoreError>;
}

/// The key that signs at `now` among `keys`: the newest one published for at least
/// `publish_ahead_secs` — so every instance, and every tool server refreshing its JWKS,
/// can know a key before the first token signed by it — or, when none is that old yet
/// (a fresh database), the oldest.
pub fn signing_key_at(
    keys: &[SealedKey],
    now: Timestamp,
    publish_ahead_secs: i64,
) -> Option<&SealedKey> {
    keys.iter()
        .filter(|k| k.created_at.as_secs().saturating_add(publish_ahead_secs) <= now.as_secs())
        .max_by_key(|k| k.created_at)
        .or_else(|| keys.iter().min_by_key(|k| k.created_at))
}

fn sealing_key(secret: &[u8]) -> Result<LessSafeKey, TokenError> {
    let derive = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let derived = hmac::sign(&derive, b"trust-gateway/key-seal/v1");
    let unbound = UnboundKey::new(&AES_256_GCM, derived.as_ref())
        .map_err(|_| TokenError::Key("cannot derive sealing key".into()))?;
    Ok(LessSafeKey::new(unbound))
}

/// A new Ed25519 signing key, sealed under `secret`.
pub fn generate_signing_key(secret: &[u8], now: Timestamp) -> Result<SealedKey, TokenError> {
    let pair = josekit::jws::EdDSA
        .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let kid = format!("tg-{}", random_hex::<8>());
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id(&kid);
    jwk.set_key_use("sig");
    jwk.set_algorithm("EdDSA");
    let pem = pair.to_pem_private_key();
    Ok(SealedKey {
        sealed: seal(secret, &kid, &pem)?,
        kid,
        alg: "EdDSA".into(),
        public_jwk: jwk.to_string(),
        created_at: now,
    })
}

/// Seals `plaintext` under `SECRET_KEY` (AES-256-GCM, key derived by HMAC-SHA256), bound to
/// `context` (associated data: the same ciphertext does not open under another context).
/// Output: 12-byte nonce ‖ ciphertext ‖ tag.
pub fn seal(secret: &[u8], context: &str, plaintext: &[u8]) -> Result<Vec<u8>, TokenError> {
    let key = sealing_key(secret)?;
    let nonce_bytes = random_bytes::<12>();
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(context.as_bytes()),
        &mut buf,
    )
    .map_err(|_| TokenError::Key("sealing failed".into()))?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens what [`seal`] sealed under the same `secret` and `context`.
pub fn open(secret: &[u8], context: &str, sealed: &[u8]) -> Result<Vec<u8>, TokenError> {
    let key = sealing_key(secret)?;
    let (nonce, ciphertext) = sealed
        .split_at_checked(12)
        .ok_or_else(|| TokenError::Key("sealed value is truncated".into()))?;
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| TokenError::Key("bad nonce".into()))?;
    let mut buf = ciphertext.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
        .map_err(|_| TokenError::Key(format!("`{context}` does not open under this SECRET_KEY")))?;
    Ok(plain.to_vec())
}

impl SealedKey {
    /// The private key PEM. Fails when `secret` is not the one it was sealed under.
    pub fn open(&self, secret: &[u8]) -> Result<Vec<u8>, TokenError> {
        open(secret, &self.kid, &self.sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_under_their_secret() {
        let k = generate_signing_key(b"secret-one", Timestamp::UNIX_EPOCH);
        let k = match k {
            Ok(k) => k,
            Err(e) => unreachable!("{e}"),
        };
        let pem = k.open(b"secret-one").unwrap_or_default();
        assert!(String::from_utf8_lossy(&pem).contains("PRIVATE KEY"));
        assert!(k.open(b"secret-two").is_err());
        let mut moved = k.clone();
        moved.kid = "tg-other".into();
        assert!(
            moved.open(b"secret-one").is_err(),
            "kid is bound as associated data"
        );
        assert!(
            !k.public_jwk.contains("\"d\""),
            "public JWK carries no private part"
        );
    }
}
