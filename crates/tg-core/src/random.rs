use ring::rand::{SecureRandom, SystemRandom};

/// `N` bytes from the operating system's CSPRNG.
///
/// The OS random source failing is not a condition a service can continue under
/// (every key and identifier would be guessable), so it aborts the process.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if SystemRandom::new().fill(&mut out).is_err() {
        // Fail closed: never hand out predictable identifiers or secrets.
        std::process::abort();
    }
    out
}

/// `N` random bytes, hex encoded (lowercase, `2 * N` characters).
pub fn random_hex<const N: usize>() -> String {
    hex::encode(random_bytes::<N>())
}
