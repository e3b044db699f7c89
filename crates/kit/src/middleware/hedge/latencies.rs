use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, TryLockError};
use std::time::Duration;

/// Latencies up to 2³² µs (71 minutes) are told apart; longer ones count as that.
const MAX_MICROS: u64 = (1 << 32) - 1;
/// Buckets: exact below 8 µs, then four per power of two (at most 25% wide).
const BUCKETS: usize = 124;
/// The estimate is recomputed every this many latencies.
const ESTIMATE_EVERY: u32 = 16;
/// Once the histogram holds this many latencies, every count is halved, so that older
/// latencies weigh half as much as newer ones at each halving.
const HALVE_AT: u64 = 1024;

/// Recent latencies of an endpoint's answers, to hedge at a percentile of them: a
/// histogram of atomic counters with logarithmic buckets, decayed by halving. Recording is
/// two atomic additions; the percentile is recomputed every [`ESTIMATE_EVERY`] latencies,
/// so reading it is one atomic load.
pub(super) struct Latencies {
    percentile: f64,
    initial: Duration,
    counts: [AtomicU32; BUCKETS],
    since_estimate: AtomicU32,
    /// The latest estimate in µs (the upper bound of its bucket); 0 before the first.
    estimate: AtomicU64,
    /// Held to estimate and halve, one thread at a time.
    lock: Mutex<()>,
}

impl Latencies {
    /// Tracks the `percentile` (0 to 1) of the latencies; `initial` until enough are known.
    pub(super) fn new(percentile: f64, initial: Duration) -> Latencies {
        Latencies {
            percentile,
            initial,
            counts: [const { AtomicU32::new(0) }; BUCKETS],
            since_estimate: AtomicU32::new(0),
            estimate: AtomicU64::new(0),
            lock: Mutex::new(()),
        }
    }

    /// The delay to hedge after: the tracked percentile, or `initial` before the first
    /// [`ESTIMATE_EVERY`] latencies.
    pub(super) fn delay(&self) -> Duration {
        match self.estimate.load(Ordering::Relaxed) {
            0 => self.initial,
            micros => Duration::from_micros(micros),
        }
    }

    /// Counts an answer that took `latency`.
    pub(super) fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
        self.counts[bucket(micros)].fetch_add(1, Ordering::Relaxed);
        if self.since_estimate.fetch_add(1, Ordering::Relaxed) + 1 < ESTIMATE_EVERY {
            return;
        }
        let _lock = match self.lock.try_lock() {
            Ok(lock) => lock,
            // The lock guards no data: a panic while it was held leaves nothing broken.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return, // another thread is estimating
        };
        self.since_estimate.store(0, Ordering::Relaxed);
        let counts = self.counts.each_ref().map(|c| c.load(Ordering::Relaxed));
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        let rank = ((self.percentile * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (index, &count) in counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= rank {
                self.estimate.store(upper_bound(index), Ordering::Relaxed);
                break;
            }
        }
        if total >= HALVE_AT {
            for count in &self.counts {
                // Not a read-modify-write: a latency recorded meanwhile may be lost.
                count.store(count.load(Ordering::Relaxed) / 2, Ordering::Relaxed);
            }
        }
    }
}

/// The bucket of a latency of `micros`.
fn bucket(micros: u64) -> usize {
    let micros = micros.min(MAX_MICROS);
    if micros < 8 {
        return micros as usize;
    }
    let top = 63 - micros.leading_zeros();
    let next_two = (micros >> (top - 2)) & 3;
    ((top - 1) * 4) as usize + next_two as usize
}

/// The largest latency in µs that falls into bucket `index`.
fn upper_bound(index: usize) -> u64 {
    if index < 8 {
        return index as u64;
    }
    let top = index as u32 / 4 + 1;
    let next_two = index as u64 % 4;
    ((4 + next_two + 1) << (top - 2)) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_bound_their_latencies() {
        assert_eq!(bucket(MAX_MICROS), BUCKETS - 1);
        assert_eq!(upper_bound(BUCKETS - 1), MAX_MICROS);
        for index in 0..BUCKETS {
            assert_eq!(bucket(upper_bound(index)), index);
        }
        for index in 0..BUCKETS - 1 {
            assert_eq!(bucket(upper_bound(index) + 1), index + 1);
        }
        assert_eq!(upper_bound(bucket(10_000)), 10_239);
    }

    #[test]
    fn the_estimate_is_the_percentile_of_the_latencies_recorded() {
        let latencies = Latencies::new(0.9, Duration::from_secs(1));
        for _ in 0..15 {
            latencies.record(Duration::from_millis(10));
        }
        assert_eq!(latencies.delay(), Duration::from_secs(1), "too few yet");
        latencies.record(Duration::from_millis(500)); // the 16th: 15 of 16 are 10 ms
        assert_eq!(latencies.delay(), Duration::from_micros(10_239));
        for _ in 0..16 {
            latencies.record(Duration::from_millis(500)); // now 17 of 32 are 500 ms
        }
        assert_eq!(latencies.delay(), Duration::from_micros(524_287));
    }
}
