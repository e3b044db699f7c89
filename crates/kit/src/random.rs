//! Cheap random ids: a process-wide counter, keyed by the process's random hash keys.
//!
//! Not a cryptographic generator: ids are unique within the process (the counter) and
//! unpredictable across processes (the keys come from the operating system's randomness
//! once per process), which is what request and trace ids need.

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// 128 new random bits (never the same twice in a process).
pub(crate) fn next_u128() -> u128 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let keys = KEYS.get_or_init(RandomState::new);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let high = keys.hash_one(n);
    let low = mix(high ^ n);
    (u128::from(high) << 64) | u128::from(low)
}

/// SplitMix64's finalizer: spreads `x`'s bits over the whole word (one keyed hash per id is
/// enough to make them unpredictable; this stretches it to 128 bits).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Lowercase hex digits (written by hand: `format!` costs ten times as much).
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex into `out`, two digits per byte (`out` is twice as long).
pub(crate) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    debug_assert_eq!(out.len(), bytes.len() * 2);
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
}
