use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use tokio::time::Instant;

use super::Entry;
use crate::middleware::retry::Jitter;

/// Picks the endpoint for a call (Go kit's `lb.Balancer`, as a policy): see [`RoundRobin`],
/// [`Random`] and [`P2c`]. A [`Balanced`](super::Balanced) endpoint asks it on every call.
pub trait Balancer: Send + Sync + 'static {
    /// The index of the candidate to call. `candidates` is never empty; a candidate that
    /// outlier detection has ejected should not be picked while others are available.
    fn pick<E>(&self, candidates: &Candidates<'_, E>) -> usize;
}

/// The endpoints a [`Balancer`] picks from, with their statistics.
///
/// Making it costs nothing per instance, and so does a pick that lands on an instance that is
/// not ejected (one flag read): a balancer's cost does not grow with the number of
/// instances. Only a pick that lands on an ejected instance looks further, and only when
/// it finds no instance left does it learn that all are ejected (and then may pick any).
pub struct Candidates<'a, E> {
    entries: &'a [Arc<Entry<E>>],
    now: Instant,
    /// Whether every candidate is ejected (then all are tried again), once known:
    /// [`UNKNOWN`], [`SOME_AVAILABLE`] or [`ALL_EJECTED`]. An atomic rather than a `Cell` so
    /// that candidates stay `Sync`.
    all_ejected: AtomicU8,
}

const UNKNOWN: u8 = 0;
const SOME_AVAILABLE: u8 = 1;
const ALL_EJECTED: u8 = 2;

impl<'a, E> Candidates<'a, E> {
    pub(super) fn new(entries: &'a [Arc<Entry<E>>], now: Instant) -> Candidates<'a, E> {
        Candidates {
            entries,
            now,
            all_ejected: AtomicU8::new(UNKNOWN),
        }
    }

    /// How many candidates there are, ejected ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none (never, when a balancer is asked).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Candidate `i`.
    pub fn get(&self, i: usize) -> &Entry<E> {
        &self.entries[i]
    }

    fn is_ejected(&self, i: usize) -> bool {
        self.entries[i].stats.is_ejected(self.now)
    }

    /// Whether candidate `i` may be picked (not ejected, or every candidate is).
    pub fn is_available(&self, i: usize) -> bool {
        !self.is_ejected(i) || self.all_ejected()
    }

    fn all_ejected(&self) -> bool {
        match self.all_ejected.load(Ordering::Relaxed) {
            UNKNOWN => {
                let all = (0..self.entries.len()).all(|i| self.is_ejected(i));
                let known = if all { ALL_EJECTED } else { SOME_AVAILABLE };
                self.all_ejected.store(known, Ordering::Relaxed);
                all
            }
            known => known == ALL_EJECTED,
        }
    }

    /// The first available candidate at or after `i`, wrapping around.
    pub fn available_from(&self, i: usize) -> usize {
        let n = self.entries.len();
        let i = i % n;
        if !self.is_ejected(i) || self.all_ejected.load(Ordering::Relaxed) == ALL_EJECTED {
            return i;
        }
        match (1..n).map(|k| (i + k) % n).find(|&j| !self.is_ejected(j)) {
            Some(j) => j,
            None => {
                self.all_ejected.store(ALL_EJECTED, Ordering::Relaxed);
                i
            }
        }
    }

    /// Candidate `i`'s load: its latency estimate times its calls in flight plus one
    /// (the cost power-of-two-choices compares).
    pub fn load(&self, i: usize) -> f64 {
        let stats = &self.entries[i].stats;
        stats.latency_nanos(self.now) * (stats.in_flight() + 1) as f64
    }
}

/// Each endpoint in turn (Go kit's `lb.NewRoundRobin`). A retry after a failure goes to the
/// next instance.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// A round robin starting with the first endpoint.
    pub fn new() -> RoundRobin {
        RoundRobin::default()
    }
}

impl Balancer for RoundRobin {
    fn pick<E>(&self, candidates: &Candidates<'_, E>) -> usize {
        let start = self.next.fetch_add(1, Ordering::Relaxed) % candidates.len();
        let picked = candidates.available_from(start);
        if picked != start {
            // Passed over ejected ones: the next call starts after the one picked.
            self.next.store(picked + 1, Ordering::Relaxed);
        }
        picked
    }
}

/// An endpoint drawn uniformly at random (Go kit's `lb.NewRandom`).
#[derive(Debug)]
pub struct Random {
    rng: Jitter,
}

impl Random {
    /// Draws from a random seed.
    pub fn new() -> Random {
        Random {
            rng: Jitter::random(),
        }
    }

    /// Draws from `seed`, reproducibly (tests).
    pub fn seeded(seed: u64) -> Random {
        Random {
            rng: Jitter::seeded(seed),
        }
    }
}

impl Default for Random {
    fn default() -> Self {
        Random::new()
    }
}

impl Balancer for Random {
    fn pick<E>(&self, candidates: &Candidates<'_, E>) -> usize {
        candidates.available_from(self.rng.below(candidates.len()))
    }
}

/// Power of two choices over peak-EWMA latency (what Finagle, linkerd and tower use): two
/// endpoints drawn at random, the one with the lower load wins, where load is the latency
/// estimate times the calls in flight plus one.
///
/// The estimate is peak-sensitive (a slow call raises it at once; faster ones bring it down
/// over about 10 s), and a failure raises it to at least one second, so that an instance
/// that refuses connections in microseconds does not look like the fastest: a retry after a
/// failure goes elsewhere.
pub struct P2c {
    rng: Jitter,
}

impl P2c {
    /// Draws from a random seed.
    pub fn new() -> P2c {
        P2c {
            rng: Jitter::random(),
        }
    }

    /// Draws from `seed`, reproducibly (tests).
    pub fn seeded(seed: u64) -> P2c {
        P2c {
            rng: Jitter::seeded(seed),
        }
    }
}

impl Default for P2c {
    fn default() -> Self {
        P2c::new()
    }
}

impl fmt::Debug for P2c {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2c").finish_non_exhaustive()
    }
}

impl Balancer for P2c {
    fn pick<E>(&self, candidates: &Candidates<'_, E>) -> usize {
        let n = candidates.len();
        if n == 1 {
            return 0;
        }
        let a = self.rng.below(n);
        let mut b = self.rng.below(n - 1);
        if b >= a {
            b += 1;
        }
        let (a, b) = (candidates.available_from(a), candidates.available_from(b));
        if candidates.load(b) < candidates.load(a) {
            b
        } else {
            a
        }
    }
}
