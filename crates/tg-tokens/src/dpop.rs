//! DPoP (RFC 9449): proofs of possession of a key, sent in the `DPoP` header, and the
//! RFC 7638 thumbprint a sender-constrained token names in `cnf.jkt`. On ring, so a tool
//! server checks proofs without OpenSSL.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use serde_json::{Map, Value};
use tg_core::Timestamp;

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";

/// How far a proof's `iat` may lie in the past (and, by [`DPOP_FUTURE_SECS`], the future).
pub const DPOP_MAX_AGE_SECS: i64 = 300;
/// Clock skew tolerated on a proof's `iat` ahead of now.
pub const DPOP_FUTURE_SECS: i64 = 30;

/// Longest proof accepted.
const MAX_PROOF: usize = 8 * 1024;

/// Why a DPoP proof is refused (RFC 9449 §4.3's checks, in order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error("malformed DPoP proof")]
    Malformed,
    #[error("DPoP proof `typ` must be `dpop+jwt`")]
    Type,
    #[error("DPoP proof algorithm `{0}` is not accepted (EdDSA or ES256)")]
    Algorithm(String),
    #[error("DPoP proof `jwk` is not a public Ed25519 or P-256 key")]
    Key,
    #[error("DPoP proof signature does not verify")]
    Signature,
    #[error("DPoP proof claim `{0}` is missing or invalid")]
    Claim(&'static str),
    #[error("DPoP proof is for `{0}`, not this request")]
    Target(&'static str),
    #[error("DPoP proof was issued too long ago or in the future")]
    Stale,
    #[error("DPoP proof was used before (its `jti` was seen)")]
    Replayed,
    #[error("DPoP proof's key is not the key the token is bound to")]
    WrongKey,
    #[error("DPoP proof `ath` does not match the access token")]
    AccessTokenHash,
}

/// A verified proof: its key's thumbprint and what it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// RFC 7638 thumbprint (SHA-256, base64url) of the proof's public key.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
    /// The proof's public key as a JWK (`kty`, `crv`, `x`, and `y` for P-256).
    pub jwk: Map<String, Value>,
}

/// The request a proof must be for: method and URI (its query and fragment are ignored).
#[derive(Debug, Clone, Copy)]
pub struct DpopTarget<'a> {
    pub method: &'a str,
    pub uri: &'a str,
}

/// The RFC 7638 thumbprint of an Ed25519 (`OKP`) or P-256 (`EC`) public JWK: SHA-256 over
/// its required members in lexicographic order, without whitespace, base64url.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, DpopError> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str).ok_or(DpopError::Key);
    let canonical = match text("kty")? {
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            Value::from(text("crv")?),
            Value::from(text("x")?)
        ),
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            Value::from(text("crv")?),
            Value::from(text("x")?),
            Value::from(text("y")?)
        ),
        _ => return Err(DpopError::Key),
    };
    Ok(URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes())))
}

/// `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// The public key of `jwk` for `alg`, refusing private members and curves that do not
/// match the algorithm.
fn public_key(
    alg: &str,
    jwk: &Map<String, Value>,
) -> Result<UnparsedPublicKey<Vec<u8>>, DpopError> {
    if jwk.contains_key("d") {
        return Err(DpopError::Key);
    }
    let bytes = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or(DpopError::Key)
    };
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    match (alg, text("kty"), text("crv")) {
        ("EdDSA", Some("OKP"), Some("Ed25519")) => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err(DpopError::Key);
            }
            Ok(UnparsedPublicKey::new(&ED25519, x))
        }
        ("ES256", Some("EC"), Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(DpopError::Key);
            }
            let point = [&[4u8][..], &x, &y].concat();
            Ok(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point))
        }
        ("EdDSA" | "ES256", _, _) => Err(DpopError::Key),
        (other, _, _) => Err(DpopError::Algorithm(other.chars().take(16).collect())),
    }
}

/// Whether two URIs name the same resource for `htu` (RFC 9449 §4.3 step 9): scheme and
/// host compared case-insensitively, the port with the scheme's default made explicit, and
/// the path with its dot segments removed (RFC 3986 §6.2.2.3); query and fragment ignored.
/// A URI that does not parse matches nothing.
fn same_target(claimed: &str, actual: &str) -> bool {
    match (Target::parse(claimed), Target::parse(actual)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The parts of a URI `htu` compares, normalised.
#[derive(PartialEq, Eq)]
struct Target {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: String,
}

impl Target {
    fn parse(raw: &str) -> Option<Self> {
        let uri: http::Uri = raw.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        let port = authority.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        });
        Some(Self {
            host: authority.host().to_ascii_lowercase(),
            port,
            path: remove_dot_segments(uri.path()),
            scheme,
        })
    }
}

/// RFC 3986 §5.2.4 for an absolute path: `.` segments dropped, `..` removing the one
/// before it (never above the root), and a trailing `/` where the last segment was either.
fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut directory = false;
    for segment in path.strip_prefix('/').unwrap_or(path).split('/') {
        directory = matches!(segment, "." | "..");
        match segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &kept {
        out.push('/');
        out.push_str(s);
    }
    if directory || out.is_empty() {
        out.push('/');
    }
    out
}

/// Verifies a DPoP proof (RFC 9449 §4.3) for `target` at `now`: a compact JWS with
/// `typ: dpop+jwt`, `alg` EdDSA or ES256, a public `jwk` in its header that verifies it,
/// and `jti`, `htm`, `htu`, `iat` claims matching the request, `iat` within
/// [`DPOP_MAX_AGE_SECS`] before and [`DPOP_FUTURE_SECS`] after now. With `access_token`,
/// its `ath` must be that token's hash. Replay is the caller's check ([`ReplayCache`]).
pub fn verify_dpop_proof(
    proof: &str,
    target: DpopTarget<'_>,
    now: Timestamp,
    access_token: Option<&str>,
) -> Result<DpopProof, DpopError> {
    if proof.len() > MAX_PROOF {
        return Err(DpopError::Malformed);
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| DpopError::Malformed)
    };
    let header: Map<String, Value> =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| DpopError::Malformed)?;
    if header.contains_key("crit") {
        return Err(DpopError::Malformed);
    }
    if header.get("typ").and_then(Value::as_str) != Some(DPOP_TYP) {
        return Err(DpopError::Type);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(DpopError::Malformed)?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(DpopError::Key)?;
    let key = public_key(alg, jwk)?;
    let signing_input = &proof[..header_b64.len() + 1 + payload_b64.len()];
    key.verify(signing_input.as_bytes(), &decode(signature_b64)?)
        .map_err(|_| DpopError::Signature)?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&decode(payload_b64)?).map_err(|_| DpopError::Malformed)?;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(DpopError::Claim(name))
    };
    let jti = text("jti")?;
    if jti.len() > 256 {
        return Err(DpopError::Claim("jti"));
    }
    if text("htm")? != target.method {
        return Err(DpopError::Target("htm"));
    }
    if !same_target(text("htu")?, target.uri) {
        return Err(DpopError::Target("htu"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(DpopError::Claim("iat"))?;
    let age = now.as_secs().saturating_sub(iat);
    if !(-DPOP_FUTURE_SECS..=DPOP_MAX_AGE_SECS).contains(&age) {
        return Err(DpopError::Stale);
    }
    if let Some(token) = access_token
        && text("ath")? != access_token_hash(token)
    {
        return Err(DpopError::AccessTokenHash);
    }
    Ok(DpopProof {
        jkt: jwk_thumbprint(jwk)?,
        jti: jti.to_owned(),
        iat,
        jwk: jwk.clone(),
    })
}

/// Remembers the proofs seen within the acceptance window, so none is accepted twice
/// (RFC 9449 §11.1). Keyed by the key's thumbprint and `jti`; entries leave once their
/// `iat` is out of the window. Bounded: when full of live entries it refuses new proofs
/// (fails closed) rather than forgetting any.
#[derive(Debug)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(String, String), i64>>,
    capacity: usize,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Records `proof` as used at `now`; [`DpopError::Replayed`] if it was seen already
    /// (or the cache is full of proofs still in their window).
    pub fn check(&self, proof: &DpopProof, now: Timestamp) -> Result<(), DpopError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let key = (proof.jkt.clone(), proof.jti.clone());
        if seen.contains_key(&key) {
            return Err(DpopError::Replayed);
        }
        if seen.len() >= self.capacity {
            let oldest = now.as_secs() - DPOP_MAX_AGE_SECS;
            seen.retain(|_, iat| *iat >= oldest);
            if seen.len() >= self.capacity {
                return Err(DpopError::Replayed);
            }
        }
        seen.insert(key, proof.iat);
        Ok(())
    }
}

/// A client's DPoP key (Ed25519, on ring): what an agent holds to bind tokens to itself
/// and to prove, on every call with a bound token, that it holds the key.
pub struct DpopKey {
    pair: ring::signature::Ed25519KeyPair,
    jwk: Map<String, Value>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jwk", &self.jwk)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A new random key.
    pub fn generate() -> Result<Self, DpopError> {
        let pkcs8 =
            ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .map_err(|_| DpopError::Key)?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A key from its PKCS #8 document (DER), e.g. one kept between runs, or an agent's
    /// registered Ed25519 key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, DpopError> {
        use ring::signature::KeyPair;
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| DpopError::Key)?;
        let mut jwk = Map::new();
        jwk.insert("kty".into(), "OKP".into());
        jwk.insert("crv".into(), "Ed25519".into());
        jwk.insert(
            "x".into(),
            URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()).into(),
        );
        Ok(Self { pair, jwk })
    }

    /// The public key as a JWK (RFC 8037).
    pub fn jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    /// The RFC 7638 thumbprint a token bound to this key names in `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        jwk_thumbprint(&self.jwk).unwrap_or_default()
    }

    /// A proof for one request: `method` to `uri`, at `now`, with `ath` over
    /// `access_token` when the request carries one (a call with a bound token), without it
    /// for a token request. Each proof has a fresh random `jti`.
    pub fn proof(
        &self,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
        now: Timestamp,
    ) -> String {
        let mut jti = [0u8; 16];
        // A failing system RNG leaves the jti zero: the proof is then refused as a replay
        // after its first use, never accepted twice.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti);
        let header = serde_json::json!({"typ": DPOP_TYP, "alg": "EdDSA", "jwk": self.jwk});
        let mut claims = serde_json::json!({
            "jti": URL_SAFE_NO_PAD.encode(jti), "htm": method, "htu": uri, "iat": now.as_secs(),
        });
        if let (Some(token), Some(map)) = (access_token, claims.as_object_mut()) {
            map.insert("ath".into(), access_token_hash(token).into());
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.pair.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_removed_as_rfc_3986_resolves_them() {
        // RFC 3986 §5.2.4's walk-through, then §5.4's examples against `http://a/b/c/d;p?q`
        // (their merged paths, and the paths the RFC resolves them to).
        for (merged, resolved) in [
            ("/a/b/c/./../../g", "/a/g"),
            ("/b/c/./g", "/b/c/g"),
            ("/b/c/g/", "/b/c/g/"),
            ("/b/c/.", "/b/c/"),
            ("/b/c/./", "/b/c/"),
            ("/b/c/..", "/b/"),
            ("/b/c/../", "/b/"),
            ("/b/c/../g", "/b/g"),
            ("/b/c/../..", "/"),
            ("/b/c/../../g", "/g"),
            ("/b/c/../../../g", "/g"),
            ("/b/c/../../../../g", "/g"),
            ("/./g", "/g"),
            ("/../g", "/g"),
            ("/b/c/g.", "/b/c/g."),
            ("/b/c/.g", "/b/c/.g"),
            ("/b/c/g..", "/b/c/g.."),
            ("/b/c/..g", "/b/c/..g"),
            ("/b/c/./../g", "/b/g"),
            ("/b/c/./g/.", "/b/c/g/"),
            ("/b/c/g/./h", "/b/c/g/h"),
            ("/b/c/g/../h", "/b/c/h"),
            ("/b/c/g;x=1/./y", "/b/c/g;x=1/y"),
            ("/b/c/g;x=1/../y", "/b/c/y"),
            ("/", "/"),
        ] {
            assert_eq!(remove_dot_segments(merged), resolved, "{merged}");
        }
    }

    #[test]
    fn targets_compare_scheme_host_port_and_path() {
        let same = |a: &str, b: &str| same_target(a, b);
        assert!(same(
            "https://gw.example/token",
            "HTTPS://GW.Example:443/token?x=1#f"
        ));
        assert!(same(
            "http://gw.example:80/a/./b/../c",
            "http://gw.example/a/c"
        ));
        assert!(same("http://[::1]:8002/x", "http://[::1]:8002/x"));
        assert!(!same("https://gw.example/token", "http://gw.example/token"));
        assert!(!same(
            "https://gw.example/token",
            "https://gw.example:8443/token"
        ));
        assert!(!same(
            "https://gw.example/token",
            "https://gw.example/Token"
        ));
        assert!(!same(
            "https://gw.example/token",
            "https://gw.example.evil/token"
        ));
        assert!(!same("/token", "/token"));
        assert!(!same(
            "https://gw example/token",
            "https://gw example/token"
        ));
    }
}
