//! The push recorders' histogram storage: at most `cap` values kept per flush interval,
//! the rest counted and summarised (count, sum, min, max) in atomics.
//!
//! Two halves take turns: writers record into the active one, and a flush makes the other
//! active, waits until the writers still inside the old half have left (each stays for one
//! push), and reads it out undisturbed. The wait is what makes a flush exact: every value is
//! in exactly one flush, and a half's count, kept values and over-cap statistics describe the
//! same values. Without it, `AtomicBucket::clear_with` can miss a push that started just
//! before it (the value lands in a block it has already read).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use metrics::HistogramFn;
use metrics_util::storage::AtomicBucket;

/// Bits of [`Half::state`] that count the writers inside the half; the bits above count
/// the values recorded to it (2^40 per interval before it wraps).
const WRITER_BITS: u32 = 24;
const ONE_WRITER: u64 = 1;
const ONE_VALUE: u64 = 1 << WRITER_BITS;
const WRITERS: u64 = ONE_VALUE - 1;

/// A histogram of a push recorder: see the [module docs](self).
#[derive(Debug)]
pub(crate) struct CappedHistogram {
    cap: u64,
    /// Which of `halves` writers record into (0 or 1); only a flush changes it.
    active: AtomicUsize,
    halves: [Half; 2],
}

#[derive(Debug, Default)]
struct Half {
    /// Writers inside (low [`WRITER_BITS`]) and values recorded (above).
    state: AtomicU64,
    /// The first `cap` values recorded.
    kept: AtomicBucket<f64>,
    /// The sum, smallest and largest of the values beyond the cap (as `f64` bits).
    over_sum: AtomicU64,
    over_min: AtomicU64,
    over_max: AtomicU64,
}

/// What a flush takes from one histogram.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Taken {
    /// The values kept: at most the cap.
    pub(crate) kept: Vec<f64>,
    /// The values beyond the cap: their number, sum, smallest and largest.
    pub(crate) over: OverCap,
}

/// The values recorded beyond the cap in one interval, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OverCap {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl OverCap {
    /// Nothing over the cap.
    #[cfg(test)]
    pub(crate) const NONE: OverCap = OverCap {
        count: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };
}

impl Half {
    fn new() -> Half {
        let half = Half::default();
        half.reset_over();
        half
    }

    fn reset_over(&self) -> (f64, f64, f64) {
        let swap = |atomic: &AtomicU64, value: f64| {
            f64::from_bits(atomic.swap(value.to_bits(), Ordering::Relaxed))
        };
        (
            swap(&self.over_sum, 0.0),
            swap(&self.over_min, f64::INFINITY),
            swap(&self.over_max, f64::NEG_INFINITY),
        )
    }

    /// Adds `value` to the over-cap statistics.
    fn add_over(&self, value: f64) {
        let update = |atomic: &AtomicU64, merge: fn(f64, f64) -> Option<f64>| {
            let mut current = atomic.load(Ordering::Relaxed);
            while let Some(new) = merge(f64::from_bits(current), value) {
                match atomic.compare_exchange_weak(
                    current,
                    new.to_bits(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(actual) => current = actual,
                }
            }
        };
        update(&self.over_sum, |sum, v| Some(sum + v));
        update(&self.over_min, |min, v| (v < min).then_some(v));
        update(&self.over_max, |max, v| (v > max).then_some(v));
    }
}

impl CappedHistogram {
    pub(crate) fn new(cap: usize) -> CappedHistogram {
        CappedHistogram {
            cap: cap as u64,
            active: AtomicUsize::new(0),
            halves: [Half::new(), Half::new()],
        }
    }

    /// Takes what was recorded since the last call, `None` when nothing was. Only the flush
    /// task calls it (never two at once).
    pub(crate) fn take(&self) -> Option<Taken> {
        let old = self.active.load(Ordering::SeqCst);
        self.active.store(1 - old, Ordering::SeqCst);
        let half = &self.halves[old];
        // Writers that entered before the switch push one value and leave.
        let mut spins = 0u32;
        let state = loop {
            let state = half.state.load(Ordering::SeqCst);
            if state & WRITERS == 0 {
                break state;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                // A writer was preempted inside: let it run.
                std::thread::yield_now();
            }
        };
        let recorded = state >> WRITER_BITS;
        if recorded == 0 {
            return None;
        }
        let mut kept = Vec::with_capacity(recorded.min(self.cap) as usize);
        half.kept.clear_with(|chunk| kept.extend_from_slice(chunk));
        let (sum, min, max) = half.reset_over();
        let over = OverCap {
            count: recorded - kept.len() as u64,
            sum,
            min,
            max,
        };
        // Subtracted rather than stored: a writer that read the old `active` may be passing
        // through (it adds, sees the switch, and takes its addition back).
        half.state
            .fetch_sub(recorded << WRITER_BITS, Ordering::SeqCst);
        Some(Taken { kept, over })
    }

    /// Values held now, in both halves (at most the cap in each).
    pub(crate) fn held(&self) -> usize {
        let mut held = 0;
        for half in &self.halves {
            half.kept.data_with(|chunk| held += chunk.len());
        }
        held
    }
}

impl HistogramFn for CappedHistogram {
    fn record(&self, value: f64) {
        // Not sent by any backend: not kept, not counted.
        if !value.is_finite() {
            return;
        }
        loop {
            let active = self.active.load(Ordering::SeqCst);
            let half = &self.halves[active];
            let before = half
                .state
                .fetch_add(ONE_VALUE | ONE_WRITER, Ordering::SeqCst);
            if self.active.load(Ordering::SeqCst) != active {
                // A flush switched halves in between and may be reading this one.
                half.state
                    .fetch_sub(ONE_VALUE | ONE_WRITER, Ordering::SeqCst);
                continue;
            }
            if before >> WRITER_BITS < self.cap {
                half.kept.push(value);
            } else {
                half.add_over(value);
            }
            half.state.fetch_sub(ONE_WRITER, Ordering::Release);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_cap_values_and_summarises_the_rest() {
        let histogram = CappedHistogram::new(4);
        for value in [5.0, 1.0, 7.0, 3.0, 9.0, -2.0, 4.0, f64::NAN, f64::INFINITY] {
            histogram.record(value);
        }
        assert_eq!(histogram.held(), 4);
        let taken = histogram.take().unwrap();
        assert_eq!(taken.kept, [5.0, 1.0, 7.0, 3.0]);
        assert_eq!(
            taken.over,
            OverCap {
                count: 3,
                sum: 11.0,
                min: -2.0,
                max: 9.0
            }
        );
        assert_eq!(histogram.held(), 0);
        assert_eq!(histogram.take(), None);
        // The next interval starts with room for `cap` again, in the other half.
        histogram.record(2.0);
        let taken = histogram.take().unwrap();
        assert_eq!(taken.kept, [2.0]);
        assert_eq!(taken.over.count, 0);
    }

    #[test]
    fn concurrent_writers_and_flushes_lose_nothing_and_keep_at_most_the_cap() {
        const THREADS: u64 = 4;
        const VALUES: u64 = 50_000;
        const CAP: usize = 100;
        let histogram = CappedHistogram::new(CAP);
        let done = AtomicUsize::new(0);
        let (mut count, mut sum, mut kept_max) = (0, 0.0, 0);
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for i in 1..=VALUES {
                        histogram.record(i as f64);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
            let mut take = || {
                if let Some(taken) = histogram.take() {
                    kept_max = kept_max.max(taken.kept.len());
                    count += taken.kept.len() as u64 + taken.over.count;
                    sum += taken.kept.iter().sum::<f64>() + taken.over.sum;
                }
            };
            while done.load(Ordering::SeqCst) < THREADS as usize {
                take();
            }
            take();
        });
        assert_eq!(count, THREADS * VALUES);
        assert_eq!(sum, (THREADS * VALUES * (VALUES + 1) / 2) as f64);
        assert!(kept_max <= CAP, "{kept_max}");
        assert_eq!(histogram.held(), 0);
    }
}
