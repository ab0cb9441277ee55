use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, date_time_ymd,
};
use tg_core::Timestamp;
use tg_identity::{
    Attestation, AttestationError, AttestationVerifier, SpiffeId, TrustBundle, TrustBundles,
    VerificationLevel,
};

/// 2027-01-01T00:00:00Z: the verification time of every case.
const NOW: Timestamp = Timestamp::from_secs(1_798_761_600);
const ID: &str = "spiffe://example.org/agent/email-bot";

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p
}

fn root(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = ca_params(name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn intermediate(parent: &Ca, tweak: impl FnOnce(&mut CertificateParams)) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = ca_params("intermediate");
    tweak(&mut params);
    let cert = params.signed_by(&key, &parent.issuer).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn leaf_params(uris: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "email-bot");
    p.subject_alt_names = uris
        .iter()
        .map(|u| SanType::URI((*u).try_into().unwrap()))
        .collect();
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(2027, 6, 1);
    p
}

thread_local! {
    /// Each leaf's key, by the leaf's PEM: `check` proves possession with it.
    static LEAF_KEYS: std::cell::RefCell<std::collections::HashMap<String, KeyPair>> =
        std::cell::RefCell::default();
}

fn leaf(ca: &Ca, tweak: impl FnOnce(&mut CertificateParams)) -> String {
    leaf_with_key(ca, KeyPair::generate().unwrap(), tweak)
}

fn leaf_with_key(ca: &Ca, key: KeyPair, tweak: impl FnOnce(&mut CertificateParams)) -> String {
    let mut params = leaf_params(&[ID]);
    tweak(&mut params);
    let pem = params.signed_by(&key, &ca.issuer).unwrap().pem();
    LEAF_KEYS.with(|k| k.borrow_mut().insert(pem.clone(), key));
    pem
}

const NONCE: &str = "5f1c9a0e7d3b4c2a8e6f0d1b3a5c7e9f";

/// The leaf key's signature over `nonce`, base64 (for input this test did not make, which
/// path validation refuses first: a signature of nothing).
fn possession(certificate: &str, nonce: &str) -> String {
    use base64::Engine;
    use rcgen::SigningKey;
    LEAF_KEYS.with(|k| {
        let keys = k.borrow();
        let signature = keys
            .get(certificate)
            .map_or_else(Vec::new, |key| key.sign(nonce.as_bytes()).unwrap());
        base64::engine::general_purpose::STANDARD.encode(signature)
    })
}

fn proven(certificate: String, chain: Vec<String>) -> Attestation {
    let signature = possession(&certificate, NONCE);
    Attestation::X509 {
        certificate,
        chain,
        nonce: Some(NONCE.into()),
        signature: Some(signature),
    }
}

fn verifier(authorities: &[&Ca]) -> AttestationVerifier {
    let mut bundle = TrustBundle::new("example.org").unwrap();
    let pem: String = authorities.iter().map(|c| c.pem.as_str()).collect();
    bundle.add_x509_pem(pem.as_bytes()).unwrap();
    AttestationVerifier::new(TrustBundles::new([bundle]), "trust-gateway")
}

fn check(
    v: &AttestationVerifier,
    id: &str,
    certificate: String,
    chain: Vec<String>,
) -> Result<Timestamp, String> {
    let id = SpiffeId::parse(id).unwrap();
    v.verify(Some(&id), &proven(certificate, chain), NOW)
        .map(|a| {
            assert_eq!((a.level, a.strength), (VerificationLevel::Certified, 1.0));
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

#[test]
fn a_certificate_counts_only_with_its_keys_signature_over_the_nonce() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    let id = SpiffeId::parse(ID).unwrap();
    let certificate = leaf(&ca, |_| {});
    let x509 = |nonce: Option<&str>, signature: Option<String>| Attestation::X509 {
        certificate: certificate.clone(),
        chain: vec![],
        nonce: nonce.map(str::to_owned),
        signature,
    };
    // The certificate alone (it is public): checked, then no more than a claim.
    let claim = v.verify(Some(&id), &x509(None, None), NOW).unwrap();
    assert_eq!(claim.kind, tg_identity::AttestationType::SelfDeclared);
    assert_eq!(
        (claim.level, claim.strength),
        (VerificationLevel::Unverified, 0.3)
    );
    assert!(!claim.holds_spiffe_id());
    // Signed by the leaf's key: certified.
    let proof = possession(&certificate, NONCE);
    let ok = v
        .verify(Some(&id), &x509(Some(NONCE), Some(proof.clone())), NOW)
        .unwrap();
    assert_eq!(ok.level, VerificationLevel::Certified);
    assert!(ok.holds_spiffe_id());
    // Over another nonce, by another key, half given, or garbage: refused.
    let other_nonce = possession(&certificate, "another-nonce");
    let other_key = possession(&leaf(&ca, |_| {}), NONCE);
    for (nonce, signature) in [
        (Some(NONCE), Some(other_nonce)),
        (Some(NONCE), Some(other_key)),
        (Some(NONCE), None),
        (None, Some(proof)),
        (Some(NONCE), Some("%%%".to_owned())),
        (Some(NONCE), Some(String::new())),
    ] {
        assert!(v.verify(Some(&id), &x509(nonce, signature), NOW).is_err());
    }
    // A bad certificate is refused before any question of possession.
    let forged = Attestation::X509 {
        certificate: leaf(&root("another root"), |_| {}),
        chain: vec![],
        nonce: None,
        signature: None,
    };
    assert!(v.verify(Some(&id), &forged, NOW).is_err());
}

#[test]
fn possession_is_proven_with_p256_and_ed25519_keys() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ED25519] {
        let key = KeyPair::generate_for(alg).unwrap();
        let certificate = leaf_with_key(&ca, key, |_| {});
        assert!(check(&v, ID, certificate, vec![]).is_ok(), "{alg:?}");
    }
}

#[test]
fn possession_is_proven_with_rsa_pkcs1_and_pss_signatures() {
    use base64::Engine;
    use josekit::jws::RS256;
    use rcgen::SigningKey;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let ca = root("root");
    let pkcs8 = RS256.generate_key_pair(2048).unwrap().to_der_private_key();
    let key = KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.clone()),
        &rcgen::PKCS_RSA_SHA256,
    )
    .unwrap();
    let pkcs1 = b64(&key.sign(NONCE.as_bytes()).unwrap());
    let certificate = leaf_with_key(&ca, key, |_| {});
    let pss = {
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PSS_SHA256,
            &ring::rand::SystemRandom::new(),
            NONCE.as_bytes(),
            &mut signature,
        )
        .unwrap();
        b64(&signature)
    };
    for signature in [pkcs1, pss] {
        assert_eq!(
            tg_identity::verify_possession(&certificate, NONCE, &signature),
            Ok(())
        );
    }
    // An RSA signature over another message is refused.
    let other = b64(&LEAF_KEYS.with(|k| k.borrow()[&certificate].sign(b"another nonce").unwrap()));
    assert!(tg_identity::verify_possession(&certificate, NONCE, &other).is_err());
}

#[test]
fn a_leaf_signed_by_the_bundle_authority_is_certified_until_it_expires() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    let expires = check(&v, ID, leaf(&ca, |_| {}), vec![]).unwrap();
    assert_eq!(expires.to_string(), "2027-06-01T00:00:00Z");
}

#[test]
fn a_leaf_with_an_intermediate_is_accepted() {
    let ca = root("root");
    let mid = intermediate(&ca, |_| {});
    let v = verifier(&[&ca]);
    assert!(check(&v, ID, leaf(&mid, |_| {}), vec![mid.pem.clone()]).is_ok());
    // Without the intermediate the path cannot be built.
    refused(
        check(&v, ID, leaf(&mid, |_| {}), vec![]),
        "does not lead to an authority",
    );
}

#[test]
fn validity_windows_are_checked_against_the_server_clock() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    refused(
        check(
            &v,
            ID,
            leaf(&ca, |p| p.not_after = date_time_ymd(2026, 6, 1)),
            vec![],
        ),
        "expired",
    );
    let future = leaf(&ca, |p| {
        p.not_before = date_time_ymd(2028, 1, 1);
        p.not_after = date_time_ymd(2029, 1, 1);
    });
    refused(check(&v, ID, future, vec![]), "not valid yet");
}

#[test]
fn trust_domains_and_authorities_must_match() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    let other_domain = check(
        &v,
        "spiffe://other.org/agent/a",
        leaf(&ca, |p| {
            p.subject_alt_names = vec![SanType::URI(
                "spiffe://other.org/agent/a".try_into().unwrap(),
            )]
        }),
        vec![],
    );
    assert_eq!(
        other_domain,
        Err(AttestationError::NoTrustBundle("other.org".into()).to_string())
    );
    let stranger = root("stranger");
    refused(
        check(&v, ID, leaf(&stranger, |_| {}), vec![]),
        "does not lead to an authority",
    );
}

#[test]
fn the_leaf_must_name_exactly_the_registered_spiffe_id() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    let two = leaf(&ca, |p| {
        p.subject_alt_names = vec![
            SanType::URI(ID.try_into().unwrap()),
            SanType::URI("spiffe://example.org/agent/other".try_into().unwrap()),
        ]
    });
    refused(check(&v, ID, two, vec![]), "exactly one URI SAN, it has 2");
    let none = leaf(&ca, |p| {
        p.subject_alt_names = vec![SanType::DnsName("bot.example.org".try_into().unwrap())]
    });
    refused(check(&v, ID, none, vec![]), "exactly one URI SAN, it has 0");
    let mismatch = leaf(&ca, |p| {
        p.subject_alt_names = vec![SanType::URI(
            "spiffe://example.org/agent/impostor".try_into().unwrap(),
        )]
    });
    refused(
        check(&v, ID, mismatch, vec![]),
        "is not `spiffe://example.org/agent/email-bot`",
    );
    let root_path = leaf(&ca, |p| {
        p.subject_alt_names = vec![SanType::URI("spiffe://example.org".try_into().unwrap())]
    });
    refused(
        check(&v, "spiffe://example.org", root_path, vec![]),
        "must have a path",
    );
}

#[test]
fn leaf_and_signing_certificate_constraints() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    refused(
        check(
            &v,
            ID,
            leaf(&ca, |p| p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained)),
            vec![],
        ),
        "cA=true",
    );
    refused(
        check(
            &v,
            ID,
            leaf(&ca, |p| {
                p.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyCertSign,
                ]
            }),
            vec![],
        ),
        "keyCertSign",
    );
    refused(
        check(
            &v,
            ID,
            leaf(&ca, |p| {
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign]
            }),
            vec![],
        ),
        "cRLSign",
    );
    refused(
        check(
            &v,
            ID,
            leaf(&ca, |p| {
                p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]
            }),
            vec![],
        ),
        "lacks `digitalSignature`",
    );
    refused(
        check(&v, ID, leaf(&ca, |p| p.key_usages = vec![]), vec![]),
        "no keyUsage",
    );
    let not_ca = intermediate(&ca, |p| p.is_ca = IsCa::ExplicitNoCa);
    refused(
        check(&v, ID, leaf(&not_ca, |_| {}), vec![not_ca.pem.clone()]),
        "is not a CA",
    );
    let no_sign = intermediate(&ca, |p| p.key_usages = vec![KeyUsagePurpose::CrlSign]);
    refused(
        check(&v, ID, leaf(&no_sign, |_| {}), vec![no_sign.pem.clone()]),
        "lacks `keyCertSign`",
    );
}

#[test]
fn malformed_input_is_refused_not_panicked_on() {
    let ca = root("root");
    let v = verifier(&[&ca]);
    refused(check(&v, ID, "not a certificate".into(), vec![]), "no PEM");
    refused(
        check(
            &v,
            ID,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            vec![],
        ),
        "not a valid X.509 certificate",
    );
    let two = format!("{}{}", leaf(&ca, |_| {}), ca.pem);
    refused(check(&v, ID, two, vec![]), "exactly one certificate");
    let chain = vec![ca.pem.clone(); 9];
    refused(check(&v, ID, leaf(&ca, |_| {}), chain), "more than 8");
}

#[test]
fn spiffe_bundle_jwks_carries_x509_authorities() {
    let ca = root("root");
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(ca.pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    use base64::Engine;
    let jwks = serde_json::json!({"keys": [{"use": "x509-svid", "kty": "EC", "crv": "P-256", "x5c": [base64::engine::general_purpose::STANDARD.encode(der)]}]});
    let mut bundle = TrustBundle::new("example.org").unwrap();
    let load = bundle.add_spiffe_jwks(jwks.to_string().as_bytes()).unwrap();
    assert_eq!((load.x509, load.jwt, load.skipped.len()), (1, 0, 0));
    let v = AttestationVerifier::new(TrustBundles::new([bundle]), "trust-gateway");
    assert!(check(&v, ID, leaf(&ca, |_| {}), vec![]).is_ok());
    let mut bad = TrustBundle::new("example.org").unwrap();
    assert!(
        bad.add_spiffe_jwks(br#"{"keys":[{"use":"jwt-svid","kty":"EC"}]}"#)
            .is_err(),
        "jwt-svid key without kid"
    );
    assert!(bad.add_spiffe_jwks(br#"{"keys":[{"use":"sig"}]}"#).is_err());
    assert!(TrustBundle::new("Example.org").is_err());
}

#[test]
fn verification_is_cached_until_the_bundles_change_and_expiry_follows_the_chain() {
    let ca = root("root");
    let mid = intermediate(&ca, |p| p.not_after = date_time_ymd(2027, 3, 1));
    let v = verifier(&[&ca]);
    let certificate = leaf(&mid, |_| {});
    let first = check(&v, ID, certificate.clone(), vec![mid.pem.clone()]);
    assert_eq!(
        first.map(|t| t.to_string()),
        Ok("2027-03-01T00:00:00Z".into()),
        "the intermediate expires first"
    );
    assert_eq!(
        check(&v, ID, certificate.clone(), vec![mid.pem.clone()]).map(|t| t.to_string()),
        Ok("2027-03-01T00:00:00Z".into())
    );
    // New bundles without this root: the cached success must not survive.
    let other = root("other");
    let mut bundle = TrustBundle::new("example.org").unwrap();
    bundle.add_x509_pem(other.pem.as_bytes()).unwrap();
    v.replace_bundles(TrustBundles::new([bundle]));
    refused(
        check(&v, ID, certificate, vec![mid.pem.clone()]),
        "does not lead to an authority",
    );
}
