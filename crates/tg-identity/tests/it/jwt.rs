use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, JwsHeader, JwsSigner, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};
use tg_core::Timestamp;
use tg_identity::{
    Attestation, AttestationVerifier, SpiffeId, TrustBundle, TrustBundles, VerificationLevel,
};

const NOW: Timestamp = Timestamp::from_secs(1_798_761_600);
const ID: &str = "spiffe://example.org/agent/email-bot";

struct Keys {
    rsa: Box<dyn JwsSigner>,
    ec: Box<dyn JwsSigner>,
    rsa_public: Value,
    verifier: AttestationVerifier,
}

fn keys() -> Keys {
    let rsa = RS256.generate_key_pair(2048).unwrap();
    let ec = ES256.generate_key_pair().unwrap();
    let mut rsa_jwk = rsa.to_jwk_public_key();
    rsa_jwk.set_key_id("rsa-1");
    rsa_jwk.set_key_use("jwt-svid");
    let mut ec_jwk = ec.to_jwk_public_key();
    ec_jwk.set_key_id("ec-1");
    ec_jwk.set_key_use("jwt-svid");
    let rsa_public: Value = serde_json::to_value(rsa_jwk.as_ref()).unwrap();
    // An Ed25519 key (which JWT-SVIDs cannot be verified with here) is skipped, not fatal.
    let okp = json!({"use": "jwt-svid", "kid": "ed-1", "kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    let jwks = json!({"keys": [rsa_public, okp, serde_json::to_value(ec_jwk.as_ref()).unwrap()]});
    let mut bundle = TrustBundle::new("example.org").unwrap();
    let load = bundle.add_spiffe_jwks(jwks.to_string().as_bytes()).unwrap();
    assert_eq!((load.x509, load.jwt), (0, 2));
    assert_eq!(load.skipped.len(), 1);
    assert!(load.skipped[0].contains("ed-1"), "{:?}", load.skipped);
    Keys {
        rsa: Box::new(RS256.signer_from_der(rsa.to_der_private_key()).unwrap()),
        ec: Box::new(ES256.signer_from_der(ec.to_der_private_key()).unwrap()),
        rsa_public,
        verifier: AttestationVerifier::new(TrustBundles::new([bundle]), "trust-gateway"),
    }
}

fn claims() -> Value {
    json!({"sub": ID, "aud": ["trust-gateway", "other"], "exp": NOW.as_secs() + 300, "iat": NOW.as_secs()})
}

fn sign(signer: &dyn JwsSigner, kid: &str, claims: &Value) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    jwt::encode_with_signer(&payload, &header, signer).unwrap()
}

fn check(k: &Keys, token: String) -> Result<Timestamp, String> {
    let id = SpiffeId::parse(ID).unwrap();
    k.verifier
        .verify(Some(&id), &Attestation::Jwt { token }, NOW)
        .map(|a| {
            assert_eq!((a.level, a.strength), (VerificationLevel::Verified, 0.9));
            a.expires_at.unwrap()
        })
        .map_err(|e| e.to_string())
}

fn refused(r: Result<Timestamp, String>, needle: &str) {
    match r {
        Ok(_) => panic!("accepted, expected a refusal mentioning {needle:?}"),
        Err(e) => assert!(e.contains(needle), "{e:?} should mention {needle:?}"),
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn rs256_and_es256_svids_verify() {
    let k = keys();
    assert_eq!(
        check(&k, sign(k.rsa.as_ref(), "rsa-1", &claims())),
        Ok(NOW.plus_secs(300))
    );
    assert_eq!(
        check(&k, sign(k.ec.as_ref(), "ec-1", &claims())),
        Ok(NOW.plus_secs(300))
    );
}

#[test]
fn refused_algorithms_never_reach_a_key() {
    let k = keys();
    let body = b64(&claims());
    refused(
        check(
            &k,
            format!("{}.{body}.", b64(&json!({"alg": "none", "kid": "rsa-1"}))),
        ),
        "algorithm `none`",
    );
    // HS256 keyed with the public key's bytes: the classic confusion attack.
    let header = b64(&json!({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.rsa_public.to_string().as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(ring::hmac::sign(
        &key,
        format!("{header}.{body}").as_bytes(),
    ));
    refused(
        check(&k, format!("{header}.{body}.{sig}")),
        "algorithm `HS256`",
    );
    refused(
        check(
            &k,
            format!(
                "{}.{body}.AAAA",
                b64(&json!({"alg": "EdDSA", "kid": "rsa-1"}))
            ),
        ),
        "algorithm `EdDSA`",
    );
}

#[test]
fn required_claims_must_be_present_and_right() {
    let k = keys();
    let without = |claim: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(claim);
        c
    };
    refused(
        check(&k, sign(k.rsa.as_ref(), "rsa-1", &without("exp"))),
        "no `exp`",
    );
    refused(
        check(&k, sign(k.rsa.as_ref(), "rsa-1", &without("aud"))),
        "no `aud`",
    );
    refused(
        check(&k, sign(k.rsa.as_ref(), "rsa-1", &without("sub"))),
        "no `sub`",
    );
    let mut c = claims();
    c["aud"] = json!("billing-api");
    refused(
        check(&k, sign(k.rsa.as_ref(), "rsa-1", &c)),
        "does not contain",
    );
    let mut c = claims();
    c["exp"] = json!(NOW.as_secs() - 60);
    refused(check(&k, sign(k.rsa.as_ref(), "rsa-1", &c)), "expired");
    let mut c = claims();
    c["sub"] = json!("spiffe://example.org/agent/impostor");
    refused(check(&k, sign(k.rsa.as_ref(), "rsa-1", &c)), "`sub` is");
}

#[test]
fn keys_headers_and_signatures_are_checked() {
    let k = keys();
    refused(
        check(&k, sign(k.rsa.as_ref(), "rsa-9", &claims())),
        "not in the bundle",
    );
    // Signed by the EC key but naming the RSA key.
    refused(
        check(&k, sign(k.ec.as_ref(), "rsa-1", &claims())),
        "cannot verify `ES256`",
    );
    // An extra header parameter.
    let mut header = JwsHeader::new();
    header.set_key_id("rsa-1");
    header.set_jwk_set_url("https://attacker.example/jwks.json");
    let payload = JwtPayload::from_map(claims().as_object().unwrap().clone()).unwrap();
    refused(
        check(
            &k,
            jwt::encode_with_signer(&payload, &header, k.rsa.as_ref()).unwrap(),
        ),
        "`jku` is not allowed",
    );
    // A tampered payload.
    let token = sign(k.rsa.as_ref(), "rsa-1", &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut c = claims();
    c["sub"] = json!(ID);
    c["exp"] = json!(NOW.as_secs() + 86_400);
    refused(
        check(&k, format!("{}.{}.{}", parts[0], b64(&c), parts[2])),
        "does not verify",
    );
    refused(check(&k, "a.b".into()), "compact JWS");
    refused(check(&k, "x".repeat(9000)), "exceeds");
}
