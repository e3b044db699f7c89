use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::backoff::Jitter;
use super::{Backoff, RetryBudget};
use crate::Error;
use crate::error::{ByCode, Classifier};

/// When and how a [`Retry`](super::Retry) tries a call again; [`RetryPolicy::default`] is
/// ready-made for the common case.
///
/// | setting | default |
/// |---|---|
/// | [`max_attempts`](RetryPolicy::max_attempts) | 3 (the first attempt and two retries) |
/// | [`timeout`](RetryPolicy::timeout) (all attempts and waits together) | none: the caller's deadline, if any |
/// | [`backoff`](RetryPolicy::backoff) | full jitter, 10 ms doubling up to 1 s |
/// | [`classifier`](RetryPolicy::classifier) | [`ByCode`] |
/// | [`idempotent`](RetryPolicy::idempotent) | `false`: a call that may have run is not retried |
/// | [`budget`](RetryPolicy::budget) | a [`RetryBudget::default`] of its own (20% + 10/s) |
/// | [`on_retry`](RetryPolicy::on_retry) | none |
///
/// Cloning a policy shares its budget, its callback and its jitter sequence.
#[derive(Clone)]
pub struct RetryPolicy {
    pub(super) max_attempts: u32,
    pub(super) timeout: Option<Duration>,
    pub(super) backoff: Backoff,
    pub(super) jitter: Jitter,
    pub(super) classifier: Arc<dyn Classifier>,
    pub(super) idempotent: bool,
    pub(super) budget: RetryBudget,
    pub(super) on_retry: Option<Arc<OnRetry>>,
}

type OnRetry = dyn Fn(u32, &Error) -> bool + Send + Sync;

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            timeout: None,
            backoff: Backoff::new(Duration::from_millis(10), Duration::from_secs(1)),
            jitter: Jitter::random(),
            classifier: Arc::new(ByCode),
            idempotent: false,
            budget: RetryBudget::default(),
            on_retry: None,
        }
    }
}

impl RetryPolicy {
    /// The default policy; see the table above.
    pub fn new() -> RetryPolicy {
        RetryPolicy::default()
    }

    /// Makes at most `attempts` attempts in all (1: no retries).
    ///
    /// # Panics
    ///
    /// If `attempts` is 0.
    pub fn max_attempts(mut self, attempts: u32) -> RetryPolicy {
        assert!(attempts > 0, "a call needs at least one attempt");
        self.max_attempts = attempts;
        self
    }

    /// Gives all attempts and the waits between them `timeout` together (Go kit's
    /// `lb.Retry`), or less if the caller's deadline is earlier. Each attempt gets what is
    /// left; a wait that would pass the deadline is not made.
    pub fn timeout(mut self, timeout: Duration) -> RetryPolicy {
        self.timeout = Some(timeout);
        self
    }

    /// Waits between attempts as `backoff` says.
    pub fn backoff(mut self, backoff: Backoff) -> RetryPolicy {
        self.backoff = backoff;
        self
    }

    /// Draws the backoff's jitter from a sequence starting at `seed`, the same on every run
    /// (tests), instead of a random one.
    pub fn jitter_seed(mut self, seed: u64) -> RetryPolicy {
        self.jitter = Jitter::seeded(seed);
        self
    }

    /// Decides which errors are retryable with `classifier` instead of by their code.
    pub fn classifier(mut self, classifier: impl Classifier) -> RetryPolicy {
        self.classifier = Arc::new(classifier);
        self
    }

    /// Whether the calls are idempotent, so that one that may have run
    /// ([`Delivery::MaybeExecuted`](crate::error::Delivery::MaybeExecuted)) may run again.
    /// Errors marked [`Error::idempotent_call`] say so by themselves.
    pub fn idempotent(mut self, idempotent: bool) -> RetryPolicy {
        self.idempotent = idempotent;
        self
    }

    /// Draws retries from `budget`, which may be shared with other policies and endpoints.
    pub fn budget(mut self, budget: RetryBudget) -> RetryPolicy {
        self.budget = budget;
        self
    }

    /// Asks `on_retry` before each retry, with the number of the attempt that failed
    /// (counted from 1) and its error; returning `false` ends the call with that error. It
    /// is asked only about retries the rest of the policy would make (the error may be
    /// retried, attempts and time are left), before the budget is drawn on.
    pub fn on_retry(
        mut self,
        on_retry: impl Fn(u32, &Error) -> bool + Send + Sync + 'static,
    ) -> RetryPolicy {
        self.on_retry = Some(Arc::new(on_retry));
        self
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("idempotent", &self.idempotent)
            .field("budget", &self.budget)
            .field("on_retry", &self.on_retry.is_some())
            .finish_non_exhaustive()
    }
}
