//! Randomness from the operating system's CSPRNG.
//!
//! Identifiers are drawn on hot paths (an audit event id per decision, a request id per
//! request), where one `getrandom` system call per draw cost more than the rest of the id.
//! Each thread therefore reads the OS source a block at a time and hands out each byte of
//! it once: every byte is still the kernel's CSPRNG output, used by one draw only.

use std::cell::RefCell;

use ring::rand::{SecureRandom, SystemRandom};

/// Bytes read from the OS at a time, per thread.
const BLOCK: usize = 4096;

struct Pool {
    bytes: [u8; BLOCK],
    /// Bytes of `bytes` already handed out (all of them at first: nothing read yet).
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; BLOCK], used: BLOCK }) };
}

/// Fills `out` from the OS source, aborting if it fails.
///
/// The OS random source failing is not a condition a service can continue under
/// (every key and identifier would be guessable), so it aborts the process.
fn fill_from_os(out: &mut [u8]) {
    if SystemRandom::new().fill(out).is_err() {
        // Fail closed: never hand out predictable identifiers or secrets.
        std::process::abort();
    }
}

/// `N` bytes from the operating system's CSPRNG (read ahead per thread, each byte handed
/// out once).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if N > BLOCK / 4 {
        fill_from_os(&mut out);
        return out;
    }
    POOL.with_borrow_mut(|pool| {
        if BLOCK - pool.used < N {
            fill_from_os(&mut pool.bytes);
            pool.used = 0;
        }
        let end = pool.used + N;
        if let Some(fresh) = pool.bytes.get_mut(pool.used..end) {
            out.copy_from_slice(fresh);
            // Handed out: never again, not even to a later reader of this memory.
            fresh.fill(0);
        }
        pool.used = end;
    });
    out
}

/// `N` random bytes, hex encoded (lowercase, `2 * N` characters).
pub fn random_hex<const N: usize>() -> String {
    hex::encode(random_bytes::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_never_repeat_across_blocks_and_threads() {
        let mut seen = std::collections::HashSet::new();
        // Several blocks' worth on this thread, and more on others.
        for _ in 0..(3 * BLOCK / 16) {
            assert!(seen.insert(random_bytes::<16>()), "a draw repeated");
        }
        let others: Vec<[u8; 16]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..300).map(|_| random_bytes::<16>()).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for draw in others {
            assert!(seen.insert(draw), "a draw repeated across threads");
        }
        // Large draws bypass the pool and are still filled.
        assert_ne!(random_bytes::<2048>(), [0u8; 2048]);
        assert_eq!(random_hex::<8>().len(), 16);
    }
}
