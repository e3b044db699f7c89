use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Exponential backoff with full jitter: the wait before retry `n` (the first is 0) is
/// uniformly random between zero and `min(cap, base × 2ⁿ)` (AWS's "full jitter"), so that
/// clients that failed together do not retry together.
///
/// ```
/// use std::time::Duration;
/// use kit::middleware::retry::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
/// assert_eq!(backoff.ceiling(0), Duration::from_millis(10));
/// assert_eq!(backoff.ceiling(3), Duration::from_millis(80));
/// assert_eq!(backoff.ceiling(20), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// Waits of up to `base`, doubling after each retry, never more than `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap }
    }

    /// No wait between attempts.
    pub const fn none() -> Backoff {
        Backoff::new(Duration::ZERO, Duration::ZERO)
    }

    /// The longest wait before retry `retry` (the first is 0): `min(cap, base × 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A wait before retry `retry` (the first is 0), uniform in `[0, ceiling(retry)]`: for
    /// loops that try again by themselves (a registry client reconnecting, a registrar
    /// registering), so that processes that failed together do not retry together.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kit::middleware::retry::Backoff;
    ///
    /// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    /// assert!(backoff.random_delay(2) <= Duration::from_millis(400));
    /// ```
    pub fn random_delay(&self, retry: u32) -> Duration {
        static JITTER: OnceLock<Jitter> = OnceLock::new();
        self.delay(retry, JITTER.get_or_init(Jitter::random))
    }

    /// The waits of a loop that tries again by itself after each failure, from the first.
    pub fn waits(self) -> Waits {
        Waits {
            backoff: self,
            retry: 0,
        }
    }

    /// The wait before retry `retry`: uniform in `[0, ceiling(retry)]`, drawn from `jitter`.
    pub(crate) fn delay(&self, retry: u32, jitter: &Jitter) -> Duration {
        let ceiling = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        // Lemire's multiply-shift maps a 64-bit draw onto [0, ceiling] without division.
        let nanos = (u128::from(jitter.next()) * (u128::from(ceiling) + 1)) >> 64;
        Duration::from_nanos(nanos as u64)
    }
}

/// The successive waits of a [`Backoff`], for a loop that tries again by itself (a registry
/// client reconnecting, a watch re-established): each [`wait`](Waits::wait) sleeps for the
/// next random delay, and a success [`reset`](Waits::reset)s them to the first.
#[derive(Debug, Clone)]
pub struct Waits {
    backoff: Backoff,
    retry: u32,
}

impl Waits {
    /// The next wait ([`Backoff::random_delay`] of the retries so far), counting it.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.backoff.random_delay(self.retry);
        self.retry = self.retry.saturating_add(1);
        delay
    }

    /// Sleeps for the [next wait](Waits::next_delay).
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }

    /// Back to the first wait, after a success.
    pub fn reset(&mut self) {
        self.retry = 0;
    }
}

/// The random numbers of backoff jitter: splitmix64 over one shared atomic counter, so that
/// every clone of a policy draws from one sequence without a lock, and a seed makes it
/// reproducible (tests).
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: Arc<AtomicU64>,
}

impl Jitter {
    /// A sequence starting from `seed`.
    pub(crate) fn seeded(seed: u64) -> Jitter {
        Jitter {
            state: Arc::new(AtomicU64::new(seed)),
        }
    }

    /// A sequence seeded by the process's per-map hashing keys (random at start).
    pub(crate) fn random() -> Jitter {
        Jitter::seeded(RandomState::new().hash_one(0u8))
    }

    /// A number uniform in `[0, n)`; `n` must not be 0.
    pub(crate) fn below(&self, n: usize) -> usize {
        // Lemire's multiply-shift, as for delays.
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    fn next(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
