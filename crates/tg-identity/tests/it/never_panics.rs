//! A stable-toolchain stand-in for the fuzz targets in `/fuzz`: tens of thousands of
//! mutated inputs through the SPIFFE ID parser and the X509-SVID verifier. Neither may panic.

use tg_core::Timestamp;
use tg_identity::{SpiffeId, TrustBundle, verify_x509_svid};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(v.len() + 1);
                const ALPHABET: &[u8] = b"/.%:@?#A\0\xff-_";
                v.insert(i, ALPHABET[rng.below(ALPHABET.len())]);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                v.truncate(i);
            }
        }
    }
    v
}

#[test]
fn the_spiffe_id_parser_never_panics() {
    let seeds: [&[u8]; 4] = [
        b"spiffe://example.org/agent/a",
        b"spiffe://a.b-c_d/x/y/z",
        b"spiffe://example.org",
        b"spiffe://x/",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for i in 0..50_000 {
        let input = mutate(&mut rng, seeds[i % seeds.len()]);
        if let Ok(s) = std::str::from_utf8(&input)
            && let Ok(id) = SpiffeId::parse(s)
        {
            assert_eq!(id.to_string(), s, "accepted IDs print back exactly");
        }
    }
}

#[test]
fn the_x509_verifier_never_panics() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = p.self_signed(&ca_key).unwrap().pem();
    let mut bundle = TrustBundle::new("example.org").unwrap();
    bundle.add_x509_pem(ca.as_bytes()).unwrap();
    let id = SpiffeId::parse("spiffe://example.org/a").unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3_000 {
        let leaf = String::from_utf8_lossy(&mutate(&mut rng, ca.as_bytes())).into_owned();
        let chain = vec![String::from_utf8_lossy(&mutate(&mut rng, ca.as_bytes())).into_owned()];
        let _ = verify_x509_svid(
            &bundle,
            &id,
            &leaf,
            &chain,
            Timestamp::from_secs(1_798_761_600),
        );
    }
}
