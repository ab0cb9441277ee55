#![no_main]

use tg_identity::{SpiffeId, TrustBundle, verify_x509_svid};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The input is split into a leaf PEM and a chain PEM at the first NUL.
    let text = String::from_utf8_lossy(data);
    let (leaf, chain) = text.split_once('\0').unwrap_or((&text, ""));
    let mut bundle = TrustBundle::new("example.org").expect("valid trust domain");
    let _ = bundle.add_x509_pem(chain.as_bytes());
    let id = SpiffeId::parse("spiffe://example.org/a").expect("valid id");
    let _ = verify_x509_svid(&bundle, &id, leaf, &[chain.to_owned()], tg_core::Timestamp::from_secs(1_798_761_600));
});
