use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::Instance;

/// One instance's endpoint and what its calls have shown so far.
pub struct Entry<E> {
    instance: Instance,
    endpoint: E,
    pub(super) stats: Stats,
}

impl<E> Entry<E> {
    pub(super) fn new(instance: Instance, endpoint: E) -> Entry<E> {
        Entry {
            instance,
            endpoint,
            stats: Stats::default(),
        }
    }

    /// The instance.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// Its endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }

    /// Its statistics as they are now.
    pub fn stats(&self) -> InstanceStats {
        let now = Instant::now();
        InstanceStats {
            instance: self.instance.clone(),
            in_flight: self.stats.in_flight.load(Ordering::Relaxed),
            requests: self.stats.requests.load(Ordering::Relaxed),
            failures: self.stats.failures.load(Ordering::Relaxed),
            consecutive_failures: self.stats.consecutive_failures.load(Ordering::Relaxed),
            latency: Duration::from_nanos(self.stats.latency_nanos(now) as u64),
            ejected_for: self.stats.ejected_for(now),
            ejections: self.stats.ejections.load(Ordering::Relaxed),
        }
    }
}

impl<E> fmt::Debug for Entry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("instance", &self.instance)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What one instance's calls have shown: for metrics, logs and the admin page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InstanceStats {
    /// The instance.
    pub instance: Instance,
    /// Calls in flight on it now.
    pub in_flight: usize,
    /// Calls made to it.
    pub requests: u64,
    /// Calls of those that failed (as the balancer's classifier counts failures).
    pub failures: u64,
    /// Failures since its last success.
    pub consecutive_failures: u32,
    /// Its latency estimate: a peak-sensitive moving average (it jumps up to a slower
    /// call at once and decays towards faster ones), raised to the failure penalty by a
    /// failure.
    pub latency: Duration,
    /// How much longer it stays ejected by outlier detection, if it is ejected.
    pub ejected_for: Option<Duration>,
    /// How many times outlier detection has ejected it.
    pub ejections: u32,
}

/// Outlier detection (as Envoy's): an instance whose calls keep failing is taken out of the
/// balance for a while, longer each time it is taken out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutlierDetection {
    /// Failures in a row that eject an instance. Default 5 (Envoy's `consecutive_5xx`).
    pub consecutive_failures: u32,
    /// How long the first ejection lasts; the n-th lasts n times as long. Default 30 s.
    pub base_ejection: Duration,
    /// The longest an ejection lasts. Default 300 s.
    pub max_ejection: Duration,
    /// At most this share of the instances is ejected at once, in percent; at least one
    /// instance may always be ejected. Default 10 (Envoy's).
    pub max_ejected_percent: u8,
}

impl Default for OutlierDetection {
    fn default() -> Self {
        OutlierDetection {
            consecutive_failures: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
            max_ejected_percent: 10,
        }
    }
}

impl OutlierDetection {
    /// Ejects after `n` failures in a row.
    pub fn consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive_failures = n.max(1);
        self
    }

    /// The first ejection lasts `base`, the n-th n times as long, up to `max`.
    pub fn ejection(mut self, base: Duration, max: Duration) -> Self {
        self.base_ejection = base;
        self.max_ejection = max.max(base);
        self
    }

    /// At most `percent` of the instances ejected at once (at least one).
    pub fn max_ejected_percent(mut self, percent: u8) -> Self {
        self.max_ejected_percent = percent.min(100);
        self
    }

    /// How many of `n` instances may be ejected at once.
    pub(super) fn max_ejected(&self, n: usize) -> usize {
        (n * usize::from(self.max_ejected_percent) / 100).max(1)
    }
}

/// The peak-EWMA latency estimate's time constant: the weight of a past observation falls
/// to 1/e in this time (linkerd's and Finagle's default).
pub(super) const DECAY: Duration = Duration::from_secs(10);

/// What a failure raises an instance's latency estimate to, so that a dead instance that
/// refuses connections in microseconds does not look like the fastest.
pub(super) const FAILURE_PENALTY: Duration = Duration::from_secs(1);

/// The counters behind [`InstanceStats`].
#[derive(Default)]
pub(super) struct Stats {
    in_flight: AtomicUsize,
    requests: AtomicU64,
    failures: AtomicU64,
    consecutive_failures: AtomicU32,
    ewma: Mutex<Ewma>,
    /// Whether an ejection may be running: the calls' path reads this flag alone, and the
    /// deadline only when it is set.
    ejected: AtomicBool,
    /// When the current ejection ends.
    ejected_until: Mutex<Option<Instant>>,
    ejections: AtomicU32,
}

#[derive(Default)]
struct Ewma {
    nanos: f64,
    stamp: Option<Instant>,
}

impl Stats {
    /// A call starts: counted in flight until the guard drops (the call ends or is
    /// abandoned).
    pub(super) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The latency estimate at `now`, decayed since its last observation.
    pub(super) fn latency_nanos(&self, now: Instant) -> f64 {
        let ewma = self.ewma.lock().unwrap_or_else(|p| p.into_inner());
        match ewma.stamp {
            None => 0.0,
            Some(stamp) => ewma.nanos * decay(now.saturating_duration_since(stamp)),
        }
    }

    /// Records a finished call that took `rtt`, a failure or not.
    pub(super) fn observe(&self, now: Instant, rtt: Duration, failed: bool) {
        let rtt = if failed {
            rtt.max(FAILURE_PENALTY)
        } else {
            rtt
        };
        let rtt = rtt.as_nanos() as f64;
        let mut ewma = self.ewma.lock().unwrap_or_else(|p| p.into_inner());
        ewma.nanos = match ewma.stamp {
            // Peak-sensitive: a slower call counts in full at once.
            Some(_) if rtt >= ewma.nanos => rtt,
            Some(stamp) => {
                let w = decay(now.saturating_duration_since(stamp));
                ewma.nanos * w + rtt * (1.0 - w)
            }
            None => rtt,
        };
        ewma.stamp = Some(now);
        drop(ewma);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
            self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        } else {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    pub(super) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    /// Whether the instance is ejected at `now`.
    pub(super) fn is_ejected(&self, now: Instant) -> bool {
        self.ejected_for(now).is_some()
    }

    fn ejected_for(&self, now: Instant) -> Option<Duration> {
        if !self.ejected.load(Ordering::Acquire) {
            return None;
        }
        let until = self.ejected_until.lock().unwrap_or_else(|p| p.into_inner());
        match *until {
            Some(until) if until > now => Some(until - now),
            // Over: the calls' path goes back to reading the flag alone (under the lock, so
            // that an ejection starting now is not missed).
            _ => {
                self.ejected.store(false, Ordering::Release);
                None
            }
        }
    }

    /// Ejects the instance at `now` per `policy`; `false` if it was ejected already.
    pub(super) fn eject(&self, now: Instant, policy: &OutlierDetection) -> bool {
        let mut until = self.ejected_until.lock().unwrap_or_else(|p| p.into_inner());
        if until.is_some_and(|until| until > now) {
            return false;
        }
        let n = self.ejections.fetch_add(1, Ordering::Relaxed) + 1;
        let length = policy
            .base_ejection
            .saturating_mul(n)
            .min(policy.max_ejection);
        *until = Some(now + length);
        self.ejected.store(true, Ordering::Release);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        true
    }
}

/// The weight an observation keeps after `elapsed`: about e^(-elapsed/DECAY), as the
/// truncated Taylor series of e^x in the denominator. Within 2% of `exp` for the first time
/// constant (the weights that decide picks), falling more slowly after it; it keeps libm's
/// `exp` (about 50 instructions, three times a call) off the call path.
fn decay(elapsed: Duration) -> f64 {
    let x = elapsed.as_secs_f64() / DECAY.as_secs_f64();
    1.0 / (1.0 + x * (1.0 + x * (0.5 + x / 6.0)))
}

/// Counts a call in flight while it lives.
pub(super) struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
