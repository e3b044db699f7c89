//! Running a service on a listener: limits, timeouts and graceful shutdown.
//!
//! One accept loop ([`accept`](crate::accept)) serves every kit server; a [`Protocol`] says
//! what differs (the tower service each connection gets: kit-grpc adds tonic's connection
//! info). The parts, one concern each:
//!
//! - `connection`: an accepted socket served by hyper, HTTP/1 or HTTP/2;
//! - `io`: the socket as hyper sees it, reporting moved bytes;
//! - `track`: the state a connection's parts share (requests in flight, phase), and the
//!   service and body wrappers that keep it;
//! - `supervise`: the timeouts, kept by one supervisor per server;
//! - `budget`: [`ConnectionBudget`];
//! - [`graceful`](crate::graceful): commands from the supervisor to a connection.

mod budget;
mod connection;
mod io;
pub(crate) mod socket;
pub(crate) mod supervise;
pub(crate) mod track;

use std::future::{Future, IntoFuture, Pending};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kit::BoxError;
use kit::context::Peer;
use tokio::net::TcpListener;
use tower_service::Service;

pub use budget::ConnectionBudget;

use crate::accept::{Loop, serve_connections};
use connection::{Builders, Connection, Versions};
use io::Io;
use supervise::Timeouts;
use track::ConnService;

/// How long in-flight requests may take to finish after shutdown starts, by default.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_DRAIN_IDLE_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// As Go's servers.
const DEFAULT_TCP_KEEPALIVE: Duration = Duration::from_secs(15);
/// hyper's smallest HTTP/1 read buffer: `max_buf_size` panics below it.
const MIN_HTTP1_BUFFER: usize = 8192;

/// Serves `service` (a kit [`Router`](crate::Router) or [`Server`](crate::Server), or any
/// tower service of HTTP requests) on `listener`, HTTP/1.1 and HTTP/2 (prior knowledge) on
/// every connection, within the limits of the [server defaults](crate#server-defaults).
///
/// Await the returned [`Serve`] to run it: it returns once shut down and drained. Without
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) it runs until dropped. Failed
/// `accept`s are logged and retried, never fatal.
///
/// ```no_run
/// # async fn run(router: kit_http::Router) -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
/// kit_http::serve(listener, router)
///     // Behind a load balancer that keeps idle connections for up to 10 minutes.
///     .idle_timeout(Duration::from_secs(620))
///     .with_graceful_shutdown(kit_http::shutdown_signal())
///     .await;
/// # Ok(()) }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S, Pending<()>> {
    Serve::with_protocol(listener, service, Http { _private: () })
}

/// What differs between kit's servers: the tower service each connection is served by.
/// kit-http serves the given service as it is ([`Http`]); kit-grpc adds tonic's connection
/// info to each request.
pub trait Protocol<S>: Send + 'static {
    /// The service of one connection.
    type Service: Service<
            Request<Incoming>,
            Response = Response<Self::Body>,
            Error: Into<BoxError>,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static;
    /// Its response body.
    type Body: HttpBody<Data: Send, Error: Into<BoxError>> + Send + 'static;

    /// The protocol's name in log events (`http`, `grpc`).
    const NAME: &'static str;

    /// The service for a connection accepted from `peer`.
    fn service(&self, service: &S, peer: &Arc<Peer>) -> Self::Service;
}

/// kit-http's protocol: each connection is served by a clone of the service.
#[derive(Debug)]
pub struct Http {
    _private: (),
}

impl<S, B> Protocol<S> for Http
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Service = S;
    type Body = B;

    const NAME: &'static str = "http";

    fn service(&self, service: &S, _peer: &Arc<Peer>) -> S {
        service.clone()
    }
}

/// A server being configured; await it to run. Made by [`serve`] (or, for another
/// [`Protocol`], [`Serve::with_protocol`]).
///
/// The defaults, what happens when a limit is reached, and which of them are hyper's, are
/// in the [server defaults](crate#server-defaults). kit's own limits have their methods
/// here; hyper's connection settings are reachable through [`http1`](Serve::http1) and
/// [`http2`](Serve::http2), which hand over hyper's builders. Settings apply in the order
/// they are made, so a later call overrides an earlier one.
#[must_use = "a Serve does nothing until awaited"]
#[derive(Debug)]
pub struct Serve<S, F, P = Http> {
    listener: TcpListener,
    service: S,
    shutdown: F,
    protocol: P,
    grace: Duration,
    timeouts: Timeouts,
    tcp_keepalive: Option<Duration>,
    budget: Option<ConnectionBudget>,
    builders: Builders,
}

impl<S, P> Serve<S, Pending<()>, P> {
    /// Serves `service` on `listener` with `protocol`; the building block of [`serve`] and
    /// of kit-grpc's `serve`.
    pub fn with_protocol(listener: TcpListener, service: S, protocol: P) -> Self {
        let mut http1 = http1::Builder::new();
        // kit keeps the header read timeout itself (hyper's also runs while a keep-alive
        // connection is idle), and the timer is there for settings made through `http1`.
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_buf_size(DEFAULT_MAX_HEADER_BYTES.max(MIN_HTTP1_BUFFER));
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_header_list_size(header_list_size(DEFAULT_MAX_HEADER_BYTES));
        Serve {
            listener,
            service,
            shutdown: std::future::pending(),
            protocol,
            grace: DEFAULT_GRACE_PERIOD,
            timeouts: Timeouts {
                header_read: DEFAULT_HEADER_READ_TIMEOUT,
                idle: DEFAULT_IDLE_TIMEOUT,
                drain_idle: DEFAULT_DRAIN_IDLE_TIMEOUT,
            },
            tcp_keepalive: Some(DEFAULT_TCP_KEEPALIVE),
            budget: None,
            builders: Builders {
                http1,
                http2,
                versions: Versions::Both,
            },
        }
    }
}

fn header_list_size(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl<S, F, P> Serve<S, F, P> {
    /// Stops accepting connections when `signal` completes, then lets in-flight requests
    /// finish (idle connections are closed at once; HTTP/2 clients get a `GOAWAY`) for up to
    /// the grace period.
    pub fn with_graceful_shutdown<G: Future<Output = ()> + Send>(
        self,
        signal: G,
    ) -> Serve<S, G, P> {
        Serve {
            listener: self.listener,
            service: self.service,
            shutdown: signal,
            protocol: self.protocol,
            grace: self.grace,
            timeouts: self.timeouts,
            tcp_keepalive: self.tcp_keepalive,
            budget: self.budget,
            builders: self.builders,
        }
    }

    /// How long in-flight requests may take to finish after shutdown starts (default
    /// [`DEFAULT_GRACE_PERIOD`]); connections still open after it are closed.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long a client may take to send a request head (default 10 s): counted from the
    /// connect for the first request (so it also bounds the wait for the first bytes, and
    /// for the HTTP/2 preface), and from the first byte of each later request on an HTTP/1
    /// keep-alive connection. A connection whose head is not complete in time is closed
    /// without an answer. Bytes trickling in do not extend it. (On HTTP/2, once the preface
    /// is in, the idle timeout applies while no stream is open.)
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.header_read = timeout;
        self
    }

    /// How long a connection may stay idle (default 120 s): on HTTP/1, with no request in
    /// flight and nothing of the next one received; on HTTP/2, with no stream open (pings
    /// and window updates do not count). Then HTTP/1 connections are closed and HTTP/2 ones
    /// sent a `GOAWAY`.
    ///
    /// The default outlasts the idle timeouts of common HTTP load balancers and proxies
    /// (60 s on AWS application load balancers and for nginx's upstream keep-alive), so
    /// that the balancer, not the server, closes an idle connection: a server that closes
    /// first races the balancer's next request on that connection, which the balancer then
    /// answers with a 502. Behind one that keeps idle connections longer (Google Cloud's
    /// load balancers: 600 s; AWS network load balancers: 350 s), set this above its
    /// timeout.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.idle = timeout;
        self
    }

    /// After a graceful shutdown of a connection has begun (the server drains, or the idle
    /// timeout sent an HTTP/2 `GOAWAY`), how long it may stay open with no request in
    /// flight and no bytes moving either way (default 1 s) before it is closed.
    ///
    /// hyper closes an HTTP/2 connection only once the client acknowledges the ping that
    /// follows the `GOAWAY`; a client that stopped reading would otherwise hold the drain
    /// for the whole grace period. Connections still sending a response, or receiving a
    /// request, are not affected.
    pub fn drain_idle_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.drain_idle = timeout;
        self
    }

    /// TCP keepalive on accepted connections (default 15 s, as Go's servers): after this
    /// long without traffic the kernel probes the peer, every this long after, and closes
    /// the connection after 9 unanswered probes, so a peer that vanished (a crashed host, a
    /// dropped network path) does not hold a connection, and the requests on it, for ever.
    /// `None` turns it off. Set on Linux only.
    pub fn tcp_keepalive(mut self, idle: impl Into<Option<Duration>>) -> Self {
        self.tcp_keepalive = idle.into();
        self
    }

    /// Serves at most `limit` connections at once, with a budget of its own instead of the
    /// process's (see [`ConnectionBudget`]).
    ///
    /// # Panics
    ///
    /// As [`ConnectionBudget::new`].
    pub fn max_connections(self, limit: usize) -> Self {
        self.connection_budget(ConnectionBudget::new(limit))
    }

    /// Holds its connections within `budget`, which other servers may share (default:
    /// [`ConnectionBudget::process`]).
    pub fn connection_budget(mut self, budget: ConnectionBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The largest request head accepted, in bytes (default 64 KiB).
    ///
    /// HTTP/1: hyper's `max_buf_size` (at least 8 KiB), its read buffer, is checked while
    /// a head is incomplete, so a head somewhat larger can pass when it arrives at once; a
    /// head over it is answered `431 Request Header Fields Too Large` and the connection
    /// closed. HTTP/2: the `SETTINGS_MAX_HEADER_LIST_SIZE` the server announces (each field
    /// counts its name, value and 32 bytes), and a larger header block is answered `431`
    /// on its stream.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.builders
            .http1
            .max_buf_size(bytes.max(MIN_HTTP1_BUFFER));
        self.builders
            .http2
            .max_header_list_size(header_list_size(bytes));
        self
    }

    /// The most header fields an HTTP/1 request may have (default 100, hyper's); more are
    /// answered `431` and the connection closed. (HTTP/2 has no count: each field counts
    /// 32 bytes towards [`max_header_bytes`](Serve::max_header_bytes).)
    pub fn max_headers(mut self, count: usize) -> Self {
        self.builders.http1.max_headers(count);
        self
    }

    /// The most streams an HTTP/2 client may have open at once on a connection (default
    /// 200, hyper's): it learns this from the server's settings and waits; a stream over
    /// the limit is refused with `REFUSED_STREAM`.
    pub fn http2_max_concurrent_streams(mut self, streams: u32) -> Self {
        self.builders.http2.max_concurrent_streams(streams);
        self
    }

    /// How long an HTTP/2 connection may go without receiving a frame before the server
    /// pings the client (default: no pings, hyper's). A client that does not answer within
    /// [`http2_keep_alive_timeout`](Serve::http2_keep_alive_timeout) is disconnected, even
    /// with streams open.
    ///
    /// Off by default because hyper then takes a lock and reads the clock for every frame
    /// received: about 2.5% of the instructions of a unary gRPC call (addsvc's `Sum`,
    /// measured with callgrind). A vanished peer (a crashed host, a dropped network path)
    /// is found without them by [TCP keepalive](Serve::tcp_keepalive), and a client that
    /// ignores a `GOAWAY` by the [drain idle timeout](Serve::drain_idle_timeout); pings
    /// also find a client whose host still answers for it but which has stopped reading.
    pub fn http2_keep_alive_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.builders.http2.keep_alive_interval(interval);
        self
    }

    /// How long the server waits for the answer to a keep-alive ping (default 20 s, hyper's).
    pub fn http2_keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.builders.http2.keep_alive_timeout(timeout);
        self
    }

    /// How many HTTP/2 streams a client may reset before the server has accepted them
    /// (default 20, h2's) before the connection is closed with `GOAWAY` and
    /// `ENHANCE_YOUR_CALM`: the defence against "rapid reset" floods (CVE-2023-44487).
    pub fn http2_max_pending_accept_reset_streams(mut self, streams: usize) -> Self {
        self.builders
            .http2
            .max_pending_accept_reset_streams(streams);
        self
    }

    /// How many HTTP/2 streams the server may reset because of the client's errors before
    /// it closes the connection with `GOAWAY` and `ENHANCE_YOUR_CALM` (default: hyper's,
    /// 1,024; `None` for no limit): the defence against "made you reset" floods.
    pub fn http2_max_local_error_reset_streams(mut self, streams: Option<usize>) -> Self {
        self.builders.http2.max_local_error_reset_streams(streams);
        self
    }

    /// The HTTP/2 flow-control window of each stream (default 1 MiB, hyper's): how much
    /// request body a client may send ahead of what the service has read.
    pub fn http2_initial_stream_window_size(mut self, bytes: u32) -> Self {
        self.builders.http2.initial_stream_window_size(bytes);
        self
    }

    /// The HTTP/2 flow-control window of each connection (default 1 MiB, hyper's): how much
    /// request body, over all its streams, a client may send ahead of what the services
    /// have read. This bounds the request data a connection buffers.
    pub fn http2_initial_connection_window_size(mut self, bytes: u32) -> Self {
        self.builders.http2.initial_connection_window_size(bytes);
        self
    }

    /// Whether HTTP/2 windows grow with the measured bandwidth-delay product (default off,
    /// hyper's); on, it overrides the two window sizes.
    pub fn http2_adaptive_window(mut self, enabled: bool) -> Self {
        self.builders.http2.adaptive_window(enabled);
        self
    }

    /// How many bytes of a response each HTTP/2 stream may queue for sending (default:
    /// hyper's).
    pub fn http2_max_send_buf_size(mut self, bytes: usize) -> Self {
        self.builders.http2.max_send_buf_size(bytes);
        self
    }

    /// Configures hyper's HTTP/1 builder directly, for the settings kit has no method for
    /// (e.g. `half_close`, `title_case_headers`, `writev`). Setting hyper's own
    /// `header_read_timeout` brings back hyper's behaviour besides kit's: it also closes
    /// keep-alive connections idle that long.
    pub fn http1(mut self, configure: impl FnOnce(&mut http1::Builder)) -> Self {
        configure(&mut self.builders.http1);
        self
    }

    /// Configures hyper's HTTP/2 builder directly, for the settings kit has no method for
    /// (e.g. `max_frame_size`, `enable_connect_protocol`).
    pub fn http2(mut self, configure: impl FnOnce(&mut http2::Builder<TokioExecutor>)) -> Self {
        configure(&mut self.builders.http2);
        self
    }

    /// Speaks only HTTP/1.x, skipping the check for an HTTP/2 preface on new connections.
    pub fn http1_only(mut self) -> Self {
        self.builders.versions = Versions::Http1;
        self
    }

    /// Speaks only HTTP/2 with prior knowledge (h2c), as kit-grpc's `serve` does.
    pub fn http2_only(mut self) -> Self {
        self.builders.versions = Versions::Http2;
        self
    }
}

impl<S, F, P> IntoFuture for Serve<S, F, P>
where
    S: Send + 'static,
    F: Future<Output = ()> + Send + 'static,
    P: Protocol<S>,
{
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (protocol, service) = (self.protocol, self.service);
            let builders = Arc::new(self.builders);
            let config = Loop {
                protocol: P::NAME,
                grace: self.grace,
                timeouts: self.timeouts,
                tcp_keepalive: self.tcp_keepalive,
                budget: self.budget.unwrap_or_else(ConnectionBudget::process),
            };
            serve_connections(
                self.listener,
                self.shutdown,
                config,
                move |stream, shared| {
                    let service = protocol.service(&service, &shared.peer);
                    let io = Io::new(stream, shared.clone());
                    Connection::new(io, ConnService::new(service, shared), &builders)
                },
            )
            .await;
        })
    }
}

/// Completes when the process receives SIGINT or SIGTERM (Ctrl-C elsewhere): the usual
/// shutdown signal for [`Serve::with_graceful_shutdown`].
///
/// The signal handlers are installed when this function is called, not when the future is
/// first polled, so call it before announcing that the service is up: a signal that arrives
/// in between is then caught instead of killing the process.
///
/// # Panics
/// Outside a tokio runtime, or if the handlers cannot be installed.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        async move {
            tokio::select! {
                _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
                _ = int.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!(signal = "ctrl-c", "shutdown requested");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of the crate docs' server defaults table that no test waits out.
    #[tokio::test]
    async fn the_defaults_are_the_documented_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let serve = serve(listener, ());
        assert_eq!(serve.grace, Duration::from_secs(10));
        assert_eq!(serve.timeouts.header_read, Duration::from_secs(10));
        assert_eq!(serve.timeouts.idle, Duration::from_secs(120));
        assert_eq!(serve.timeouts.drain_idle, Duration::from_secs(1));
        assert!(serve.budget.is_none(), "the process's budget");
        assert_eq!(serve.tcp_keepalive, Some(Duration::from_secs(15)));
        assert_eq!(serve.builders.versions, Versions::Both);
        // hyper's builders show their settings only through Debug.
        let http1 = format!("{:?}", serve.builders.http1);
        assert!(
            http1.contains("h1_header_read_timeout: Configured(None)"),
            "{http1}"
        );
        assert!(http1.contains("max_buf_size: Some(65536)"), "{http1}");
        let http2 = format!("{:?}", serve.builders.http2);
        for setting in [
            "keep_alive_interval: None",
            "keep_alive_timeout: 20s",
            "max_header_list_size: 65536",
        ] {
            assert!(http2.contains(setting), "{setting} in {http2}");
        }
    }

    /// The methods that only forward to hyper's builders, forwarding.
    #[tokio::test]
    async fn the_settings_reach_hypers_builders() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let serve = serve(listener, ())
            .max_header_bytes(100)
            .max_headers(7)
            .http2_max_pending_accept_reset_streams(5)
            .http2_max_local_error_reset_streams(Some(6))
            .http2_adaptive_window(true)
            .http2_max_send_buf_size(4321)
            .http2_keep_alive_interval(Duration::from_secs(3))
            .http2_keep_alive_timeout(Duration::from_secs(4));
        let http1 = format!("{:?}", serve.builders.http1);
        for setting in ["max_buf_size: Some(8192)", "h1_max_headers: Some(7)"] {
            assert!(http1.contains(setting), "{setting} in {http1}");
        }
        let http2 = format!("{:?}", serve.builders.http2);
        for setting in [
            "max_header_list_size: 100,",
            "max_pending_accept_reset_streams: Some(5)",
            "max_local_error_reset_streams: Some(6)",
            "adaptive_window: true",
            "max_send_buffer_size: 4321",
            "keep_alive_interval: Some(3s)",
            "keep_alive_timeout: 4s",
        ] {
            assert!(http2.contains(setting), "{setting} in {http2}");
        }
    }
}
