use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Server, fresh_db, start_on};

/// A CA (PEM) and a way to issue X509-SVID leaves under it.
struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_pem = p.self_signed(&key).unwrap().pem();
        Pki {
            ca_pem,
            issuer: Issuer::new(p, key),
        }
    }

    fn svid(&self, spiffe_id: &str) -> Svid {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = vec![SanType::URI(spiffe_id.try_into().unwrap())];
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        Svid {
            pem: p.signed_by(&key, &self.issuer).unwrap().pem(),
            key,
        }
    }
}

/// An X509-SVID leaf and its key.
pub(crate) struct Svid {
    pem: String,
    key: KeyPair,
}

impl Svid {
    fn sign(&self, nonce: &str) -> String {
        use base64::Engine;
        use rcgen::SigningKey;
        base64::engine::general_purpose::STANDARD.encode(self.key.sign(nonce.as_bytes()).unwrap())
    }

    /// The certificate alone (it is public: anyone can present it).
    fn bare(&self) -> Value {
        json!({"type": "x509", "certificate": self.pem, "chain": []})
    }

    /// With proof of possession: the key's signature over a fresh nonce for `key`'s account.
    async fn proven(&self, s: &Server, key: &str) -> Value {
        let nonce = nonce(s, key).await;
        json!({"type": "x509", "certificate": self.pem, "chain": [], "nonce": nonce, "signature": self.sign(&nonce)})
    }
}

async fn nonce(s: &Server, key: &str) -> String {
    let (status, n) = s
        .call_as(key, Method::POST, "/attestation/nonce", None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{n}");
    assert_eq!(n["expires_in"], 120);
    n["nonce"].as_str().unwrap().to_owned()
}

/// X509-SVID attestation end to end: bundles from `TRUST_BUNDLE_DIR`, registration at
/// level 3, refusal with the reason, re-attestation, reload of a changed directory.
pub async fn x509_attestation_is_verified_against_trust_bundles(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let bundles = dir.path().join("bundles");
    std::fs::create_dir(&bundles).unwrap();
    let example = Pki::new("example.org CA");
    std::fs::write(bundles.join("example.org.pem"), &example.ca_pem).unwrap();
    let s = start_on(&db, dir, &[("TRUST_BUNDLE_DIR", bundles.to_str().unwrap())]).await;

    let (_, listed) = s.get("/admin/trust-bundles").await;
    assert_eq!(
        listed["bundles"],
        json!([{"trust_domain": "example.org", "x509_authorities": 1, "jwt_authorities": []}])
    );

    let id = "spiffe://example.org/agent/email-bot";
    let register = |name: &str, spiffe: &str, attestation: Value| {
        json!({"name": name, "provider": "openai", "config_hash": "h", "spiffe_id": spiffe,
               "attestation": attestation})
    };
    let (status, agent) = s
        .post(
            "/agents/register",
            register("email-bot", id, example.svid(id).proven(&s, &s.key).await),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    assert_eq!(
        (
            agent["attestation_type"].clone(),
            agent["verification_level"].clone()
        ),
        (json!("x509"), json!(3))
    );
    assert!(agent["attestation_expires_at"].as_str().is_some());
    let (_, trust) = s
        .get(&format!("/agents/{}/trust", agent["id"].as_str().unwrap()))
        .await;
    assert_eq!(trust["identity_score"], 1.0);

    // A leaf from a CA outside the bundle: refused, with the reason, nothing stored.
    let stranger = Pki::new("stranger");
    let (status, body) = s
        .post(
            "/agents/register",
            register(
                "impostor",
                "spiffe://example.org/agent/impostor",
                stranger
                    .svid("spiffe://example.org/agent/impostor")
                    .proven(&s, &s.key)
                    .await,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("does not lead to an authority"),
        "{body}"
    );
    let (_, stats) = s.get("/stats").await;
    assert_eq!(stats["total_agents"], 1);

    // A self-declared agent re-attests with an SVID and becomes certified.
    let later = "spiffe://example.org/agent/later";
    let (_, plain) = s
        .post(
            "/agents/register",
            json!({"name": "later", "provider": "p", "config_hash": "h", "spiffe_id": later}),
        )
        .await;
    assert_eq!(plain["verification_level"], 0);
    let path = format!("/agents/{}/attestation", plain["id"].as_str().unwrap());
    let (status, body) = s
        .post(
            &path,
            json!({"attestation": stranger.svid(later).proven(&s, &s.key).await}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, upgraded) = s
        .post(
            &path,
            json!({"attestation": example.svid(later).proven(&s, &s.key).await}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upgraded}");
    assert_eq!(upgraded["verification_level"], 3);

    // A new trust domain appears in the directory: reload picks it up.
    let other = Pki::new("other.org CA");
    let other_id = "spiffe://other.org/agent/a";
    let (status, _) = s
        .post(
            "/agents/register",
            register("a", other_id, other.svid(other_id).proven(&s, &s.key).await),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    std::fs::write(bundles.join("other.org.pem"), &other.ca_pem).unwrap();
    let (status, reloaded) = s.post("/admin/trust-bundles/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reloaded["bundles"].as_array().unwrap().len(), 2);
    let (status, body) = s
        .post(
            "/agents/register",
            register("a", other_id, other.svid(other_id).proven(&s, &s.key).await),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A broken file does not replace the working bundles.
    std::fs::write(bundles.join("broken.org.pem"), "not a certificate").unwrap();
    let (status, body) = s.post("/admin/trust-bundles/reload", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("broken.org.pem"));
    let (_, listed) = s.get("/admin/trust-bundles").await;
    assert_eq!(listed["bundles"].as_array().unwrap().len(), 2);
}

/// Issue 13's red-team cases on identity: a certificate is public, so without its key's
/// signature over a gateway nonce it is only a claim; a claim never blocks the registration
/// that proves the SPIFFE ID, which supersedes it; nonces are single-use and per account.
pub async fn certificates_count_only_with_proof_of_possession(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let bundles = dir.path().join("bundles");
    std::fs::create_dir(&bundles).unwrap();
    let pki = Pki::new("example.org CA");
    std::fs::write(bundles.join("example.org.pem"), &pki.ca_pem).unwrap();
    let s = start_on(
        &db,
        dir,
        &[
            ("TRUST_BUNDLE_DIR", bundles.to_str().unwrap()),
            ("WEBHOOK_ALLOW_NETS", "127.0.0.0/8"),
        ],
    )
    .await;
    let (_, acme) = s.tenant("acme").await;
    let (_, squatter) = s.tenant("squatter").await;
    // The squatter hears when its claim is superseded.
    let mut hooks = crate::webhooks::receiver(vec![]).await;
    let (status, hook) = s
        .call_as(
            &squatter,
            Method::POST,
            "/config/webhooks",
            Some(json!({"url": hooks.url, "events": ["identity_superseded"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let payments = "spiffe://example.org/agent/payments";
    let svid = pki.svid(payments);
    let register = |key: &str, name: &str, attestation: Option<Value>| {
        let mut body =
            json!({"name": name, "provider": "p", "config_hash": "h", "spiffe_id": payments});
        if let Some(a) = attestation {
            body["attestation"] = a;
        }
        let (s, key) = (&s, key.to_owned());
        async move {
            s.call_as(&key, Method::POST, "/agents/register", Some(body))
                .await
        }
    };

    // The squatter presents the (public) certificate without its key: only a claim.
    let (status, claim) = register(&squatter, "payments", Some(svid.bare())).await;
    assert_eq!(status, StatusCode::CREATED, "{claim}");
    assert_eq!(
        (
            claim["attestation_type"].clone(),
            claim["verification_level"].clone()
        ),
        (json!("self_declared"), json!(0))
    );
    assert!(
        !claim["badges"]
            .as_array()
            .unwrap()
            .contains(&json!("certified"))
    );
    let (status, second_claim) = register(&squatter, "payments-2", None).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "claims never block claims: {second_claim}"
    );

    // Half a proof, another key's signature, a reused nonce, another account's nonce: 422.
    let n = nonce(&s, &acme).await;
    let other_key = pki.svid(payments).sign(&n);
    let cases = [
        json!({"type": "x509", "certificate": svid.pem, "nonce": n}),
        json!({"type": "x509", "certificate": svid.pem, "nonce": n, "signature": other_key}),
        json!({"type": "x509", "certificate": svid.pem, "nonce": nonce(&s, &squatter).await, "signature": svid.sign(&n)}),
    ];
    for attestation in cases {
        let (status, body) = register(&acme, "real", Some(attestation.clone())).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{attestation}: {body}"
        );
    }
    let squatters_nonce = nonce(&s, &squatter).await;
    let stolen = json!({"type": "x509", "certificate": svid.pem, "nonce": squatters_nonce, "signature": svid.sign(&squatters_nonce)});
    let (status, body) = register(&acme, "real", Some(stolen)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another account's nonce: {body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("nonce"), "{body}");

    // The holder proves it: certified, and the claims are superseded, not in the way.
    let n = nonce(&s, &acme).await;
    let proof =
        json!({"type": "x509", "certificate": svid.pem, "nonce": n, "signature": svid.sign(&n)});
    let (status, real) = register(&acme, "real", Some(proof.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{real}");
    assert_eq!(
        (
            real["attestation_type"].clone(),
            real["verification_level"].clone()
        ),
        (json!("x509"), json!(3))
    );
    assert!(
        real["badges"]
            .as_array()
            .unwrap()
            .contains(&json!("certified"))
    );
    let (status, _) = register(&acme, "real-again", Some(proof)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a nonce is single-use"
    );
    for superseded in [&claim, &second_claim] {
        let id = superseded["id"].as_str().unwrap();
        let (_, a) = s.get(&format!("/agents/{id}")).await;
        assert!(a["spiffe_id"].is_null(), "{a}");
        let (_, trail) = s
            .get(&format!("/agents/{id}/audit?type=identity_superseded"))
            .await;
        let events = trail["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{trail}");
        assert_eq!(events[0]["details"]["superseded_by"], real["id"]);
        assert_eq!(events[0]["details"]["spiffe_id"], payments);
    }
    let heard = hooks.until("identity_superseded").await;
    assert_eq!(heard.body["data"]["spiffe_id"], payments);
    assert_eq!(heard.body["data"]["superseded_by"], real["id"]);

    // Now the ID is held: neither a claim nor another proof may take it.
    let taken = format!("spiffe_id `{payments}` is already registered to an active agent");
    let (status, body) = register(&squatter, "payments-3", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["detail"], taken);
    let (_, other) = s.tenant("other").await;
    let other_proof = pki.svid(payments);
    let attestation = other_proof.proven(&s, &other).await;
    let (status, body) = register(&other, "payments", Some(attestation)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["detail"], taken);

    // Nonces are bounded per account.
    for _ in 0..98 {
        nonce(&s, &squatter).await;
    }
    let (status, body) = s
        .call_as(&squatter, Method::POST, "/attestation/nonce", None)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

/// The SPIFFE ID rules, through the registration endpoint.
pub async fn spiffe_ids_are_parsed_strictly_at_registration(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let s = start_on(&db, dir, &[]).await;
    let refused = [
        "SPIFFE://example.org/a",
        "spiffe://Example.org/a",
        "spiffe://example.org:8443/a",
        "spiffe://user@example.org/a",
        "spiffe://example.org/a%20b",
        "spiffe://example.org/a?x=1",
        "spiffe://example.org/a#f",
        "spiffe://example.org//a",
        "spiffe://example.org/./a",
        "spiffe://example.org/a/..",
        "spiffe://example.org/a/",
        "spiffe://",
        "https://example.org/a",
    ];
    for (i, id) in refused.iter().enumerate() {
        let (status, body) = s.post("/agents/register", json!({"name": format!("r{i}"), "provider": "p", "config_hash": "h", "spiffe_id": id})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{id}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("spiffe_id"),
            "{id}: {body}"
        );
    }
    let long = format!("spiffe://example.org/{}", "a".repeat(2049));
    let (status, _) = s
        .post(
            "/agents/register",
            json!({"name": "long", "provider": "p", "config_hash": "h", "spiffe_id": long}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (i, id) in [
        "spiffe://example.org/agent/a",
        "spiffe://a-b_c.9/A.b-C_9",
        "spiffe://example.org",
    ]
    .iter()
    .enumerate()
    {
        let (status, body) = s.post("/agents/register", json!({"name": format!("ok{i}"), "provider": "p", "config_hash": "h", "spiffe_id": id})).await;
        assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
        assert_eq!(body["spiffe_id"], *id);
    }
}

/// JWT-SVID attestation over HTTP, with the key from a `<domain>.jwks.json` SPIFFE bundle.
pub async fn jwt_svid_attestation_over_http(backend: Backend) {
    let (s, svid) = crate::support::jwt_svid_server(backend).await;
    let id = "spiffe://example.org/agent/jwt-bot";
    let register = |token: String| json!({"name": "jwt-bot", "provider": "p", "config_hash": "h", "spiffe_id": id, "attestation": {"type": "jwt", "token": token}});
    let (status, body) = s
        .post("/agents/register", register(svid(id, "someone-else")))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"].as_str().unwrap().contains("audience"),
        "{body}"
    );
    let (status, agent) = s
        .post("/agents/register", register(svid(id, "trust-gateway")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    assert_eq!(
        (
            agent["attestation_type"].clone(),
            agent["verification_level"].clone()
        ),
        (json!("jwt"), json!(2))
    );
    let (_, trust) = s
        .get(&format!("/agents/{}/trust", agent["id"].as_str().unwrap()))
        .await;
    assert_eq!(trust["identity_score"], 0.9);
}
