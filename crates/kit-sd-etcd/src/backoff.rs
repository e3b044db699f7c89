//! Pauses between retries: exponential, capped, with jitter.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The pauses between retries after failures: from `min`, doubling up to `max`; each is
/// cut by a random part of up to a half, so that many clients failing together spread out.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    random: RandomState,
    waits: u64,
}

impl Backoff {
    pub(crate) fn new((min, max): (Duration, Duration)) -> Backoff {
        Backoff {
            min,
            max,
            next: min,
            random: RandomState::new(),
            waits: 0,
        }
    }

    /// Back to the shortest pause, after a success.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }

    /// Sleeps for the next pause.
    pub(crate) async fn wait(&mut self) {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max);
        self.waits += 1;
        // A fraction in [0.5, 1) from a randomly keyed hash of the wait's number.
        let fraction = 0.5 + (self.random.hash_one(self.waits) >> 11) as f64 / (1u64 << 54) as f64;
        tokio::time::sleep(pause.mul_f64(fraction)).await;
    }
}
