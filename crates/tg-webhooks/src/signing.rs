//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

pub const SECRET_PREFIX: &str = "whsec_";
/// Generated secrets: 32 random bytes.
const GENERATED_BYTES: usize = 32;

/// The shortest plain (V2) secret accepted without a warning.
pub const RECOMMENDED_PLAIN_CHARS: usize = 16;

/// What to tell the caller about a plain secret that is easy to guess (V2 clients send
/// short ones, e.g. the V2 README's `webhook-secret`); `None` for a good one.
pub fn weak_secret_warning(s: &str) -> Option<String> {
    let n = s.chars().count();
    (!s.starts_with(SECRET_PREFIX) && n < RECOMMENDED_PLAIN_CHARS).then(|| {
        format!(
            "`secret` has {n} characters: accepted for V2 compatibility, but a signing secret this short can be guessed; use {RECOMMENDED_PLAIN_CHARS} or more, or omit it to get a generated `whsec_` secret"
        )
    })
}

/// An endpoint's signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("`secret`: `whsec_` must be followed by base64 of 24 to 64 bytes")]
    Whsec,
    #[error("`secret` must be `whsec_…` or a non-empty string")]
    Empty,
}

impl SigningSecret {
    /// A fresh secret and its `whsec_` form (shown to the user once).
    pub fn generate() -> (String, Self) {
        let key = tg_core::random_bytes::<GENERATED_BYTES>().to_vec();
        (
            format!("{SECRET_PREFIX}{}", STANDARD.encode(&key)),
            Self { key },
        )
    }

    /// `whsec_` + base64 of 24–64 bytes (the Standard Webhooks form), or — for V2 clients
    /// that send a plain string — its bytes as the key (their receivers verify with
    /// `whsec_` + base64 of that string). A plain string shorter than
    /// [`RECOMMENDED_PLAIN_CHARS`] is accepted, with [`weak_secret_warning`] to show.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        if let Some(b64) = s.strip_prefix(SECRET_PREFIX) {
            let key = STANDARD.decode(b64).map_err(|_| SecretError::Whsec)?;
            if !(24..=64).contains(&key.len()) {
                return Err(SecretError::Whsec);
            }
            return Ok(Self { key });
        }
        if s.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self {
            key: s.as_bytes().to_vec(),
        })
    }

    /// `v1,<base64 signature>` over `"{msg_id}.{timestamp}.{body}"`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(msg_id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
    }
}

/// The `webhook-signature` header: one signature per active secret, space-separated (the
/// newest first), so receivers keep verifying while a secret is rotated.
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published example.
    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SPEC_TS: i64 = 1_649_367_553;
    const SPEC_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SPEC_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn signs_the_specifications_test_vector() {
        let s = SigningSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(s.sign(SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIGNATURE);
    }

    #[test]
    fn the_reference_implementation_verifies_our_header_during_rotation() {
        let (new_form, new) = SigningSecret::generate();
        let old = SigningSecret::parse(SPEC_SECRET).unwrap();
        let ts = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let header = signature_header(&[new, old], SPEC_ID, ts, SPEC_BODY);
        assert_eq!(header.split(' ').count(), 2);
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", SPEC_ID.parse().unwrap());
        headers.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        headers.insert("webhook-signature", header.parse().unwrap());
        for secret in [new_form.as_str(), SPEC_SECRET] {
            standardwebhooks::Webhook::new(secret)
                .unwrap()
                .verify(SPEC_BODY, &headers)
                .unwrap();
        }
        let other =
            standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert!(other.verify(SPEC_BODY, &headers).is_err());
    }

    #[test]
    fn secrets_are_whsec_base64_or_plain_strings_short_ones_warned() {
        let (form, _) = SigningSecret::generate();
        assert!(form.starts_with("whsec_"));
        assert!(SigningSecret::parse(&form).is_ok());
        assert_eq!(SigningSecret::parse("whsec_!!!"), Err(SecretError::Whsec));
        assert_eq!(
            SigningSecret::parse("whsec_c2hvcnQ="),
            Err(SecretError::Whsec)
        );
        assert_eq!(SigningSecret::parse(""), Err(SecretError::Empty));
        // V2's README secret: accepted, with a warning.
        assert!(SigningSecret::parse("webhook-secret").is_ok());
        assert!(weak_secret_warning("webhook-secret").is_some_and(|w| w.contains("14 characters")));
        assert_eq!(weak_secret_warning("webhook-signing-secret-01"), None);
        assert_eq!(weak_secret_warning(&form), None);
        // A V2 plain secret is its bytes: a receiver verifies with whsec_ + base64 of it.
        let plain = SigningSecret::parse("webhook-signing-secret-01").unwrap();
        let as_whsec = format!("whsec_{}", STANDARD.encode("webhook-signing-secret-01"));
        assert_eq!(plain, SigningSecret::parse(&as_whsec).unwrap());
        assert!(!format!("{plain:?}").contains("webhook"));
    }
}
