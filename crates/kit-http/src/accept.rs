//! The accept loop every kit server runs, and what it tells the requests it serves.
//!
//! [`serve`](crate::serve) (HTTP/1.1 and h2c) and kit-grpc's `serve` (HTTP/2) share it:
//! accepting within the [connection budget](crate::ConnectionBudget), backing off when
//! `accept` fails, socket options, starting each connection's supervision (its timeouts),
//! graceful shutdown and the grace period live here.
//!
//! [`current_peer`] tells code serving a request which connection it came in on.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use kit::BoxError;
use kit::context::Peer;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::graceful::{Graceful, Watched};
use crate::serve::supervise::{Supervision, Supervisor, Timeouts};
use crate::serve::track::ConnShared;
use crate::serve::{ConnectionBudget, socket};

/// The peer of the connection whose request is being served by kit's
/// [`serve`](crate::serve) (or kit-grpc's): its remote address and the local address it
/// was accepted on, shared by all requests of the connection.
///
/// It is set while kit serves the request, on HTTP/1 and HTTP/2 alike (hyper runs each
/// HTTP/2 stream as a task of its own; the peer goes with it): in the service's
/// `poll_ready` and `call` (kit calls them from the first poll of the request's future)
/// and whenever its response future is polled. `None` elsewhere: outside a server, while
/// the response body streams, and in tasks the service spawns (pass the peer along).
///
/// Reading it clones an `Arc`. Setting it costs no allocation: the request's state moves
/// into a thread-local while its future is polled, and out again.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
///
/// // A tower service that answers with its caller's address.
/// let who = tower::service_fn(|_: Request<hyper::body::Incoming>| async {
///     let peer = kit_http::accept::current_peer().expect("served by kit_http::serve");
///     Ok::<_, Infallible>(Response::new(kit_http::Body::from(peer.remote_addr.to_string())))
/// });
/// # let _ = who;
/// ```
pub fn current_peer() -> Option<Arc<Peer>> {
    crate::serve::track::current_peer()
}

/// How the accept loop runs, besides its listener and connections.
#[derive(Debug)]
pub(crate) struct Loop {
    /// The protocol's name in log events (`http`, `grpc`).
    pub(crate) protocol: &'static str,
    pub(crate) grace: Duration,
    pub(crate) timeouts: Timeouts,
    pub(crate) tcp_keepalive: Option<Duration>,
    pub(crate) budget: ConnectionBudget,
}

/// Accepts connections on `listener` and serves each with the connection `connect` makes of
/// it, until `shutdown` completes; then stops accepting, asks every connection to finish its
/// in-flight requests and close (idle ones close at once), and waits up to the grace period
/// for them before closing the rest.
///
/// Connections are accepted only while the budget has room for them; the others wait in
/// the kernel's backlog. Sockets get `TCP_NODELAY` and TCP keepalive (see
/// [`socket::prepare`]). Failed `accept`s are logged and retried after growing pauses,
/// never fatal.
pub(crate) async fn serve_connections<F, M, C>(
    listener: TcpListener,
    shutdown: F,
    config: Loop,
    mut connect: M,
) where
    F: Future<Output = ()>,
    M: FnMut(TcpStream, Arc<ConnShared>) -> C,
    C: Future<Output = Result<(), BoxError>> + Graceful + Send + 'static,
{
    let Loop {
        protocol,
        grace,
        timeouts,
        tcp_keepalive,
        budget,
    } = config;
    let supervision = Supervision::start(Supervisor::new(timeouts, protocol));
    // Connection tasks, so that the ones still open after the grace period can be closed
    // rather than left running.
    let mut connections = JoinSet::new();
    let mut failures = AcceptFailures::new(protocol);
    let mut full = Throttled::new();
    let mut permit = None;
    let mut at_limit = false;
    tokio::pin!(shutdown);
    loop {
        if permit.is_none() {
            permit = budget.try_take();
            if permit.is_some() {
                at_limit = false;
            } else if !at_limit {
                at_limit = true;
                if full.allows(Instant::now()) {
                    tracing::warn!(
                        protocol,
                        limit = budget.limit(),
                        "connection limit reached: accepting no more connections until one closes"
                    );
                }
            }
        }
        let paused_until = failures.paused_until;
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = tokio::time::sleep_until(paused_until.unwrap_or_else(Instant::now)),
                if paused_until.is_some() => failures.paused_until = None,
            taken = budget.take(), if permit.is_none() => {
                permit = Some(taken);
                at_limit = false;
            }
            accepted = listener.accept(), if permit.is_some() && paused_until.is_none() => {
                match accepted {
                    Ok((stream, remote)) => {
                        failures.succeeded();
                        socket::prepare(&stream, tcp_keepalive);
                        let mut peer = Peer::new(remote);
                        if let Ok(local) = stream.local_addr() {
                            peer = peer.with_local_addr(local);
                        }
                        let shared = Arc::new(ConnShared::new(Arc::new(peer)));
                        supervision.add(shared.clone());
                        let connection = Watched::new(connect(stream, shared.clone()), shared);
                        let permit = permit.take();
                        connections.spawn(async move {
                            if let Err(err) = connection.await {
                                tracing::debug!(protocol, error = %err, %remote, "connection ended with an error");
                            }
                            drop(permit);
                        });
                    }
                    Err(err) => failures.failed(err, Instant::now()),
                }
            }
        }
    }
    // A share of the budget taken for a connection never accepted: give it back now, not
    // after the drain (other servers may share the budget).
    drop(permit);
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    drop(listener);
    tracing::info!(protocol, %addr, ?grace, "shutting down: draining in-flight requests");
    // `sleep`, not `sleep_until(now + grace)`: a grace period of `Duration::MAX` must not
    // overflow the clock.
    let grace_over = tokio::time::sleep(grace);
    tokio::pin!(grace_over);
    supervision.drain();
    loop {
        tokio::select! {
            biased;
            () = &mut grace_over => {
                tracing::warn!(protocol, %addr, "grace period over: closing the remaining connections");
                connections.shutdown().await;
                break;
            }
            done = connections.join_next() => if done.is_none() { break },
        }
    }
}

/// The first pause after a failed `accept`; each further failure in a row doubles it.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause: how late the server notices that descriptors are free again.
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// The least time between two warnings about the same trouble.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// Backing off after failed `accept`s: errors such as running out of file descriptors
/// (`EMFILE`, `ENFILE`) or memory last a while, and retrying at once would spin, starving
/// the requests being served and flooding the log.
#[derive(Debug)]
struct AcceptFailures {
    protocol: &'static str,
    pause: Duration,
    paused_until: Option<Instant>,
    warnings: Throttled,
}

impl AcceptFailures {
    fn new(protocol: &'static str) -> AcceptFailures {
        AcceptFailures {
            protocol,
            pause: FIRST_PAUSE,
            paused_until: None,
            warnings: Throttled::new(),
        }
    }

    fn succeeded(&mut self) {
        self.pause = FIRST_PAUSE;
    }

    fn failed(&mut self, err: io::Error, now: Instant) {
        use io::ErrorKind as K;
        // The client gave up before the accept: nothing wrong with the server.
        if matches!(
            err.kind(),
            K::ConnectionAborted | K::ConnectionReset | K::Interrupted
        ) {
            return;
        }
        if self.warnings.allows(now) {
            tracing::warn!(
                protocol = self.protocol,
                error = %err,
                pause = ?self.pause,
                failed_since_last_warning = self.warnings.suppressed,
                "accepting a connection failed: pausing accepts"
            );
            self.warnings.suppressed = 0;
        }
        self.paused_until = Some(now + self.pause);
        self.pause = (self.pause * 2).min(MAX_PAUSE);
    }
}

/// Lets an event through at most once every [`WARN_EVERY`], counting the others.
#[derive(Debug)]
struct Throttled {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    fn new() -> Throttled {
        Throttled {
            last: None,
            suppressed: 0,
        }
    }

    fn allows(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.duration_since(last) < WARN_EVERY => {
                self.suppressed += 1;
                false
            }
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(24)
    }

    #[test]
    fn pauses_double_up_to_a_second_and_reset_after_a_success() {
        let now = Instant::now();
        let mut failures = AcceptFailures::new("test");
        let mut pauses = Vec::new();
        for _ in 0..9 {
            failures.failed(emfile(), now);
            pauses.push(failures.paused_until.unwrap() - now);
        }
        let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        failures.succeeded();
        failures.failed(emfile(), now);
        assert_eq!(failures.paused_until.unwrap() - now, FIRST_PAUSE);
    }

    #[test]
    fn a_client_that_gave_up_is_no_failure() {
        let mut failures = AcceptFailures::new("test");
        failures.failed(io::ErrorKind::ConnectionAborted.into(), Instant::now());
        assert_eq!(failures.paused_until, None);
    }

    #[test]
    fn warnings_come_at_most_once_every_five_seconds() {
        let start = Instant::now();
        let mut throttled = Throttled::new();
        let allowed: Vec<bool> = [0, 1, 4999, 5000, 6000, 10_001]
            .into_iter()
            .map(|ms| throttled.allows(start + Duration::from_millis(ms)))
            .collect();
        assert_eq!(allowed, [true, false, false, true, false, true]);
    }
}
