use std::time::Duration;

use tokio::time::Instant;

/// Successes and failures over a rolling time window, kept in buckets (Hystrix's rolling
/// counter): the window slides one bucket at a time, and old buckets are cleared in place,
/// so recording an outcome never allocates.
#[derive(Debug)]
pub(super) struct Window {
    buckets: Box<[Bucket]>,
    width: Duration,
    /// The bucket that `head_start` begins.
    head: usize,
    head_start: Instant,
}

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    successes: u64,
    failures: u64,
}

/// What a [`Window`] holds at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Totals {
    pub(super) successes: u64,
    pub(super) failures: u64,
}

impl Totals {
    pub(super) fn requests(self) -> u64 {
        self.successes + self.failures
    }
}

impl Window {
    /// A window of `length` in `buckets` buckets (at least one, each at least a nanosecond).
    pub(super) fn new(length: Duration, buckets: u32) -> Window {
        let buckets = buckets.max(1);
        Window {
            buckets: vec![Bucket::default(); buckets as usize].into_boxed_slice(),
            width: (length / buckets).max(Duration::from_nanos(1)),
            head: 0,
            head_start: Instant::now(),
        }
    }

    /// Empties the window; it starts again at `now`.
    pub(super) fn clear(&mut self, now: Instant) {
        self.buckets.fill(Bucket::default());
        self.head = 0;
        self.head_start = now;
    }

    /// Records one outcome at `now`.
    pub(super) fn add(&mut self, now: Instant, failure: bool) {
        self.advance(now);
        let bucket = &mut self.buckets[self.head];
        if failure {
            bucket.failures += 1;
        } else {
            bucket.successes += 1;
        }
    }

    /// The outcomes recorded in the window that ends at `now`.
    pub(super) fn totals(&mut self, now: Instant) -> Totals {
        self.advance(now);
        self.buckets
            .iter()
            .fold(Totals::default(), |sum, b| Totals {
                successes: sum.successes + b.successes,
                failures: sum.failures + b.failures,
            })
    }

    /// Moves the head to the bucket that holds `now`, clearing the buckets it passes.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.head_start);
        let steps = elapsed.as_nanos() / self.width.as_nanos();
        if steps == 0 {
            return;
        }
        if steps >= self.buckets.len() as u128 {
            self.clear(now);
            return;
        }
        for _ in 0..steps {
            self.head = (self.head + 1) % self.buckets.len();
            self.buckets[self.head] = Bucket::default();
        }
        self.head_start += self.width * steps as u32;
    }
}
