use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Counts;
use super::window::Window;

/// When a [`CircuitBreaker`](super::CircuitBreaker) opens, how long it stays open and how
/// many probe calls it lets through when half-open: one of three well-known models.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Policy {
    /// Counts of the current period and a rule over them (gobreaker's model).
    Counting(Counting),
    /// The error rate over a rolling window (Hystrix's model).
    RollingWindow(RollingWindow),
    /// Consecutive failures or the success rate over a window, with a growing backoff
    /// (Finagle's failure accrual).
    FailureAccrual(FailureAccrual),
}

impl From<Counting> for Policy {
    fn from(policy: Counting) -> Policy {
        Policy::Counting(policy)
    }
}

impl From<RollingWindow> for Policy {
    fn from(policy: RollingWindow) -> Policy {
        Policy::RollingWindow(policy)
    }
}

impl From<FailureAccrual> for Policy {
    fn from(policy: FailureAccrual) -> Policy {
        Policy::FailureAccrual(policy)
    }
}

/// gobreaker's model (Go kit's default breaker): the breaker counts the calls of the
/// current period ([`Counts`]) and opens when a rule over the counts says so, which it asks
/// after each failure.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`ready_to_trip`](Counting::ready_to_trip) | more than 5 consecutive failures | when to open |
/// | [`interval`](Counting::interval) | none | while closed, clear the counts this often (none: only when the state changes) |
/// | [`timeout`](Counting::timeout) | 60 s | how long to stay open |
/// | [`max_requests`](Counting::max_requests) | 1 | probe calls when half-open; that many successes close the breaker |
#[derive(Clone)]
pub struct Counting {
    max_requests: u64,
    interval: Option<Duration>,
    timeout: Duration,
    ready_to_trip: Arc<dyn Fn(&Counts) -> bool + Send + Sync>,
}

impl Default for Counting {
    fn default() -> Self {
        Counting {
            max_requests: 1,
            interval: None,
            timeout: Duration::from_secs(60),
            ready_to_trip: Arc::new(|counts: &Counts| counts.consecutive_failures > 5),
        }
    }
}

impl Counting {
    /// Opens after `failures` consecutive failures (at least one).
    pub fn consecutive_failures(failures: u64) -> Counting {
        let failures = failures.max(1);
        Counting::default().ready_to_trip(move |counts| counts.consecutive_failures >= failures)
    }

    /// Opens when at least `min_requests` calls were made in the current period and the
    /// share of failures among them is `ratio` (0 to 1) or more; with an
    /// [`interval`](Counting::interval), the ratio is that of each interval.
    pub fn failure_ratio(ratio: f64, min_requests: u64) -> Counting {
        let min_requests = min_requests.max(1);
        Counting::default().ready_to_trip(move |counts| {
            counts.requests >= min_requests
                && counts.total_failures as f64 >= ratio * counts.requests as f64
        })
    }

    /// Opens when `rule` returns true of the counts, asked after each failure.
    pub fn ready_to_trip(mut self, rule: impl Fn(&Counts) -> bool + Send + Sync + 'static) -> Self {
        self.ready_to_trip = Arc::new(rule);
        self
    }

    /// While closed, clears the counts every `interval` (`Duration::ZERO`: never).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// Stays open for `timeout` before letting probes through.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Lets `max_requests` probe calls through when half-open (at least one); as many
    /// successes close the breaker.
    pub fn max_requests(mut self, max_requests: u64) -> Self {
        self.max_requests = max_requests.max(1);
        self
    }
}

impl fmt::Debug for Counting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counting")
            .field("max_requests", &self.max_requests)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Hystrix's model: the breaker keeps successes and failures over a rolling window and
/// opens when, with enough calls in the window, the share of failures is too high. One
/// probe call is let through when half-open; its success closes the breaker.
///
/// | setting | default | Hystrix's name |
/// |---|---|---|
/// | [`window`](RollingWindow::window) | 10 s in 10 buckets | `metrics.rollingStats.timeInMilliseconds`, `numBuckets` |
/// | [`request_volume_threshold`](RollingWindow::request_volume_threshold) | 20 calls | `circuitBreaker.requestVolumeThreshold` |
/// | [`error_threshold_percentage`](RollingWindow::error_threshold_percentage) | 50 % | `circuitBreaker.errorThresholdPercentage` |
/// | [`sleep_window`](RollingWindow::sleep_window) | 5 s | `circuitBreaker.sleepWindowInMilliseconds` |
#[derive(Clone, Debug)]
pub struct RollingWindow {
    window: Duration,
    buckets: u32,
    request_volume_threshold: u64,
    error_threshold_percentage: u32,
    sleep_window: Duration,
}

impl Default for RollingWindow {
    fn default() -> Self {
        RollingWindow {
            window: Duration::from_secs(10),
            buckets: 10,
            request_volume_threshold: 20,
            error_threshold_percentage: 50,
            sleep_window: Duration::from_secs(5),
        }
    }
}

impl RollingWindow {
    /// Keeps outcomes for `length`, dropping them `length / buckets` at a time.
    pub fn window(mut self, length: Duration, buckets: u32) -> Self {
        self.window = length;
        self.buckets = buckets.max(1);
        self
    }

    /// Never opens while the window holds fewer than `calls` calls.
    pub fn request_volume_threshold(mut self, calls: u64) -> Self {
        self.request_volume_threshold = calls;
        self
    }

    /// Opens when `percent` (0 to 100) or more of the calls in the window failed.
    pub fn error_threshold_percentage(mut self, percent: u32) -> Self {
        self.error_threshold_percentage = percent.min(100);
        self
    }

    /// Stays open for `sleep_window` before letting a probe through.
    pub fn sleep_window(mut self, sleep_window: Duration) -> Self {
        self.sleep_window = sleep_window;
        self
    }
}

/// Finagle's failure accrual: the breaker opens after a run of consecutive failures, or
/// when the success rate over a window falls too low with enough calls in it, and stays
/// open for a backoff that grows each time a probe fails: the first is its start, the
/// `n`-th lies between half and all of `start * 2^n` (capped at the maximum), chosen at
/// random so that clients do not come back in step (Finagle's `equalJittered`). One probe
/// call is let through when half-open; its success closes the breaker and resets the backoff.
///
/// | setting | default |
/// |---|---|
/// | [`consecutive_failures`](FailureAccrual::consecutive_failures) | 5 |
/// | [`success_rate`](FailureAccrual::success_rate) | below 80 % over 30 s (in 10 buckets) |
/// | [`min_requests`](FailureAccrual::min_requests) | 5 calls in the window before the success rate counts |
/// | [`backoff`](FailureAccrual::backoff) | from 5 s to 300 s |
#[derive(Clone, Debug)]
pub struct FailureAccrual {
    consecutive_failures: u64,
    success_rate: f64,
    window: Duration,
    min_requests: u64,
    backoff_start: Duration,
    backoff_max: Duration,
    seed: Option<u64>,
}

impl Default for FailureAccrual {
    fn default() -> Self {
        FailureAccrual {
            consecutive_failures: 5,
            success_rate: 0.8,
            window: Duration::from_secs(30),
            min_requests: 5,
            backoff_start: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            seed: None,
        }
    }
}

impl FailureAccrual {
    /// Opens after `failures` consecutive failures (at least one).
    pub fn consecutive_failures(mut self, failures: u64) -> Self {
        self.consecutive_failures = failures.max(1);
        self
    }

    /// Opens when the share of successes over the last `window` falls below `rate`
    /// (0 to 1; 0 switches this rule off).
    pub fn success_rate(mut self, rate: f64, window: Duration) -> Self {
        self.success_rate = rate;
        self.window = window;
        self
    }

    /// The success rate counts only once the window holds `calls` calls.
    pub fn min_requests(mut self, calls: u64) -> Self {
        self.min_requests = calls;
        self
    }

    /// Stays open for `start` the first time, growing towards `max` while probes fail.
    pub fn backoff(mut self, start: Duration, max: Duration) -> Self {
        self.backoff_start = start;
        self.backoff_max = max.max(start);
        self
    }

    /// Seeds the jitter of the backoff, for reproducible runs (by default each breaker
    /// seeds its own at random).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// A policy and the state it keeps: the breaker's state machine asks it what to do.
#[derive(Debug)]
pub(super) enum Rule {
    Counting(Counting),
    RollingWindow(RollingWindow, Window),
    FailureAccrual(FailureAccrual, Window, Backoff),
}

impl Rule {
    pub(super) fn new(policy: Policy) -> Rule {
        match policy {
            Policy::Counting(policy) => Rule::Counting(policy),
            Policy::RollingWindow(policy) => {
                let window = Window::new(policy.window, policy.buckets);
                Rule::RollingWindow(policy, window)
            }
            Policy::FailureAccrual(policy) => {
                let window = Window::new(policy.window, 10);
                let seed = policy
                    .seed
                    .unwrap_or_else(|| RandomState::new().hash_one(0u8));
                let backoff = Backoff::new(policy.backoff_start, policy.backoff_max, seed);
                Rule::FailureAccrual(policy, window, backoff)
            }
        }
    }

    /// Records the outcome of a call made while closed (`counts` already include it) and
    /// says whether the breaker should open.
    pub(super) fn trips(&mut self, failure: bool, counts: &Counts) -> bool {
        match self {
            Rule::Counting(policy) => failure && (policy.ready_to_trip)(counts),
            Rule::RollingWindow(policy, window) => {
                let now = Instant::now();
                window.add(now, failure);
                let totals = window.totals(now);
                failure
                    && totals.requests() >= policy.request_volume_threshold
                    && totals.failures * 100
                        >= u64::from(policy.error_threshold_percentage) * totals.requests()
            }
            Rule::FailureAccrual(policy, window, _) => {
                let now = Instant::now();
                window.add(now, failure);
                let totals = window.totals(now);
                failure
                    && (counts.consecutive_failures >= policy.consecutive_failures
                        || (totals.requests() >= policy.min_requests.max(1)
                            && (totals.successes as f64)
                                < policy.success_rate * totals.requests() as f64))
            }
        }
    }

    /// The breaker closes at `now`: the outcomes before it no longer count.
    pub(super) fn close(&mut self, now: Instant) {
        match self {
            Rule::Counting(_) => {}
            Rule::RollingWindow(_, window) => window.clear(now),
            Rule::FailureAccrual(_, window, backoff) => {
                window.clear(now);
                backoff.reset();
            }
        }
    }

    /// The breaker opens: for how long.
    pub(super) fn open_for(&mut self) -> Duration {
        match self {
            Rule::Counting(policy) => policy.timeout,
            Rule::RollingWindow(policy, _) => policy.sleep_window,
            Rule::FailureAccrual(_, _, backoff) => backoff.next(),
        }
    }

    /// How many probe calls a half-open breaker lets through, and how many successes close it.
    pub(super) fn probes(&self) -> u64 {
        match self {
            Rule::Counting(policy) => policy.max_requests,
            Rule::RollingWindow(..) | Rule::FailureAccrual(..) => 1,
        }
    }

    /// How often a closed breaker clears its counts.
    pub(super) fn interval(&self) -> Option<Duration> {
        match self {
            Rule::Counting(policy) => policy.interval,
            Rule::RollingWindow(..) | Rule::FailureAccrual(..) => None,
        }
    }
}

/// Finagle's `equalJittered` backoff: `start`, then the `n`-th between half and all of
/// `start * 2^n`, capped at `max`.
#[derive(Debug)]
pub(super) struct Backoff {
    start: Duration,
    max: Duration,
    attempt: u32,
    rng: XorShift,
}

impl Backoff {
    fn new(start: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff {
            start,
            max,
            attempt: 0,
            rng: XorShift::new(seed),
        }
    }

    fn next(&mut self) -> Duration {
        let attempt = self.attempt;
        self.attempt = self.attempt.saturating_add(1);
        if attempt == 0 {
            return self.start;
        }
        let ceiling = 2u32
            .checked_pow(attempt)
            .and_then(|factor| self.start.checked_mul(factor))
            .map_or(self.max, |grown| grown.min(self.max));
        let half = ceiling / 2;
        let jitter = self
            .rng
            .below(ceiling.as_nanos() as u64 - half.as_nanos() as u64 + 1);
        half + Duration::from_nanos(jitter)
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Marsaglia's xorshift64*: jitter needs spread, not cryptographic strength, and this is
/// all of it (no `rand` dependency for one random number per opening).
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // Zero is xorshift's one fixed point.
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A number in `0..n` (`n` at least 1); the modulo bias is negligible for durations.
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}
