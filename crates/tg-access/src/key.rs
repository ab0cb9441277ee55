use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use tg_core::{AccountId, Timestamp, random_bytes, random_hex};

use crate::Scope;

/// A stored API key: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// 8 lowercase hex characters, unique.
    pub id: String,
    pub account_id: AccountId,
    /// `tgk_` + id: the first 12 characters of the key.
    pub prefix: String,
    pub hash: [u8; 32],
    pub scope: Scope,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A freshly created key and its plaintext, which is shown once and then forgotten.
#[derive(Debug)]
pub struct NewKey {
    pub key: ApiKey,
    pub plaintext: String,
}

impl ApiKey {
    pub fn generate(account_id: AccountId, scope: Scope, now: Timestamp) -> NewKey {
        let plaintext = new_plaintext_key();
        let id = plaintext.get(4..12).unwrap_or_default().to_owned();
        let key = ApiKey {
            prefix: format!("tgk_{id}"),
            id,
            account_id,
            hash: key_hash(&plaintext),
            scope,
            created_at: now,
            revoked_at: None,
        };
        NewKey { key, plaintext }
    }

    /// Constant-time comparison of a presented key against this one.
    pub fn matches(&self, presented: &str) -> bool {
        hash_matches(&self.hash, presented)
    }
}

/// A fresh key in the gateway's format: `tgk_<8 hex id>_<43 base64url secret>`.
pub fn new_plaintext_key() -> String {
    format!(
        "tgk_{}_{}",
        random_hex::<4>(),
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    )
}

/// `SHA-256(key)`. Keys carry 256 random bits, so a fast hash is the right one.
pub fn key_hash(key: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time check that `presented` hashes to `expected`.
pub fn hash_matches(expected: &[u8; 32], presented: &str) -> bool {
    let actual = key_hash(presented);
    // Fold every byte; no early exit on the first difference.
    expected
        .iter()
        .zip(actual.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A key as presented in `X-API-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentedKey<'a> {
    /// `tgk_<id>_<secret>`: looked up by id.
    Gateway { id: &'a str, full: &'a str },
    /// Anything else: only the environment's `API_KEY` can match it.
    Other(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("missing API key: send it in the `X-API-Key` header")]
    Missing,
    #[error("invalid API key")]
    Invalid,
}

impl<'a> PresentedKey<'a> {
    pub fn parse(raw: &'a str) -> Result<Self, KeyError> {
        if raw.is_empty() {
            return Err(KeyError::Missing);
        }
        if raw.len() > 256 {
            return Err(KeyError::Invalid);
        }
        if let Some(id) = raw.strip_prefix("tgk_").and_then(|rest| rest.get(..8)) {
            let well_formed = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                && raw.as_bytes().get(12) == Some(&b'_');
            if well_formed {
                return Ok(PresentedKey::Gateway { id, full: raw });
            }
        }
        Ok(PresentedKey::Other(raw))
    }

    /// The first 12 characters, for `api_key_prefix`.
    pub fn prefix(&self) -> String {
        let s = match self {
            PresentedKey::Gateway { full, .. } => full,
            PresentedKey::Other(s) => s,
        };
        s.chars().take(12).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_match_only_themselves() {
        let new = ApiKey::generate(AccountId::generate(), Scope::Write, Timestamp::UNIX_EPOCH);
        assert_eq!(new.key.prefix.len(), 12);
        assert!(new.plaintext.starts_with(&new.key.prefix));
        let parsed = PresentedKey::parse(&new.plaintext);
        assert_eq!(
            parsed,
            Ok(PresentedKey::Gateway {
                id: &new.key.id,
                full: &new.plaintext
            })
        );
        assert!(new.key.matches(&new.plaintext));
        let mut wrong = new.plaintext.clone();
        wrong.push('x');
        assert!(!new.key.matches(&wrong));
    }

    #[test]
    fn other_keys_are_kept_whole() {
        assert_eq!(
            PresentedKey::parse("your-api-key"),
            Ok(PresentedKey::Other("your-api-key"))
        );
        assert_eq!(
            PresentedKey::parse("tgk_XYZ"),
            Ok(PresentedKey::Other("tgk_XYZ"))
        );
        assert_eq!(PresentedKey::parse(""), Err(KeyError::Missing));
        assert_eq!(
            PresentedKey::parse(&"a".repeat(300)),
            Err(KeyError::Invalid)
        );
        assert_eq!(
            PresentedKey::parse("your-api-key-is-long").map(|k| k.prefix()),
            Ok("your-api-key".to_owned())
        );
    }
}
