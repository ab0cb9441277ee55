//! Token verification shared by the issuer and by offline verifiers (tool servers): the
//! JWS compact serialisation (RFC 7515 §7.1) checked with ring's Ed25519 and HMAC-SHA256,
//! so a verifier links no OpenSSL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde_json::{Map, Value};
use tg_core::Timestamp;

use crate::{
    ActingAgent, DetachedJws, DpopError, DpopTarget, ReplayCache, Signed, TokenClaims, TokenError,
};

/// Clock skew tolerated on `exp` and `nbf`.
pub(crate) const LEEWAY_SECS: i64 = 30;

/// Longest token accepted (a gateway token is well under 1 KiB).
const MAX_TOKEN: usize = 16 * 1024;

/// An Ed25519 verification key of the JWKS (RFC 8037 `OKP`).
pub(crate) struct EdKey {
    pub(crate) kid: String,
    key: UnparsedPublicKey<[u8; 32]>,
}

impl EdKey {
    /// From a JWK: `kty: OKP`, `crv: Ed25519` and `x`, the 32-byte public key in base64url.
    pub(crate) fn new(kid: String, jwk: &Map<String, Value>) -> Result<Self, TokenError> {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        if text("kty") != Some("OKP") || text("crv") != Some("Ed25519") {
            return Err(TokenError::Key(format!(
                "key `{kid}` is not an Ed25519 JWK"
            )));
        }
        let x: [u8; 32] = text("x")
            .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
            .and_then(|x| x.try_into().ok())
            .ok_or_else(|| TokenError::Key(format!("key `{kid}` has no 32-byte `x`")))?;
        Ok(Self {
            kid,
            key: UnparsedPublicKey::new(&ED25519, x),
        })
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        self.key
            .verify(message, signature)
            .map_err(|_| TokenError::Signature)
    }
}

/// A compact JWS taken apart: its protected header, the signing input and the decoded
/// payload and signature. Nothing about it is trusted yet.
pub(crate) struct Compact<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) signing_input: &'a str,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

impl<'a> Compact<'a> {
    pub(crate) fn parse(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenError::Malformed)
        };
        Ok(Self {
            header: header_of(&decode(header)?)?,
            signing_input: &token[..header.len() + 1 + payload.len()],
            payload: decode(payload)?,
            signature: decode(signature)?,
        })
    }
}

/// A protected header: a JSON object with no `crit` (RFC 7515 §4.1.11: this verifier
/// understands no extension, so a header that demands one is refused).
fn header_of(bytes: &[u8]) -> Result<Map<String, Value>, TokenError> {
    let header: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|_| TokenError::Malformed)?;
    if header.contains_key("crit") {
        return Err(TokenError::Malformed);
    }
    Ok(header)
}

pub(crate) fn text<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    map.get(name).and_then(Value::as_str)
}

/// What every token must claim besides a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checks {
    pub(crate) issuer: String,
    /// `None` accepts any audience (introspection by the issuer).
    pub(crate) audience: Option<String>,
    pub(crate) leeway_secs: i64,
    /// How long after `exp` (beyond the leeway) a token still verifies: 0 but for reports
    /// about an interaction that happened while it was valid.
    pub(crate) expiry_grace_secs: i64,
    /// Whether a DPoP-bound token (`cnf.jkt`) passes: only where its proof is checked
    /// too, or where the issuer answers about its own token (introspection).
    pub(crate) allow_bound: bool,
}

/// Verifies `token`: `alg` must be `EdDSA` with the `kid` of one of `keys`, or `HS256` when
/// `hs256` is given; nothing else (`none` included) is tried. Then [`Checks`].
pub(crate) fn verify_token(
    token: &str,
    now: Timestamp,
    checks: &Checks,
    keys: &[EdKey],
    hs256: Option<&hmac::Key>,
) -> Result<TokenClaims, TokenError> {
    checks.claims(&signed_payload(token, keys, hs256)?, now)
}

/// The payload of `token` once its header (`alg`, `typ`, `kid`) and signature check out;
/// no claim is checked yet.
pub(crate) fn signed_payload(
    token: &str,
    keys: &[EdKey],
    hs256: Option<&hmac::Key>,
) -> Result<Map<String, Value>, TokenError> {
    let jws = Compact::parse(token)?;
    let alg = text(&jws.header, "alg").ok_or(TokenError::Malformed)?;
    // Explicit typing (RFC 8725 §3.11): another kind of JWS the gateway signs is no token.
    if let Some(typ) = jws.header.get("typ") {
        let typ = typ.as_str().unwrap_or_default();
        if !typ.eq_ignore_ascii_case(crate::TOKEN_TYP) {
            return Err(TokenError::Type(typ.chars().take(40).collect()));
        }
    }
    let message = jws.signing_input.as_bytes();
    match (alg, hs256) {
        ("EdDSA", _) => {
            let kid = text(&jws.header, "kid").ok_or(TokenError::UnknownKey)?;
            let key = keys
                .iter()
                .find(|k| k.kid == kid)
                .ok_or(TokenError::UnknownKey)?;
            key.verify(message, &jws.signature)?;
        }
        ("HS256", Some(secret)) => {
            hmac::verify(secret, message, &jws.signature).map_err(|_| TokenError::Signature)?
        }
        _ => return Err(TokenError::Algorithm(alg.chars().take(16).collect())),
    }
    serde_json::from_slice(&jws.payload).map_err(|_| TokenError::Malformed)
}

impl Checks {
    pub(crate) fn claims(
        &self,
        p: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<TokenClaims, TokenError> {
        let number = |name: &'static str| -> Result<Option<i64>, TokenError> {
            match p.get(name) {
                None => Ok(None),
                // RFC 7519 NumericDate: integer or non-integer seconds.
                Some(v) => v
                    .as_i64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.is_finite() && f.abs() < 1e15)
                            .map(|f| f.floor() as i64)
                    })
                    .map(Some)
                    .ok_or(TokenError::InvalidClaim(name)),
            }
        };
        let exp = number("exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if now.as_secs()
            >= exp
                .saturating_add(self.leeway_secs)
                .saturating_add(self.expiry_grace_secs)
        {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = number("nbf")?
            && now.as_secs().saturating_add(self.leeway_secs) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        let iat = number("iat")?;
        let iss = p
            .get("iss")
            .ok_or(TokenError::MissingClaim("iss"))?
            .as_str()
            .ok_or(TokenError::InvalidClaim("iss"))?;
        if iss != self.issuer {
            return Err(TokenError::InvalidClaim("iss"));
        }
        let aud: Vec<String> = match p.get("aud").ok_or(TokenError::MissingClaim("aud"))? {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or(TokenError::InvalidClaim("aud"))
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(TokenError::InvalidClaim("aud")),
        };
        if self.audience.as_ref().is_some_and(|a| !aud.contains(a)) {
            return Err(TokenError::InvalidClaim("aud"));
        }
        let text = |name: &'static str| -> Result<String, TokenError> {
            p.get(name)
                .ok_or(TokenError::MissingClaim(name))?
                .as_str()
                .map(str::to_owned)
                .ok_or(TokenError::InvalidClaim(name))
        };
        let permitted_actions = match p.get("permitted_actions") {
            None => Vec::new(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| TokenError::InvalidClaim("permitted_actions"))?,
        };
        Ok(TokenClaims {
            sub: text("sub")?,
            jti: text("jti")?,
            name: p.get("name").and_then(Value::as_str).map(str::to_owned),
            tier: p
                .get("tier")
                .and_then(Value::as_u64)
                .and_then(|t| u8::try_from(t).ok()),
            trust_score: p.get("trust_score").and_then(Value::as_f64),
            permitted_actions,
            iss: iss.to_owned(),
            aud,
            iat,
            exp,
            epoch: p.get("tg_epoch").and_then(Value::as_u64).unwrap_or(0),
            state_version: p.get("tg_state_version").and_then(Value::as_u64),
            act: act_chain(p.get("act"))?,
            root_authority: match p.get("tg_root_authority") {
                None => None,
                Some(v) => Some(
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or(TokenError::InvalidClaim("tg_root_authority"))?,
                ),
            },
            sources: match p.get("tg_sources") {
                None => Vec::new(),
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|_| TokenError::InvalidClaim("tg_sources"))?,
            },
            cnf_jkt: self.bound_key(p)?,
        })
    }

    /// `cnf.jkt`, refused ([`TokenError::ProofRequired`]) where bound tokens are not allowed.
    fn bound_key(&self, p: &Map<String, Value>) -> Result<Option<String>, TokenError> {
        let Some(cnf) = p.get("cnf") else {
            return Ok(None);
        };
        let jkt = cnf
            .get("jkt")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or(TokenError::InvalidClaim("cnf"))?;
        if !self.allow_bound {
            return Err(TokenError::ProofRequired);
        }
        Ok(Some(jkt.to_owned()))
    }
}

/// Longest `act` chain read (the gateway's delegation chains are far shorter).
const MAX_ACT_DEPTH: usize = 16;

/// The nested `act` objects (RFC 8693 §4.1), current actor first. Each carries the
/// gateway's `sub`, `tg_delegation` and `tg_epoch`; anything else is an invalid claim.
fn act_chain(act: Option<&Value>) -> Result<Vec<ActingAgent>, TokenError> {
    let mut chain = Vec::new();
    let mut next = act;
    while let Some(link) = next {
        let link = link.as_object().ok_or(TokenError::InvalidClaim("act"))?;
        if chain.len() == MAX_ACT_DEPTH {
            return Err(TokenError::InvalidClaim("act"));
        }
        let field = |name| link.get(name).and_then(Value::as_str).map(str::to_owned);
        chain.push(ActingAgent {
            sub: field("sub").ok_or(TokenError::InvalidClaim("act"))?,
            delegation_id: field("tg_delegation").ok_or(TokenError::InvalidClaim("act"))?,
            epoch: link
                .get("tg_epoch")
                .and_then(Value::as_u64)
                .ok_or(TokenError::InvalidClaim("act"))?,
        });
        next = link.get("act");
    }
    Ok(chain)
}

/// Verifies the gateway's tokens offline, from its published JWK Set
/// (`/.well-known/jwks.json`): what a tool server runs on every call, with no round trip
/// to the gateway.
///
/// Only the Ed25519 keys of the set are used (`kty: OKP`, `crv: Ed25519`, `use` absent or
/// `sig`, `alg` absent or `EdDSA`); others are skipped. HS256 tokens (a gateway configured
/// with `JWT_SECRET`) cannot be verified without the secret and are refused as
/// [`TokenError::Algorithm`]. Revocation is not visible offline — neither a `jti` revoked
/// with `POST /tokens/revoke` nor an older `tg_epoch` after the agent was suspended: a
/// token stays valid until its `exp` (keep lifetimes short, or ask
/// `POST /tokens/introspect`).
pub struct JwksVerifier {
    pub(crate) checks: Checks,
    pub(crate) keys: Vec<EdKey>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("checks", &self.checks)
            .field("kids", &self.kids())
            .finish()
    }
}

impl JwksVerifier {
    /// A verifier for tokens from `issuer` for `audience`, with the keys of `jwks`.
    pub fn new(jwks: &Value, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let listed = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| TokenError::Key("a JWK Set needs a `keys` array".into()))?;
        let mut keys = Vec::new();
        for k in listed {
            let text = |name: &str| k.get(name).and_then(Value::as_str);
            let usable = text("kty") == Some("OKP")
                && text("crv") == Some("Ed25519")
                && matches!(text("use"), None | Some("sig"))
                && matches!(text("alg"), None | Some("EdDSA"));
            let (Some(kid), Some(map)) = (text("kid"), k.as_object()) else {
                continue;
            };
            if !usable {
                continue;
            }
            keys.push(EdKey::new(kid.to_owned(), map)?);
        }
        Ok(Self {
            checks: Checks {
                issuer: issuer.to_owned(),
                audience: Some(audience.to_owned()),
                leeway_secs: LEEWAY_SECS,
                expiry_grace_secs: 0,
                allow_bound: false,
            },
            keys,
        })
    }

    /// Verifies signature, `exp`/`nbf` (30 s leeway), `iss`, `aud`, `sub` and `jti`, as a
    /// bearer token: a DPoP-bound one is refused ([`TokenError::ProofRequired`]).
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        verify_token(token, now, &self.checks, &self.keys, None)
    }

    /// Verifies a DPoP-bound token with its proof (RFC 9449 §7.1): the token as
    /// [`JwksVerifier::verify`] (bound ones allowed), then the proof for `target` with
    /// `ath` over the token, by the key the token's `cnf.jkt` names, and never seen by
    /// `replay` before. A token that is not bound is refused with a proof too: the caller
    /// asked for a sender-constrained token.
    pub fn verify_dpop(
        &self,
        token: &str,
        proof: &str,
        target: DpopTarget<'_>,
        now: Timestamp,
        replay: &ReplayCache,
    ) -> Result<TokenClaims, TokenError> {
        let checks = Checks {
            allow_bound: true,
            ..self.checks.clone()
        };
        let claims = verify_token(token, now, &checks, &self.keys, None)?;
        check_proof(&claims, token, proof, target, now, replay)?;
        Ok(claims)
    }

    /// The `kid` of every usable key.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// Whether `token`'s header names a key this verifier does not have: after a key
    /// rotation, the cue to fetch the JWKS again. False for tokens it cannot parse.
    pub fn lacks_key_of(&self, token: &str) -> bool {
        Compact::parse(token).is_ok_and(|jws| {
            text(&jws.header, "kid").is_some_and(|kid| !self.keys.iter().any(|k| k.kid == kid))
        })
    }
}

/// The proof that goes with a bound token: valid for `target`, with `ath` over `token`, by
/// the key of `claims.cnf_jkt`, and new to `replay`.
pub(crate) fn check_proof(
    claims: &TokenClaims,
    token: &str,
    proof: &str,
    target: DpopTarget<'_>,
    now: Timestamp,
    replay: &ReplayCache,
) -> Result<(), TokenError> {
    let verified = crate::verify_dpop_proof(proof, target, now, Some(token))?;
    if claims.cnf_jkt.as_deref() != Some(verified.jkt.as_str()) {
        return Err(DpopError::WrongKey.into());
    }
    replay.check(&verified, now)?;
    Ok(())
}

/// A header of one of the gateway's non-token signatures: `alg: EdDSA` and exactly the
/// kind's `typ` (explicit typing, RFC 8725 §3.11).
pub(crate) fn typed_eddsa(header: &Map<String, Value>, kind: Signed) -> Result<(), TokenError> {
    match text(header, "alg") {
        Some("EdDSA") => {}
        other => return Err(TokenError::Algorithm(other.unwrap_or("none").to_owned())),
    }
    let typ = text(header, "typ");
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case(kind.typ())) {
        return Err(TokenError::Type(
            typ.unwrap_or("none").chars().take(40).collect(),
        ));
    }
    Ok(())
}

/// Verifies a detached-payload JWS of `kind` against a JWK Set (e.g. a saved
/// `/.well-known/jwks.json`), offline: `alg` must be `EdDSA`, `typ` the kind's and `kid` a
/// key of the set. Returns the `kid` that verified.
pub fn verify_detached(
    jwks: &Value,
    jws: &DetachedJws,
    payload: &[u8],
    kind: Signed,
) -> Result<String, TokenError> {
    let header = URL_SAFE_NO_PAD
        .decode(&jws.protected)
        .map_err(|_| TokenError::Malformed)
        .and_then(|h| header_of(&h))?;
    typed_eddsa(&header, kind)?;
    let kid = text(&header, "kid").ok_or(TokenError::MissingClaim("kid"))?;
    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .and_then(Value::as_object)
        .ok_or(TokenError::UnknownKey)?;
    let key = EdKey::new(kid.to_owned(), jwk).map_err(|_| TokenError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(&jws.signature)
        .map_err(|_| TokenError::Malformed)?;
    let message = format!("{}.{}", jws.protected, URL_SAFE_NO_PAD.encode(payload));
    key.verify(message.as_bytes(), &signature)?;
    Ok(kid.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.1 (the public key) and A.4 (an Ed25519 JWS over
    /// "Example of Ed25519 signing").
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc_key() -> EdKey {
        let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X});
        EdKey::new("rfc8037".into(), jwk.as_object().unwrap()).unwrap()
    }

    #[test]
    fn the_rfc_8037_ed25519_jws_verifies_and_a_changed_one_does_not() {
        let jws = Compact::parse(RFC8037_JWS).unwrap();
        assert_eq!(text(&jws.header, "alg"), Some("EdDSA"));
        assert_eq!(jws.payload, b"Example of Ed25519 signing");
        let key = rfc_key();
        assert_eq!(
            key.verify(jws.signing_input.as_bytes(), &jws.signature),
            Ok(())
        );

        let other = RFC8037_JWS.replace(".RXhh", ".rXhh");
        let jws = Compact::parse(&other).unwrap();
        assert_eq!(
            key.verify(jws.signing_input.as_bytes(), &jws.signature),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn compact_forms_that_are_not_three_base64url_parts_are_malformed() {
        let (h, rest) = RFC8037_JWS.split_once('.').unwrap();
        for bad in [
            String::new(),
            format!("{h}.{rest}.x"),
            format!("{h}.e30"),
            // Padding and the standard alphabet are not base64url without padding.
            format!("{h}=.{rest}"),
            RFC8037_JWS.replace('_', "/"),
            // A header that is not a JSON object, or that demands an extension.
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode("[1]")),
            format!(
                "{}.{rest}",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","crit":["exp"],"exp":1}"#)
            ),
            "x".repeat(MAX_TOKEN + 1),
        ] {
            assert!(
                matches!(Compact::parse(&bad), Err(TokenError::Malformed)),
                "{bad:.80}"
            );
        }
    }

    #[test]
    fn a_jwk_that_is_not_a_32_byte_ed25519_key_is_refused() {
        for jwk in [
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": RFC8037_X}),
            serde_json::json!({"kty": "OKP", "crv": "X25519", "x": RFC8037_X}),
            serde_json::json!({"kty": "OKP", "crv": "Ed25519"}),
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
        ] {
            assert!(matches!(
                EdKey::new("k".into(), jwk.as_object().unwrap()),
                Err(TokenError::Key(_))
            ));
        }
    }
}
