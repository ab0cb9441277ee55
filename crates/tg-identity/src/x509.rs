//! X509-SVID verification: RFC 5280 path validation (rustls-webpki) to the trust domain's
//! bundle, plus the X509-SVID rules on the leaf and signing certificates.

use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use tg_core::Timestamp;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::{AttestationError, SpiffeId, TrustBundle};

/// Most certificates accepted in a chain (leaf excluded).
pub const MAX_CHAIN: usize = 8;

fn pem_certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, AttestationError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AttestationError::X509(format!("{what} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(AttestationError::X509(format!(
            "{what} holds no PEM `CERTIFICATE` block"
        )));
    }
    Ok(certs)
}

fn parse<'a>(
    der: &'a CertificateDer<'_>,
    what: &str,
) -> Result<X509Certificate<'a>, AttestationError> {
    let (rest, cert) = X509Certificate::from_der(der.as_ref()).map_err(|e| {
        AttestationError::X509(format!("{what} is not a valid X.509 certificate: {e}"))
    })?;
    if !rest.is_empty() {
        return Err(AttestationError::X509(format!("{what} has trailing bytes")));
    }
    Ok(cert)
}

/// `(is_ca, key_usage)` where `key_usage` is `(digitalSignature, keyCertSign, cRLSign)` if present.
fn constraints(cert: &X509Certificate<'_>) -> (bool, Option<(bool, bool, bool)>) {
    let mut ca = false;
    let mut usage = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => ca = bc.ca,
            ParsedExtension::KeyUsage(ku) => {
                usage = Some((ku.digital_signature(), ku.key_cert_sign(), ku.crl_sign()))
            }
            _ => {}
        }
    }
    (ca, usage)
}

fn uri_sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for name in &san.general_names {
                if let GeneralName::URI(uri) = name {
                    out.push((*uri).to_owned());
                }
            }
        }
    }
    out
}

/// Verifies an X509-SVID (`certificate` = leaf PEM, `chain` = intermediates PEM) for
/// `spiffe_id` at `now`. Returns when it stops being valid (the earliest `notAfter` of the
/// leaf and the chain).
pub fn verify_x509_svid(
    bundle: &TrustBundle,
    spiffe_id: &SpiffeId,
    certificate: &str,
    chain: &[String],
    now: Timestamp,
) -> Result<Timestamp, AttestationError> {
    let leaf = pem_certs(certificate, "`certificate`")?;
    let [leaf] = leaf.as_slice() else {
        return Err(AttestationError::X509(
            "`certificate` must hold exactly one certificate (the leaf); put the rest in `chain`"
                .into(),
        ));
    };
    let mut intermediates = Vec::new();
    for (i, pem) in chain.iter().enumerate() {
        intermediates.extend(pem_certs(pem, &format!("`chain[{i}]`"))?);
    }
    if intermediates.len() > MAX_CHAIN {
        return Err(AttestationError::X509(format!(
            "`chain` holds more than {MAX_CHAIN} certificates"
        )));
    }
    if bundle.anchors.is_empty() {
        return Err(AttestationError::NoTrustBundle(
            spiffe_id.trust_domain().to_owned(),
        ));
    }

    // X509-SVID leaf rules.
    let parsed = parse(leaf, "the leaf certificate")?;
    let uris = uri_sans(&parsed);
    let [uri] = uris.as_slice() else {
        return Err(AttestationError::X509(format!(
            "the leaf must have exactly one URI SAN, it has {}",
            uris.len()
        )));
    };
    let leaf_id = SpiffeId::parse(uri).map_err(|e| {
        AttestationError::X509(format!("the leaf's URI SAN is not a SPIFFE ID: {e}"))
    })?;
    if leaf_id != *spiffe_id {
        return Err(AttestationError::X509(format!(
            "the leaf's SPIFFE ID `{leaf_id}` is not `{spiffe_id}`"
        )));
    }
    if spiffe_id.path().is_empty() {
        return Err(AttestationError::X509(
            "an X509-SVID's SPIFFE ID must have a path".into(),
        ));
    }
    let (ca, usage) = constraints(&parsed);
    if ca {
        return Err(AttestationError::X509(
            "the leaf has `cA=true`: an X509-SVID leaf must not be a CA".into(),
        ));
    }
    match usage {
        None => {
            return Err(AttestationError::X509(
                "the leaf has no keyUsage: `digitalSignature` is required".into(),
            ));
        }
        Some((false, _, _)) => {
            return Err(AttestationError::X509(
                "the leaf's keyUsage lacks `digitalSignature`".into(),
            ));
        }
        Some((_, true, _)) => {
            return Err(AttestationError::X509(
                "the leaf's keyUsage has `keyCertSign`".into(),
            ));
        }
        Some((_, _, true)) => {
            return Err(AttestationError::X509(
                "the leaf's keyUsage has `cRLSign`".into(),
            ));
        }
        Some(_) => {}
    }
    // Signing certificates must be CAs allowed to sign certificates. The SVID is good only
    // as long as every certificate in its chain.
    let mut not_after = parsed.validity().not_after.timestamp();
    for (i, der) in intermediates.iter().enumerate() {
        let cert = parse(der, &format!("chain certificate {i}"))?;
        not_after = not_after.min(cert.validity().not_after.timestamp());
        match constraints(&cert) {
            (true, Some((_, true, _))) => {}
            (false, _) => {
                return Err(AttestationError::X509(format!(
                    "chain certificate {i} is not a CA (`cA=true` required)"
                )));
            }
            (true, _) => {
                return Err(AttestationError::X509(format!(
                    "chain certificate {i} lacks `keyCertSign`"
                )));
            }
        }
    }

    // RFC 5280 path validation to the bundle, at `now`.
    let time = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(now.as_secs()).unwrap_or(0),
    ));
    let end_entity = webpki::EndEntityCert::try_from(leaf)
        .map_err(|e| AttestationError::X509(format!("the leaf certificate is malformed: {e:?}")))?;
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &bundle.anchors,
            &intermediates,
            time,
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(|e| AttestationError::X509(path_error(e)))?;
    Ok(Timestamp::from_secs(not_after))
}

fn path_error(e: webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => "a certificate in the chain has expired".into(),
        E::CertNotValidYet { .. } => "a certificate in the chain is not valid yet".into(),
        E::InvalidCertValidity => {
            "a certificate's validity period is malformed (notBefore after notAfter)".into()
        }
        E::UnknownIssuer => {
            "the chain does not lead to an authority of the trust domain's bundle".into()
        }
        E::InvalidSignatureForPublicKey => "a signature in the chain does not verify".into(),
        E::CaUsedAsEndEntity => "the leaf is a CA certificate".into(),
        E::EndEntityUsedAsCa => "a chain certificate is not a CA".into(),
        E::RequiredEkuNotFoundContext(_) => {
            "the leaf's extended key usage does not allow client authentication".into()
        }
        other => format!("path validation failed: {other:?}"),
    }
}
