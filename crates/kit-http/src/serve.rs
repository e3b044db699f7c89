//! Running a service on a listener, with graceful shutdown.

use std::fmt::Display;
use std::future::{Future, IntoFuture, Pending};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use http::{Request, Response};
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use kit::BoxError;
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

use crate::accept::serve_connections;

/// How long in-flight requests may take to finish after shutdown starts, by default.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Serves `service` (a kit [`Router`](crate::Router) or [`Server`](crate::Server), or any
/// tower service of HTTP requests) on `listener`, HTTP/1.1 and HTTP/2 (prior knowledge) on
/// every connection.
///
/// Await the returned [`Serve`] to run it: it returns once shut down and drained. Without
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) it runs until dropped. Failed
/// `accept`s are logged and retried, never fatal.
///
/// ```no_run
/// # async fn run(router: kit_http::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
/// kit_http::serve(listener, router)
///     .with_graceful_shutdown(kit_http::shutdown_signal())
///     .await;
/// # Ok(()) }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S, Pending<()>> {
    let builder = auto::Builder::new(TokioExecutor::new());
    Serve::with_protocol(listener, service, Http { builder })
}

/// How a [`Serve`] turns an accepted socket into a hyper connection: the one thing that
/// differs between kit's servers (HTTP/1.1 and h2c here; HTTP/2 for gRPC in kit-grpc).
pub trait Protocol<S>: Send + 'static {
    /// The connection served on one socket.
    type Connection: GracefulConnection<Error: Display> + Send + 'static;

    /// The protocol's name in log events (`http`, `grpc`).
    const NAME: &'static str;

    /// Serves `service` on the connection accepted from `peer`.
    fn connect(&self, stream: TcpStream, peer: SocketAddr, service: &S) -> Self::Connection;
}

/// kit-http's protocol: HTTP/1.1, and HTTP/2 with prior knowledge unless
/// [`http1_only`](Serve::http1_only).
#[derive(Debug)]
pub struct Http {
    builder: auto::Builder<TokioExecutor>,
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
    type Connection =
        auto::Connection<'static, TokioIo<TcpStream>, TowerToHyperService<S>, TokioExecutor>;

    const NAME: &'static str = "http";

    fn connect(&self, stream: TcpStream, _peer: SocketAddr, service: &S) -> Self::Connection {
        self.builder
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(service.clone()),
            )
            .into_owned()
    }
}

/// A server being configured; await it to run. Made by [`serve`] (or, for another
/// [`Protocol`], [`Serve::with_protocol`]).
#[must_use = "a Serve does nothing until awaited"]
#[derive(Debug)]
pub struct Serve<S, F, P = Http> {
    listener: TcpListener,
    service: S,
    shutdown: F,
    grace: Duration,
    protocol: P,
}

impl<S, P> Serve<S, Pending<()>, P> {
    /// Serves `service` on `listener` with `protocol`; the building block of [`serve`] and
    /// of kit-grpc's `serve`.
    pub fn with_protocol(listener: TcpListener, service: S, protocol: P) -> Self {
        Serve {
            listener,
            service,
            shutdown: std::future::pending(),
            grace: DEFAULT_GRACE_PERIOD,
            protocol,
        }
    }
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
            grace: self.grace,
            protocol: self.protocol,
        }
    }

    /// How long in-flight requests may take to finish after shutdown starts (default
    /// [`DEFAULT_GRACE_PERIOD`]); connections still open after it are closed.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

impl<S, F> Serve<S, F, Http> {
    /// Speaks only HTTP/1.x, skipping the check for an HTTP/2 preface on new connections.
    pub fn http1_only(mut self) -> Self {
        self.protocol.builder = self.protocol.builder.http1_only();
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
            serve_connections(
                self.listener,
                self.shutdown,
                self.grace,
                P::NAME,
                move |stream, peer| protocol.connect(stream, peer, &service),
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
