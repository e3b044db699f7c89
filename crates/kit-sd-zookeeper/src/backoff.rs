//! Waits between attempts that grow after each failure.

use std::time::Duration;

/// The first wait after a failure.
const FIRST: Duration = Duration::from_millis(100);

/// The longest wait: a registry that comes back is noticed within this.
const LONGEST: Duration = Duration::from_secs(2);

/// Exponential backoff from [`FIRST`] to [`LONGEST`], doubling after each failure.
///
/// No jitter: the ZooKeeper client reconnects a broken session by itself, so these waits only
/// pace new sessions and retried reads, which a restarted ensemble does not see all at once.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { next: FIRST }
    }

    /// The wait before the next attempt; each call doubles the one after.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(LONGEST);
        delay
    }

    /// Sleeps for [`next_delay`](Backoff::next_delay).
    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }

    /// Back to the first wait, after a success.
    pub(crate) fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_longest_and_resets() {
        let mut backoff = Backoff::new();
        let delays: Vec<u64> = (0..7)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), FIRST);
    }
}
