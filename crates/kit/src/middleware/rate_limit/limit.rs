use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota};
use tokio::time::Instant;

use crate::{Context, Error};

/// governor's clock, read from tokio's: the same clock as the context's deadlines (and one
/// that tests can pause and advance).
#[derive(Clone, Debug)]
struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    fn new() -> TokioClock {
        TokioClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.origin.elapsed())
    }
}

/// One GCRA bucket, as governor keeps it: an atomic word, the quota and the clock.
type Bucket = governor::RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// Why a call may not go through now.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The bucket is empty; a permit is due after this long.
    Wait(Duration),
    /// A keyed limit's table is full of active keys and the call's key is not in it.
    TooManyKeys(usize),
}

impl Refusal {
    /// The error a call under `ctx` refused for this reason ends with. A call refused for an
    /// empty bucket also answers with `retry-after`: the whole seconds until its permit
    /// would have been due.
    pub(super) fn into_error(self, ctx: &Context) -> Error {
        match self {
            Refusal::Wait(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                ctx.set_response_metadata("retry-after", seconds.to_string());
                Error::resource_exhausted("rate limit exceeded")
            }
            Refusal::TooManyKeys(max) => Error::resource_exhausted(format!(
                "rate limit exceeded: already tracking {max} clients, new ones are refused \
                 until some are idle"
            )),
        }
    }
}

fn check(bucket: &Bucket) -> Result<(), Refusal> {
    bucket.check().map_err(|not_until: NotUntil<Nanos>| {
        Refusal::Wait(not_until.wait_time_from(bucket.clock().now()))
    })
}

fn non_zero(n: u32, what: &str) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or_else(|| panic!("a rate limit's {what} must be at least 1"))
}

/// A rate limit: how many calls may start per unit of time, and how many at once after a
/// quiet spell (the burst). See the [module docs](super).
///
/// Cloning is cheap and shares the limit: every endpoint wrapped with a clone draws from the
/// same bucket. The builder methods ([`burst`](RateLimit::burst)) make a new, unshared limit,
/// so configure first and clone afterwards.
#[derive(Clone)]
pub struct RateLimit {
    quota: Quota,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// One bucket for every call.
    Shared(Arc<Bucket>),
    /// A bucket per key.
    Keyed(Arc<dyn KeyedBuckets>),
}

impl RateLimit {
    fn from_quota(quota: Quota) -> RateLimit {
        RateLimit {
            quota,
            kind: Kind::Shared(Arc::new(Bucket::direct_with_clock(
                quota,
                TokioClock::new(),
            ))),
        }
    }

    /// `n` calls per second, evenly spaced, with a burst of `n`.
    ///
    /// # Panics
    /// If `n` is zero.
    pub fn per_second(n: u32) -> RateLimit {
        RateLimit::from_quota(Quota::per_second(non_zero(n, "rate")))
    }

    /// `n` calls per minute, evenly spaced, with a burst of `n`.
    ///
    /// # Panics
    /// If `n` is zero.
    pub fn per_minute(n: u32) -> RateLimit {
        RateLimit::from_quota(Quota::per_minute(non_zero(n, "rate")))
    }

    /// One call every `period`, with a burst of one.
    ///
    /// # Panics
    /// If `period` is zero.
    pub fn every(period: Duration) -> RateLimit {
        let quota =
            Quota::with_period(period).expect("a rate limit's period must be longer than zero");
        RateLimit::from_quota(quota)
    }

    /// The same rate, letting up to `burst` calls through at once after a quiet spell.
    ///
    /// # Panics
    /// If `burst` is zero.
    pub fn burst(self, burst: u32) -> RateLimit {
        RateLimit::from_quota(self.quota.allow_burst(non_zero(burst, "burst")))
    }

    /// The same limit for each key `key` finds in a call's context (a client id from the
    /// metadata, the peer's address), each key with a bucket of its own; see
    /// [`KeyedRateLimit`].
    pub fn keyed_by<K, F>(self, key: F) -> KeyedRateLimit<K>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        F: Fn(&Context) -> K + Send + Sync + 'static,
    {
        KeyedRateLimit::new(
            self.quota,
            Arc::new(key),
            KeyedRateLimit::<K>::DEFAULT_MAX_KEYS,
        )
    }

    /// Takes a permit for a call under `ctx`, or says why not.
    pub(super) fn check(&self, ctx: &Context) -> Result<(), Refusal> {
        match &self.kind {
            Kind::Shared(bucket) => check(bucket),
            Kind::Keyed(buckets) => buckets.check(ctx),
        }
    }
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("interval", &self.quota.replenish_interval())
            .field("burst", &self.quota.burst_size())
            .field("keyed", &matches!(self.kind, Kind::Keyed(_)))
            .finish()
    }
}

/// A [`RateLimit`] per key, made by [`RateLimit::keyed_by`]: each client gets the limit to
/// itself.
///
/// The table of keys is bounded ([`max_keys`](KeyedRateLimit::max_keys), 10,000 by
/// default), so that a client inventing keys cannot grow it without end. A key is *idle*
/// once its bucket has refilled (the time the rate takes to refill a whole burst has passed
/// since its last call): its state is then the same as a new key's, and dropping it changes
/// nobody's limit. When a call brings a new key and the table is full, the idle keys are
/// dropped (at most once per refill time, so that a flood of new keys costs no scan per
/// call); if none is idle, the call is refused with `ResourceExhausted`
/// (`rate limit exceeded: already tracking N clients, ...`). Keys already in the table keep
/// their buckets and their limits: a flood of new keys cannot reset them, as evicting the
/// least recently used key would.
///
/// Converts into a [`RateLimit`] (for [`Chain::rate_limit`](crate::middleware::Chain::rate_limit)
/// and friends); cloning it, before or after, shares the table.
pub struct KeyedRateLimit<K> {
    buckets: Arc<Buckets<K>>,
}

impl<K> Clone for KeyedRateLimit<K> {
    fn clone(&self) -> Self {
        KeyedRateLimit {
            buckets: self.buckets.clone(),
        }
    }
}

impl<K> KeyedRateLimit<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// The number of keys a table holds unless told otherwise.
    pub const DEFAULT_MAX_KEYS: usize = 10_000;

    fn new(quota: Quota, key: Arc<KeyFn<K>>, max_keys: usize) -> KeyedRateLimit<K> {
        let clock = TokioClock::new();
        let idle_after = quota.burst_size_replenished_in();
        KeyedRateLimit {
            buckets: Arc::new(Buckets {
                quota,
                key,
                max_keys,
                idle_after,
                table: Mutex::new(Table {
                    buckets: HashMap::new(),
                    next_sweep: clock.origin,
                }),
                clock,
            }),
        }
    }

    /// The same limit with a table of at most `max_keys` keys (a new, unshared table).
    ///
    /// # Panics
    /// If `max_keys` is zero.
    pub fn max_keys(self, max_keys: usize) -> KeyedRateLimit<K> {
        assert!(
            max_keys > 0,
            "a keyed rate limit must hold at least one key"
        );
        KeyedRateLimit::new(self.buckets.quota, self.buckets.key.clone(), max_keys)
    }

    /// How many keys the table holds now (for metrics).
    pub fn tracked_keys(&self) -> usize {
        self.buckets.lock().buckets.len()
    }
}

impl<K> fmt::Debug for KeyedRateLimit<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimit")
            .field("interval", &self.buckets.quota.replenish_interval())
            .field("burst", &self.buckets.quota.burst_size())
            .field("max_keys", &self.buckets.max_keys)
            .finish_non_exhaustive()
    }
}

impl<K> From<KeyedRateLimit<K>> for RateLimit
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn from(limit: KeyedRateLimit<K>) -> RateLimit {
        RateLimit {
            quota: limit.buckets.quota,
            kind: Kind::Keyed(limit.buckets),
        }
    }
}

type KeyFn<K> = dyn Fn(&Context) -> K + Send + Sync;

/// A keyed table, with its key type erased.
trait KeyedBuckets: Send + Sync {
    fn check(&self, ctx: &Context) -> Result<(), Refusal>;
}

struct Buckets<K> {
    quota: Quota,
    key: Arc<KeyFn<K>>,
    max_keys: usize,
    /// How long a key stays distinguishable from a new one after its last call.
    idle_after: Duration,
    clock: TokioClock,
    table: Mutex<Table<K>>,
}

struct Table<K> {
    buckets: HashMap<K, Entry>,
    /// When a full table may next be swept for idle keys.
    next_sweep: Instant,
}

struct Entry {
    bucket: Bucket,
    last_call: Instant,
}

impl<K> Buckets<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table<K>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K> KeyedBuckets for Buckets<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn check(&self, ctx: &Context) -> Result<(), Refusal> {
        let key = (self.key)(ctx);
        let now = Instant::now();
        let mut table = self.lock();
        if let Some(entry) = table.buckets.get_mut(&key) {
            entry.last_call = now;
            return check(&entry.bucket);
        }
        if table.buckets.len() >= self.max_keys {
            if now < table.next_sweep {
                return Err(Refusal::TooManyKeys(self.max_keys));
            }
            let idle_after = self.idle_after;
            table
                .buckets
                .retain(|_, entry| now.duration_since(entry.last_call) < idle_after);
            table.next_sweep = now + idle_after;
            if table.buckets.len() >= self.max_keys {
                return Err(Refusal::TooManyKeys(self.max_keys));
            }
        }
        let entry = Entry {
            bucket: Bucket::direct_with_clock(self.quota, self.clock.clone()),
            last_call: now,
        };
        let result = check(&entry.bucket);
        table.buckets.insert(key, entry);
        result
    }
}
