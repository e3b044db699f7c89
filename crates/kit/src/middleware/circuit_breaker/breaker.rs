use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::policy::{Policy, Rule};
use crate::Error;
use crate::error::Delivery;

/// The state of a [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls go through; their outcomes are counted.
    Closed,
    /// Calls fail fast with `Unavailable` until the open period ends.
    Open,
    /// A bounded number of probe calls go through, the rest fail fast; the probes decide
    /// whether the breaker closes or opens again.
    HalfOpen,
}

impl State {
    /// The state's name: `closed`, `open` or `half-open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of a [`CircuitBreaker`]'s state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
}

/// The calls of a breaker's current period (gobreaker's `Counts`): since it last changed
/// state, or, for [`Counting`](super::Counting) with an interval, since the interval began.
///
/// `requests` counts calls when they are let through, the others when they end; a call
/// dropped before it ends is a request with no outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Calls let through.
    pub requests: u64,
    /// Calls that succeeded (or failed in a way the classifier does not call a failure).
    pub total_successes: u64,
    /// Calls that failed.
    pub total_failures: u64,
    /// Successes since the last failure.
    pub consecutive_successes: u64,
    /// Failures since the last success.
    pub consecutive_failures: u64,
}

impl Counts {
    fn record(&mut self, failure: bool) {
        if failure {
            self.total_failures += 1;
            self.consecutive_failures += 1;
            self.consecutive_successes = 0;
        } else {
            self.total_successes += 1;
            self.consecutive_successes += 1;
            self.consecutive_failures = 0;
        }
    }
}

type Listener = Box<dyn Fn(Transition) + Send + Sync>;

/// A circuit breaker: one state machine, shared by every endpoint it guards; see the
/// [module docs](super).
///
/// Cloning it is cheap and the clones are the same breaker.
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

struct Inner {
    machine: Mutex<Machine>,
    state: watch::Sender<State>,
}

struct Machine {
    rule: Rule,
    state: State,
    /// Changes with every state change and every cleared period, so that the outcome of a
    /// call let through in an earlier one is ignored.
    generation: u64,
    counts: Counts,
    /// Open: when it turns half-open. Closed with an interval: when the counts clear.
    expiry: Option<Instant>,
    /// Half-open: probes let through that have not ended yet.
    probes_in_flight: u64,
    listeners: Vec<Listener>,
}

/// A call let through by the breaker, to report back with its outcome.
#[derive(Debug, Clone, Copy)]
pub(super) struct Permit {
    generation: u64,
}

impl CircuitBreaker {
    /// A closed breaker that follows `policy`.
    pub fn new(policy: impl Into<Policy>) -> CircuitBreaker {
        let mut machine = Machine {
            rule: Rule::new(policy.into()),
            state: State::Closed,
            generation: 0,
            counts: Counts::default(),
            expiry: None,
            probes_in_flight: 0,
            listeners: Vec::new(),
        };
        machine.start_period(Instant::now());
        CircuitBreaker {
            inner: Arc::new(Inner {
                machine: Mutex::new(machine),
                state: watch::Sender::new(State::Closed),
            }),
        }
    }

    /// The current state (an open breaker whose open period has ended turns half-open here).
    pub fn state(&self) -> State {
        let mut machine = self.lock();
        machine.refresh(&self.inner.state);
        machine.state
    }

    /// The calls of the current period.
    pub fn counts(&self) -> Counts {
        let mut machine = self.lock();
        machine.refresh(&self.inner.state);
        machine.counts
    }

    /// How long an open breaker stays open from now, before it lets a probe through
    /// (`None` unless it is open): for an admin page, and to see the backoff.
    pub fn remaining_open(&self) -> Option<Duration> {
        let mut machine = self.lock();
        machine.refresh(&self.inner.state);
        match machine.state {
            State::Open => machine
                .expiry
                .map(|expiry| expiry.saturating_duration_since(Instant::now())),
            State::Closed | State::HalfOpen => None,
        }
    }

    /// A receiver of the current state that wakes on each change, for pages and probes that
    /// show the state (a slow reader sees the latest state, not every transition: use
    /// [`on_transition`](CircuitBreaker::on_transition) to count them).
    ///
    /// The breaker notices that an open period has ended when it is next called or asked
    /// for its state, so the change to half-open is sent then.
    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.inner.state.subscribe()
    }

    /// Calls `listener` with every state change, in order, for metrics and logs.
    ///
    /// The listener runs while the breaker is locked, on the task whose call changed the
    /// state: it must be quick and must not call this breaker.
    pub fn on_transition(&self, listener: impl Fn(Transition) + Send + Sync + 'static) {
        self.lock().listeners.push(Box::new(listener));
    }

    /// Lets a call through, or says why not.
    pub(super) fn admit(&self) -> Result<Permit, Error> {
        let mut machine = self.lock();
        machine.refresh(&self.inner.state);
        match machine.state {
            State::Closed => {}
            State::Open => return Err(open_error()),
            State::HalfOpen => {
                if machine.probes_in_flight + machine.counts.total_successes
                    >= machine.rule.probes()
                {
                    return Err(open_error());
                }
                machine.probes_in_flight += 1;
            }
        }
        machine.counts.requests += 1;
        Ok(Permit {
            generation: machine.generation,
        })
    }

    /// Reports how a call let through by `permit` ended.
    pub(super) fn record(&self, permit: Permit, failure: bool) {
        let mut machine = self.lock();
        machine.refresh(&self.inner.state);
        if permit.generation != machine.generation {
            return;
        }
        machine.counts.record(failure);
        match machine.state {
            State::Closed => {
                let counts = machine.counts;
                if machine.rule.trips(failure, &counts) {
                    machine.transition(&self.inner.state, State::Open, Instant::now());
                }
            }
            State::HalfOpen => {
                machine.probes_in_flight -= 1;
                if failure {
                    machine.transition(&self.inner.state, State::Open, Instant::now());
                } else if machine.counts.consecutive_successes >= machine.rule.probes() {
                    machine.transition(&self.inner.state, State::Closed, Instant::now());
                }
            }
            // Opening starts a new generation.
            State::Open => unreachable!("a permit of the current generation while open"),
        }
    }

    /// Reports that a call let through by `permit` was dropped before it ended: it says
    /// nothing about the callee, but a probe's place goes to the next call.
    pub(super) fn abandon(&self, permit: Permit) {
        let mut machine = self.lock();
        if permit.generation == machine.generation && machine.state == State::HalfOpen {
            machine.probes_in_flight -= 1;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // The machine's invariants hold between statements that could panic (a listener's
        // panic leaves a finished transition), so a poisoned lock is still usable.
        self.inner
            .machine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Machine {
    /// Applies what the passing of time changes: an open period ends, a counting interval
    /// ends. (Without either, the clock is not read: the hot path of a closed breaker.)
    fn refresh(&mut self, sender: &watch::Sender<State>) {
        let Some(expiry) = self.expiry else { return };
        let now = Instant::now();
        if now < expiry {
            return;
        }
        match self.state {
            State::Open => self.transition(sender, State::HalfOpen, now),
            State::Closed => {
                self.generation += 1;
                self.start_period(now);
            }
            State::HalfOpen => {}
        }
    }

    fn transition(&mut self, sender: &watch::Sender<State>, to: State, now: Instant) {
        let from = self.state;
        self.state = to;
        self.generation += 1;
        self.probes_in_flight = 0;
        match to {
            State::Closed => {
                self.rule.close(now);
                self.start_period(now);
            }
            State::Open => {
                self.counts = Counts::default();
                self.expiry = Some(now + self.rule.open_for());
            }
            State::HalfOpen => {
                self.counts = Counts::default();
                self.expiry = None;
            }
        }
        sender.send_replace(to);
        tracing::info!(%from, %to, "circuit breaker changed state");
        let transition = Transition { from, to };
        for listener in &self.listeners {
            listener(transition);
        }
    }

    /// Starts a closed period: fresh counts, and the end of the interval if there is one.
    fn start_period(&mut self, now: Instant) {
        self.counts = Counts::default();
        self.expiry = self.rule.interval().map(|interval| now + interval);
    }
}

fn open_error() -> Error {
    // The request was never sent, so retrying it elsewhere is always safe.
    Error::unavailable("circuit breaker is open").with_delivery(Delivery::NotSent)
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = self.lock();
        f.debug_struct("CircuitBreaker")
            .field("state", &machine.state)
            .field("counts", &machine.counts)
            .field("policy", &machine.rule)
            .finish_non_exhaustive()
    }
}
