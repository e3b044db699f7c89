use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How many slices the window is cut into: deposits and withdrawals expire a slice at a
/// time, so the window is exact to a tenth of its length (Finagle's choice).
const SLICES: usize = 10;

/// What one request deposits; a retry withdraws `UNIT / ratio` worth of requests.
const UNIT: i64 = 1000;

/// A retry budget shared by the retries (and hedges) of many calls, so that retries cannot
/// amplify an outage: Finagle's `RetryBudget`.
///
/// Every call through a [`Retry`](super::Retry) or a [`Hedge`](crate::middleware::hedge::Hedge)
/// holding the budget deposits, every retry or hedge withdraws, and a retry is made only if
/// the balance allows it; otherwise the call ends with its last error at once. Over the last
/// `ttl` (a sliding window of ten slices), retries are at most `ratio` × the calls made plus
/// `min_per_sec` × `ttl`, a reserve that lets a client with little traffic retry at all. The
/// default ([`RetryBudget::default`]) is Finagle's: 20% of the calls of the last 10 seconds
/// plus 10 retries per second.
///
/// The handle is cheap to clone (one `Arc`); clones share the balance, so one budget can
/// cover every endpoint of a client. Deposits are one atomic addition; withdrawals, made
/// only after failures, take a lock.
///
/// A budget shared by a retry and a hedge of the same endpoint would count a call at each of
/// them (a retry's attempts pass through the hedge below it), doubling the extra load it
/// allows: give the inner one [`without_deposits`](RetryBudget::without_deposits), so that
/// each call is counted once, by the outer one.
///
/// ```
/// use std::time::Duration;
/// use kit::middleware::retry::RetryBudget;
///
/// // 10% of the calls, and 1 retry per second over a 10 s window.
/// let budget = RetryBudget::new(0.1, 1, Duration::from_secs(10));
/// for _ in 0..10 {
///     budget.deposit(); // ten calls: one more retry
/// }
/// let retries = (0..100).filter(|_| budget.withdraw()).count();
/// assert_eq!(retries, 11); // 10 from the reserve, 1 from the calls
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Inner>,
    /// Whether [`deposit`](RetryBudget::deposit) counts (not for a handle made by
    /// [`without_deposits`](RetryBudget::without_deposits)).
    deposits: bool,
}

struct Inner {
    deposit: i64,
    reserve: i64,
    start: Instant,
    slice_nanos: u64,
    /// The newest slice, counted from `start`; the slots hold it and the nine before it.
    newest: AtomicU64,
    slots: [AtomicI64; SLICES],
    /// Held to expire slices and to withdraw, so that two retries cannot spend one token.
    lock: Mutex<()>,
}

impl RetryBudget {
    /// A budget allowing, over any `ttl`, retries of `ratio` of the calls (0.2: one retry
    /// per five calls) plus `min_per_sec` retries per second.
    ///
    /// # Panics
    ///
    /// If `ratio` is negative or not a number, or `ttl` is shorter than 10 ns.
    pub fn new(ratio: f64, min_per_sec: u32, ttl: Duration) -> RetryBudget {
        assert!(ratio >= 0.0, "a retry budget's ratio must be 0 or more");
        let slice_nanos = u64::try_from(ttl.as_nanos() / SLICES as u128).unwrap_or(u64::MAX);
        assert!(
            slice_nanos > 0,
            "a retry budget's ttl must be 10 ns or more"
        );
        let reserve = (f64::from(min_per_sec) * ttl.as_secs_f64()).floor() as i64 * UNIT;
        RetryBudget {
            inner: Arc::new(Inner {
                deposit: (ratio * UNIT as f64).round() as i64,
                reserve,
                start: Instant::now(),
                slice_nanos,
                newest: AtomicU64::new(0),
                slots: Default::default(),
                lock: Mutex::new(()),
            }),
            deposits: true,
        }
    }

    /// A handle on the same balance whose [`deposit`](RetryBudget::deposit) counts nothing:
    /// for a layer below another that holds the budget and already counts each call, as a
    /// hedge below a retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kit::middleware::{self, retry::{RetryBudget, RetryPolicy}, HedgeLayer};
    /// # use kit::{endpoint_fn, Context, Error};
    /// # let endpoint = endpoint_fn(|_ctx: Context, ()| async { Ok::<_, Error>(()) });
    ///
    /// let budget = RetryBudget::default();
    /// let client = middleware::chain()
    ///     .retry(RetryPolicy::default().budget(budget.clone()))
    ///     .layer(HedgeLayer::new(Duration::from_millis(50)).budget(budget.without_deposits()))
    ///     .endpoint(endpoint);
    /// ```
    pub fn without_deposits(&self) -> RetryBudget {
        RetryBudget {
            inner: self.inner.clone(),
            deposits: false,
        }
    }

    /// Counts one call.
    pub fn deposit(&self) {
        if !self.deposits {
            return;
        }
        let slice = self.inner.expire();
        self.inner.slots[slice].fetch_add(self.inner.deposit, Ordering::Relaxed);
    }

    /// Takes one retry from the budget; `false`, taking nothing, if it has none left.
    pub fn withdraw(&self) -> bool {
        let inner = &*self.inner;
        let slice = inner.expire();
        let _lock = inner.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let balance: i64 = inner.reserve
            + inner
                .slots
                .iter()
                .map(|s| s.load(Ordering::Relaxed))
                .sum::<i64>();
        if balance < UNIT {
            return false;
        }
        inner.slots[slice].fetch_sub(UNIT, Ordering::Relaxed);
        true
    }
}

impl Inner {
    /// Clears the slices that have left the window; returns the current slice.
    fn expire(&self) -> usize {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        // In u64 (584 years of nanoseconds): a u128 division is a call to a slow routine,
        // and this runs on every call.
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let now = nanos / self.slice_nanos;
        if now > self.newest.load(Ordering::Acquire) {
            let _lock = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            let newest = self.newest.load(Ordering::Acquire);
            if now > newest {
                let expired = (now - newest).min(SLICES as u64);
                for slice in now - expired + 1..=now {
                    self.slots[(slice % SLICES as u64) as usize].store(0, Ordering::Relaxed);
                }
                self.newest.store(now, Ordering::Release);
            }
        }
        (now % SLICES as u64) as usize
    }
}

impl Default for RetryBudget {
    /// Finagle's default: 20% of the calls plus 10 retries per second, over 10 seconds.
    fn default() -> RetryBudget {
        RetryBudget::new(0.2, 10, Duration::from_secs(10))
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("deposit", &self.inner.deposit)
            .field("reserve", &self.inner.reserve)
            .field("deposits", &self.deposits)
            .finish_non_exhaustive()
    }
}
