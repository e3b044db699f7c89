use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{ByCode, Classifier};
use crate::{Context, Error};

/// A limit on the calls in flight at once (a bulkhead); see the [module docs](super).
///
/// Cloning is cheap and shares the limit: every endpoint wrapped with a clone (or by one
/// layer) counts against the same calls in flight. The builder methods
/// ([`shed_load`](ConcurrencyLimit::shed_load)) make a new, unshared limit, so configure
/// first and clone afterwards.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    shared: Arc<Shared>,
}

struct Shared {
    permits: Permits,
    /// Refuse calls over the limit instead of queueing them.
    shed: bool,
    aimd: Option<Aimd>,
}

impl ConcurrencyLimit {
    fn with(limit: usize, shed: bool, aimd: Option<Aimd>) -> ConcurrencyLimit {
        ConcurrencyLimit {
            shared: Arc::new(Shared {
                permits: Permits::new(limit),
                shed,
                aimd,
            }),
        }
    }

    /// At most `max` calls in flight; calls over it wait for a place, in order of arrival,
    /// within their deadline.
    ///
    /// # Panics
    /// If `max` is zero or larger than tokio's semaphore allows.
    pub fn new(max: usize) -> ConcurrencyLimit {
        assert!(max > 0, "a concurrency limit must let at least one call in");
        ConcurrencyLimit::with(max, false, None)
    }

    /// A limit that follows the callee's latency and failures by `aimd`'s rule, starting at
    /// its initial limit; calls over it wait for a place, as with [`new`](Self::new).
    ///
    /// # Panics
    /// If `aimd`'s minimum is above its maximum.
    pub fn adaptive(aimd: Aimd) -> ConcurrencyLimit {
        assert!(
            aimd.min <= aimd.max,
            "an adaptive limit's minimum ({}) is above its maximum ({})",
            aimd.min,
            aimd.max
        );
        let initial = aimd.initial.clamp(aimd.min, aimd.max);
        ConcurrencyLimit::with(initial, false, Some(aimd))
    }

    /// The same limit, refusing calls over it at once with `ResourceExhausted`
    /// (`overloaded: N calls in flight`) instead of queueing them: load shedding.
    pub fn shed_load(self) -> ConcurrencyLimit {
        let limit = self.limit();
        ConcurrencyLimit::with(limit, true, self.shared.aimd.clone())
    }

    /// The current limit (fixed, or where the adaptive rule has taken it), for metrics.
    pub fn limit(&self) -> usize {
        self.shared.permits.limit.load(Ordering::Acquire)
    }

    /// The calls in flight now, for metrics.
    pub fn in_flight(&self) -> usize {
        self.shared.permits.in_flight()
    }

    /// Takes a place for a call under `ctx`: at once, or after waiting within the context's
    /// deadline and cancellation, or not at all when shedding load.
    pub(super) async fn acquire(&self, ctx: &Context) -> Result<Permit<'_>, Error> {
        let permits = &self.shared.permits;
        let permit = if self.shared.shed {
            permits.semaphore.try_acquire().map_err(|_| {
                Error::resource_exhausted(format!("overloaded: {} calls in flight", self.limit()))
            })?
        } else if let Ok(permit) = permits.semaphore.try_acquire() {
            // A free place (the semaphore hands released places to waiters first, so this
            // passes nobody in the queue): no waiting, so nothing to watch the context for.
            permit
        } else {
            ctx.run(async {
                Ok(permits
                    .semaphore
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"))
            })
            .await?
        };
        Ok(Permit {
            permits,
            permit: Some(permit),
        })
    }

    /// The adaptive rule, if the limit has one.
    pub(super) fn aimd(&self) -> Option<&Aimd> {
        self.shared.aimd.as_ref()
    }

    /// Adapts the limit to a call that took `latency` and ended in `result`, with
    /// `in_flight` calls in flight (itself included) when it started.
    pub(super) fn record<T>(
        &self,
        aimd: &Aimd,
        latency: Duration,
        result: &Result<T, Error>,
        in_flight: usize,
    ) {
        let slow_or_failed = latency > aimd.latency_threshold
            || result
                .as_ref()
                .is_err_and(|err| aimd.classifier.classify(err).failure);
        let permits = &self.shared.permits;
        let next = |limit: usize| aimd.next_limit(limit, slow_or_failed, in_flight);
        let old = permits
            .limit
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |limit| {
                Some(next(limit))
            })
            .expect("the update always returns a limit");
        permits.resize(old, next(old));
    }
}

impl fmt::Debug for ConcurrencyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimit")
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .field("shed", &self.shared.shed)
            .field("aimd", &self.shared.aimd)
            .finish()
    }
}

/// A semaphore whose number of permits can shrink while they are held.
struct Permits {
    semaphore: Semaphore,
    /// The current limit: the permits available and held, less `debt`.
    limit: AtomicUsize,
    /// Held permits to forget when they come back, because the limit shrank below the
    /// calls in flight.
    debt: AtomicUsize,
}

impl Permits {
    fn new(limit: usize) -> Permits {
        Permits {
            semaphore: Semaphore::new(limit),
            limit: AtomicUsize::new(limit),
            debt: AtomicUsize::new(0),
        }
    }

    fn in_flight(&self) -> usize {
        (self.limit.load(Ordering::Acquire) + self.debt.load(Ordering::Acquire))
            .saturating_sub(self.semaphore.available_permits())
    }

    /// Moves the number of permits from `old` to `new`.
    fn resize(&self, old: usize, new: usize) {
        if new > old {
            let more = new - old;
            let owed = self
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |debt| {
                    Some(debt.saturating_sub(more))
                })
                .expect("the update always returns a debt");
            self.semaphore.add_permits(more - owed.min(more));
        } else if new < old {
            let fewer = old - new;
            let forgotten = self.semaphore.forget_permits(fewer);
            self.debt.fetch_add(fewer - forgotten, Ordering::AcqRel);
        }
    }

    /// Takes back a permit: forgets it if the limit shrank below the calls in flight.
    fn release(&self, permit: SemaphorePermit<'_>) {
        let owed = self
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |debt| {
                debt.checked_sub(1)
            });
        if owed.is_ok() {
            permit.forget();
        }
    }
}

/// A call's place under a [`ConcurrencyLimit`], given back when dropped: when the call
/// ends, or when its future is dropped (its client went away).
pub(super) struct Permit<'a> {
    permits: &'a Permits,
    permit: Option<SemaphorePermit<'a>>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.permits.release(permit);
        }
    }
}

/// The additive-increase/multiplicative-decrease rule of an
/// [adaptive](ConcurrencyLimit::adaptive) limit (as in Netflix's concurrency-limits).
///
/// After each call that got a place and ran to its end:
///
/// - if it took longer than the [latency threshold](Aimd::latency_threshold), or failed with
///   an error its [classifier](Aimd::classifier) calls the callee's failure, the limit is
///   multiplied by the [backoff ratio](Aimd::backoff_ratio) (rounded down, never below the
///   [minimum](Aimd::min_limit));
/// - otherwise, if at least half the limit was in use when it started, the limit grows by
///   one, up to the [maximum](Aimd::max_limit). (A limit that is not being used learns
///   nothing from a fast call, and growing it would only let a later burst through.)
///
/// Calls refused by the limit, and calls dropped before they ended, change nothing; errors
/// that are not the callee's failure (the caller's fault, such as `InvalidArgument` or
/// `Cancelled`) count as fast calls.
///
/// | parameter | default |
/// |---|---|
/// | initial limit | 20 |
/// | minimum | 1 |
/// | maximum | 200 |
/// | backoff ratio | 0.9 |
/// | latency threshold | 5 s |
/// | classifier | [`ByCode`] |
#[derive(Clone)]
pub struct Aimd {
    initial: usize,
    min: usize,
    max: usize,
    backoff_ratio: f64,
    latency_threshold: Duration,
    classifier: Arc<dyn Classifier>,
}

impl Default for Aimd {
    fn default() -> Aimd {
        Aimd {
            initial: 20,
            min: 1,
            max: 200,
            backoff_ratio: 0.9,
            latency_threshold: Duration::from_secs(5),
            classifier: Arc::new(ByCode),
        }
    }
}

impl Aimd {
    /// The rule with its default parameters (see the table above).
    pub fn new() -> Aimd {
        Aimd::default()
    }

    /// The limit to start from (raised or lowered into the minimum and maximum).
    pub fn initial_limit(mut self, initial: usize) -> Aimd {
        self.initial = initial;
        self
    }

    /// The lowest the limit goes.
    ///
    /// # Panics
    /// If `min` is zero.
    pub fn min_limit(mut self, min: usize) -> Aimd {
        assert!(min > 0, "an adaptive limit's minimum must be at least 1");
        self.min = min;
        self
    }

    /// The highest the limit goes.
    ///
    /// # Panics
    /// If `max` is larger than tokio's semaphore allows.
    pub fn max_limit(mut self, max: usize) -> Aimd {
        assert!(
            max <= Semaphore::MAX_PERMITS,
            "an adaptive limit's maximum must be at most {}",
            Semaphore::MAX_PERMITS
        );
        self.max = max;
        self
    }

    /// What the limit is multiplied by after a slow or failed call.
    ///
    /// # Panics
    /// If `ratio` is not above 0 and below 1.
    pub fn backoff_ratio(mut self, ratio: f64) -> Aimd {
        assert!(
            ratio > 0.0 && ratio < 1.0,
            "the backoff ratio must be above 0 and below 1"
        );
        self.backoff_ratio = ratio;
        self
    }

    /// Calls that take longer than `threshold` shrink the limit.
    pub fn latency_threshold(mut self, threshold: Duration) -> Aimd {
        self.latency_threshold = threshold;
        self
    }

    /// Decides which errors are the callee's failures (and shrink the limit) with
    /// `classifier` instead of by their code.
    pub fn classifier(mut self, classifier: impl Classifier) -> Aimd {
        self.classifier = Arc::new(classifier);
        self
    }

    /// The limit after a call under `limit` with `in_flight` calls in flight when it started.
    fn next_limit(&self, limit: usize, slow_or_failed: bool, in_flight: usize) -> usize {
        if slow_or_failed {
            // Truncation is the rounding down the rule asks for.
            ((limit as f64 * self.backoff_ratio) as usize).max(self.min)
        } else if in_flight * 2 >= limit {
            (limit + 1).min(self.max)
        } else {
            limit
        }
    }
}

impl fmt::Debug for Aimd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aimd")
            .field("initial_limit", &self.initial)
            .field("min_limit", &self.min)
            .field("max_limit", &self.max)
            .field("backoff_ratio", &self.backoff_ratio)
            .field("latency_threshold", &self.latency_threshold)
            .finish_non_exhaustive()
    }
}
