//! Counting a client's attempts to reach a server that is down, to check that it backs off.
//!
//! A registry client that cannot reach its server tries again after a growing wait
//! ([`kit::middleware::retry::Backoff`], with full jitter). [`Attempts`] stands where the
//! server would be and fails every attempt at once, counting them: a TCP listener that
//! accepts each connection and closes it, or a UDP DNS server that answers each query
//! `REFUSED`. Failing at once leaves the backoff as the only thing that spaces the attempts,
//! so a client that did not back off would make thousands in a second.
//!
//! [`most_attempts`] is the bound a test checks the count against: an upper bound only, so
//! that a slow machine (which makes fewer attempts) cannot make it fail, and no timing is
//! asserted.
//!
//! Each [`Attempts`] runs on a thread of its own, so it counts whatever the test's runtime
//! is doing; dropping it stops the thread and closes the socket.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use kit::middleware::retry::Backoff;

/// How often a UDP thread looks whether it should stop.
const TICK: Duration = Duration::from_millis(20);

/// How unlikely [`most_attempts`]'s bound is to be exceeded by chance.
const CHANCE: f64 = 1e-9;

/// Attempts to reach a server at one address, each failed at once and counted; see the
/// [module docs](self).
#[derive(Debug)]
pub struct Attempts {
    addr: SocketAddr,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    wake: Wake,
    thread: Option<JoinHandle<()>>,
}

/// How the thread learns that it should stop.
#[derive(Debug)]
enum Wake {
    /// It looks every [`TICK`].
    Poll,
    /// It blocks on accepting: a connection wakes it.
    Connect,
}

impl Attempts {
    /// Listens for TCP connections on `addr`, closing each as soon as its client has sent
    /// something (so that the client is always told the same: its connection was reset).
    ///
    /// # Panics
    ///
    /// If `addr` cannot be bound.
    pub fn tcp(addr: SocketAddr) -> Attempts {
        let listener = TcpListener::bind(addr)
            .unwrap_or_else(|err| panic!("attempts: cannot listen on {addr}: {err}"));
        // Accepting blocks, so that each attempt is failed at once however quick the next;
        // dropping wakes it with a connection of its own.
        Attempts::run(addr, Wake::Connect, move |count, stop| {
            for stream in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match stream {
                    Ok(stream) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        thread::spawn(move || reset(stream));
                    }
                    Err(err) => panic!("attempts: accepting on {addr}: {err}"),
                }
            }
        })
    }

    /// Answers every DNS query to UDP `addr` at once with `REFUSED` (RFC 1035: the query's
    /// header and question sent back, with the response bit and that code set).
    ///
    /// # Panics
    ///
    /// If `addr` cannot be bound.
    pub fn dns_refused(addr: SocketAddr) -> Attempts {
        let socket = UdpSocket::bind(addr)
            .unwrap_or_else(|err| panic!("attempts: cannot bind UDP {addr}: {err}"));
        socket.set_read_timeout(Some(TICK)).expect("a read timeout");
        Attempts::run(addr, Wake::Poll, move |count, stop| {
            let mut buf = [0; 512];
            while !stop.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buf) {
                    Ok((len, from)) if len >= 12 => {
                        count.fetch_add(1, Ordering::Relaxed);
                        // QR = 1 (a response), RA kept 0, RCODE = 5 (REFUSED); the counts
                        // of answer, authority and additional records set to 0.
                        buf[2] |= 0x80;
                        buf[3] = (buf[3] & 0xf0) | 5;
                        buf[6..12].fill(0);
                        // A client that went away is no concern of the count.
                        let _ = socket.send_to(&buf[..len], from);
                    }
                    // Too short to be a query: not an attempt.
                    Ok(_) => {}
                    Err(err)
                        if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(err) => panic!("attempts: receiving on {addr}: {err}"),
                }
            }
        })
    }

    fn run(
        addr: SocketAddr,
        wake: Wake,
        serve: impl FnOnce(Arc<AtomicUsize>, Arc<AtomicBool>) + Send + 'static,
    ) -> Attempts {
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::spawn({
            let (count, stop) = (count.clone(), stop.clone());
            move || serve(count, stop)
        });
        Attempts {
            addr,
            count,
            stop,
            wake,
            thread: Some(thread),
        }
    }

    /// The address attempts are counted at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many attempts came so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Checks that a client started at `since`, failing at every attempt, backs off as
    /// `backoff` says, each of its attempts counting at most `per_attempt` here (connections
    /// or queries: a resolver may ask again itself before its attempt fails). Waits (bounded)
    /// for more than `per_attempt` to be counted (a second attempt) and for `window` to pass
    /// since `since`, then checks that the count is at most `per_attempt` times
    /// [`most_attempts`]`(backoff, time since since)`. Returns the count.
    ///
    /// # Panics
    ///
    /// When the count is above that bound, or no second attempt comes within
    /// [`PATIENCE`](crate::sd::PATIENCE).
    pub async fn check_backs_off(
        &self,
        backoff: Backoff,
        per_attempt: usize,
        since: Instant,
        window: Duration,
    ) -> usize {
        crate::sd::wait_until("a second attempt", || self.count() > per_attempt).await;
        tokio::time::sleep(window.saturating_sub(since.elapsed())).await;
        // Counted first: the time taken after is at least the time the attempts had.
        let count = self.count();
        let elapsed = since.elapsed();
        let most = per_attempt * most_attempts(backoff, elapsed);
        assert!(
            count <= most,
            "{count} counted at {} in {elapsed:?}, more than {per_attempt} per attempt of \
             the most attempts {backoff:?} allows ({most} in all)",
            self.addr
        );
        count
    }
}

impl Drop for Attempts {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Wake::Connect = self.wake {
            // Failing, the listener is gone already.
            let _ = TcpStream::connect(self.addr);
        }
        if let Some(thread) = self.thread.take() {
            // A panic of the thread has been printed already; do not panic in drop.
            let _ = thread.join();
        }
    }
}

/// Closes `stream` once its client has sent something, or after a second: closed with
/// bytes unread, it is reset (RST), where a close with nothing unread would be a clean end
/// of stream or a reset depending on when the client's bytes arrived.
fn reset(stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.peek(&mut [0]);
}

/// The most attempts a loop that waits as `backoff` says between failed attempts can make
/// within `window`, but for a chance below one in a billion: with attempts that fail at
/// once, `k + 1` attempts fit only if the first `k` waits add up to less than `window`.
/// Each wait is uniform in `[0, c]` for its [ceiling](Backoff::ceiling) `c`, so the chance
/// of that is at most the volume of the simplex `{x ≥ 0, Σx < window}` over the box of the
/// ceilings: `windowᵏ / (k! · Π cᵢ)`. The bound is the first `k + 1` for which that is below
/// one in a billion.
///
/// # Panics
///
/// If `backoff` waits not at all (its first ceiling is zero): then nothing bounds the
/// attempts.
pub fn most_attempts(backoff: Backoff, window: Duration) -> usize {
    assert!(
        !backoff.ceiling(0).is_zero(),
        "most_attempts: a backoff of no wait bounds nothing"
    );
    let window = window.as_secs_f64();
    // ln of windowᵏ / (k! · Π cᵢ), one wait at a time.
    let mut ln_chance = 0.0;
    let mut waits = 0u32;
    while ln_chance >= CHANCE.ln() {
        let ceiling = backoff.ceiling(waits).as_secs_f64();
        waits += 1;
        ln_chance += (window / (f64::from(waits) * ceiling)).ln();
    }
    waits as usize + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_where_the_chance_falls_below_one_in_a_billion() {
        // Waits of up to 100 ms, a window of 2 s: 20ᵏ / k! < 1e-9 from k = 70 on.
        let constant = Backoff::new(Duration::from_millis(100), Duration::from_millis(100));
        assert_eq!(most_attempts(constant, Duration::from_secs(2)), 71);
        // 1 s doubling to 30 s over 3 s: the ceilings 1, 2, 4, 8, 16, 30, 30, 30, 30 s make
        // 3⁹ / (9! · 1 · 2 · 4 · 8 · 16 · 30⁴) ≈ 7e-11; with eight waits, 6e-9.
        let growing = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(most_attempts(growing, Duration::from_secs(3)), 10);
    }
}
