//! The timeouts of a server's connections, kept by one supervisor per server instead of a
//! timer per connection.
//!
//! The request path only bumps counters (see [`track`](super::track)); the supervisor, a
//! task of the server's runtime, looks at every connection a few times per shortest timeout
//! and notes
//! when it last saw each one change phase or move bytes. That keeps clocks and timers off
//! the request path, at the price of precision: a timeout fires between its duration and
//! its duration plus two [ticks](Supervisor::tick) later (a tick is an eighth of the
//! shortest timeout, at most a second), never earlier.
//!
//! Why one task with one timer: a timer per connection would be armed and disarmed on every
//! request. One pending timer is not free either (the runtime looks at its timer wheel each
//! time it parks, about 200 instructions per request on addsvc's `/sum`), but a thread of
//! its own costs far more: it makes the process multi-threaded, and then every `recv` and
//! `writev` pays for glibc's cancellation bookkeeping and the kernel takes a reference on
//! the socket's file for each call. On a current-thread runtime (one CPU) that was measured
//! at about 10% more server CPU per request on `/sum` (`perf`, sampled under `wrk`).
//!
//! What it enforces on a connection with no request in flight (one with a request in
//! flight is left alone):
//!
//! - **header read timeout**: reading a request head (from the connect, or from the first
//!   byte after an idle spell) for longer closes the connection. This also bounds reading
//!   the HTTP/2 preface.
//! - **idle timeout**: idle (HTTP/1: nothing read since the last response; HTTP/2: no
//!   stream open) for longer starts a graceful shutdown: HTTP/1 closes at once, HTTP/2
//!   sends `GOAWAY`.
//! - **drain idle timeout**: once a graceful shutdown has begun (the server drains, or the
//!   idle timeout sent a `GOAWAY`), no bytes moved either way for longer closes the
//!   connection. hyper keeps an HTTP/2 connection open until the client acknowledges the
//!   `GOAWAY`'s ping, which a client that stopped reading never does.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::track::{ConnShared, HEADER, IDLE, phase_of};

/// The limits the supervisor enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) header_read: Duration,
    pub(crate) idle: Duration,
    pub(crate) drain_idle: Duration,
}

const MIN_TICK: Duration = Duration::from_millis(10);
const MAX_TICK: Duration = Duration::from_secs(1);

/// The connections of one server and what was last seen of each.
#[derive(Debug)]
pub(crate) struct Supervisor {
    timeouts: Timeouts,
    protocol: &'static str,
    connections: Vec<Watch>,
    draining: bool,
}

#[derive(Debug)]
struct Watch {
    shared: Arc<ConnShared>,
    phase: u32,
    /// When the phase was first seen as it is now.
    phase_since: Instant,
    io: u32,
    /// When bytes were first seen to have moved since the previous look.
    io_since: Instant,
    /// When the connection was asked to shut down gracefully.
    shut_down_at: Option<Instant>,
    closed: bool,
}

impl Supervisor {
    pub(crate) fn new(timeouts: Timeouts, protocol: &'static str) -> Supervisor {
        Supervisor {
            timeouts,
            protocol,
            connections: Vec::new(),
            draining: false,
        }
    }

    /// How often to look at the connections: an eighth of the shortest timeout that can
    /// fire now, between 10 ms and 1 s.
    pub(crate) fn tick(&self) -> Duration {
        let t = &self.timeouts;
        let mut shortest = t.header_read.min(t.idle);
        if self.draining {
            shortest = shortest.min(t.drain_idle);
        }
        (shortest / 8).clamp(MIN_TICK, MAX_TICK)
    }

    /// Watches a connection accepted at `now`.
    pub(crate) fn add(&mut self, shared: Arc<ConnShared>, now: Instant) {
        self.connections.push(Watch {
            phase: shared.phase_word(),
            phase_since: now,
            io: shared.io_count(),
            io_since: now,
            shut_down_at: None,
            closed: false,
            shared,
        });
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.connections.len()
    }

    /// Asks every connection to shut down gracefully.
    pub(crate) fn drain(&mut self, now: Instant) {
        self.draining = true;
        for watch in &mut self.connections {
            if !watch.closed && watch.shut_down_at.is_none() {
                watch.shut_down_at = Some(now);
                watch.shared.control.shut_down();
            }
        }
    }

    /// Looks at every connection: forgets the ones that ended, closes or shuts down the
    /// ones whose time ran out.
    pub(crate) fn sweep(&mut self, now: Instant) {
        let (timeouts, protocol) = (self.timeouts, self.protocol);
        self.connections.retain_mut(|watch| {
            // Only the supervisor holds it any more: the connection's task has ended.
            if Arc::strong_count(&watch.shared) == 1 {
                return false;
            }
            if !watch.closed {
                watch.look(now, &timeouts, protocol);
            }
            true
        });
    }
}

/// A [`Supervisor`] sweeping, on a task of the runtime, until this is dropped.
#[derive(Debug)]
pub(crate) struct Supervision {
    supervisor: Arc<Mutex<Supervisor>>,
    sweeping: tokio::task::JoinHandle<()>,
}

impl Supervision {
    /// Starts sweeping.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (with its timer enabled).
    pub(crate) fn start(supervisor: Supervisor) -> Supervision {
        let supervisor = Arc::new(Mutex::new(supervisor));
        let watched = supervisor.clone();
        let sweeping = tokio::spawn(async move {
            loop {
                let tick = lock(&watched).tick();
                tokio::time::sleep(tick).await;
                lock(&watched).sweep(Instant::now());
            }
        });
        Supervision {
            supervisor,
            sweeping,
        }
    }

    /// Watches a connection accepted now.
    pub(crate) fn add(&self, shared: Arc<ConnShared>) {
        lock(&self.supervisor).add(shared, Instant::now());
    }

    /// Asks every connection to shut down gracefully.
    pub(crate) fn drain(&self) {
        lock(&self.supervisor).drain(Instant::now());
    }
}

fn lock(supervisor: &Mutex<Supervisor>) -> MutexGuard<'_, Supervisor> {
    supervisor.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Supervision {
    fn drop(&mut self) {
        self.sweeping.abort();
    }
}

impl Watch {
    fn look(&mut self, now: Instant, timeouts: &Timeouts, protocol: &'static str) {
        let shared = &self.shared;
        let phase = shared.phase_word();
        if phase != self.phase {
            (self.phase, self.phase_since) = (phase, now);
        }
        let io = shared.io_count();
        if io != self.io {
            (self.io, self.io_since) = (io, now);
        }
        if shared.in_flight() > 0 {
            return;
        }
        let in_phase = now.duration_since(self.phase_since);
        let close = match (phase_of(phase), self.shut_down_at) {
            (HEADER, _) if in_phase >= timeouts.header_read => Some("header read timeout"),
            (_, Some(at))
                if now.duration_since(at.max(self.io_since).max(self.phase_since))
                    >= timeouts.drain_idle =>
            {
                Some("no bytes moved since the graceful shutdown began")
            }
            (IDLE, None) if in_phase >= timeouts.idle => {
                tracing::debug!(protocol, peer = %shared.peer.remote_addr, "idle timeout: shutting down the connection");
                self.shut_down_at = Some(now);
                shared.control.shut_down();
                None
            }
            _ => None,
        };
        if let Some(reason) = close {
            tracing::debug!(protocol, peer = %shared.peer.remote_addr, reason, "closing the connection");
            self.closed = true;
            shared.control.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use kit::context::Peer;

    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(100),
        drain_idle: Duration::from_secs(1),
    };

    fn watched(now: Instant) -> (Supervisor, Arc<ConnShared>) {
        let mut supervisor = Supervisor::new(TIMEOUTS, "test");
        let shared = Arc::new(ConnShared::new(Arc::new(Peer::new(
            "127.0.0.1:1".parse().unwrap(),
        ))));
        supervisor.add(shared.clone(), now);
        (supervisor, shared)
    }

    /// The command the connection has been given, read the way its task reads it.
    fn command(shared: &ConnShared) -> &'static str {
        shared.control.describe()
    }

    #[test]
    fn ticks_are_an_eighth_of_the_shortest_timeout_within_bounds() {
        let supervisor = Supervisor::new(TIMEOUTS, "test");
        assert_eq!(supervisor.tick(), Duration::from_secs(1));
        let mut short = Supervisor::new(
            Timeouts {
                header_read: Duration::from_millis(400),
                ..TIMEOUTS
            },
            "test",
        );
        assert_eq!(short.tick(), Duration::from_millis(50));
        short.timeouts.header_read = Duration::from_millis(1);
        assert_eq!(short.tick(), MIN_TICK);
        let mut draining = Supervisor::new(
            Timeouts {
                drain_idle: Duration::from_millis(800),
                ..TIMEOUTS
            },
            "test",
        );
        draining.drain(Instant::now());
        assert_eq!(draining.tick(), Duration::from_millis(100));
    }

    #[test]
    fn a_head_that_takes_too_long_closes_the_connection() {
        let start = Instant::now();
        let (mut supervisor, shared) = watched(start);
        // Bytes trickling in do not extend the header read timeout.
        shared.read_some(true);
        supervisor.sweep(start + Duration::from_secs(9));
        assert_eq!(command(&shared), "serve");
        supervisor.sweep(start + Duration::from_secs(10));
        assert_eq!(command(&shared), "close");
    }

    #[test]
    fn an_idle_connection_is_shut_down_after_the_idle_timeout_not_the_header_timeout() {
        let start = Instant::now();
        let (mut supervisor, shared) = watched(start);
        shared.set_phase(IDLE);
        supervisor.sweep(start + Duration::from_secs(1));
        supervisor.sweep(start + Duration::from_secs(50));
        assert_eq!(command(&shared), "serve");
        supervisor.sweep(start + Duration::from_secs(101));
        assert_eq!(command(&shared), "shut down");
        // A client that never answers the GOAWAY is closed once nothing moved for a while.
        supervisor.sweep(start + Duration::from_secs(102));
        assert_eq!(command(&shared), "close");
    }

    #[test]
    fn a_draining_connection_is_closed_once_quiet_with_nothing_in_flight() {
        let start = Instant::now();
        let (mut supervisor, shared) = watched(start);
        shared.set_phase(IDLE);
        supervisor.sweep(start);
        supervisor.drain(start);
        assert_eq!(command(&shared), "shut down");
        // Bytes moving (a response being read slowly) keep it open.
        shared.moved();
        supervisor.sweep(start + Duration::from_millis(900));
        supervisor.sweep(start + Duration::from_millis(1800));
        assert_eq!(command(&shared), "shut down");
        supervisor.sweep(start + Duration::from_millis(1900));
        assert_eq!(command(&shared), "close");
    }

    #[test]
    fn nothing_fires_while_a_request_is_in_flight_and_ended_connections_are_forgotten() {
        let start = Instant::now();
        let (mut supervisor, shared) = watched(start);
        let in_flight = crate::serve::track::InFlight::start(&shared);
        supervisor.drain(start);
        supervisor.sweep(start + Duration::from_secs(1000));
        assert_eq!(command(&shared), "shut down");
        drop(in_flight);
        supervisor.sweep(start + Duration::from_secs(1000));
        supervisor.sweep(start + Duration::from_secs(1001));
        assert_eq!(command(&shared), "close");
        drop(shared);
        supervisor.sweep(start + Duration::from_secs(1002));
        assert_eq!(supervisor.len(), 0);
    }
}
