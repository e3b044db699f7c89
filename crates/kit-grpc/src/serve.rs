//! Running gRPC services on a listener, with graceful shutdown.

use std::future::{Future, IntoFuture, Pending};
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use kit::BoxError;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpConnectInfo;
use tower_service::Service;

/// How long in-flight calls may take to finish after shutdown starts, by default.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Serves `service` (usually a [`tonic::service::Routes`] holding the generated services,
/// health and reflection) on `listener`, over HTTP/2.
///
/// Await the returned [`Serve`] to run it: it returns once shut down and drained. Without
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) it runs until dropped. Failed
/// `accept`s are logged and retried, never fatal.
///
/// tonic's own `transport::Server` runs services too, and works with everything in this
/// crate; [`serve`] exists for three reasons:
///
/// - **Deadlines count from the headers and end with the right status.** tonic's server
///   enforces a call's `grpc-timeout` itself, in a layer wrapped around every service, with
///   a timer started when the request headers arrive, and answers `CANCELLED` "Timeout
///   expired" when it fires (the gRPC spec says `DEADLINE_EXCEEDED`). A kit
///   [`Server`](crate::Server) only gets the call once tonic has read the request message,
///   so under tonic's server its context's deadline starts later, and tonic's timer wins
///   whenever the message arrived in a later millisecond than the headers (a large message,
///   a slow or Nagle-delayed client): the endpoint is dropped mid-call and the caller reads
///   `CANCELLED`. [`serve`] records when the headers arrived, the context's deadline counts
///   from then, and the context alone enforces it: an expired call is answered
///   `DEADLINE_EXCEEDED`, as the endpoint's finalizers and middleware saw it. (This shows
///   when the server notices the deadline first, as with a client that sends
///   `grpc-timeout` without enforcing it. A kit [`Client`](crate::Client) reports
///   `DeadlineExceeded` under either server: it enforces the deadline locally, and its
///   context's error wins.)
/// - **A bounded drain.** tonic's graceful shutdown waits for every connection to finish,
///   however long that takes; [`Serve::grace_period`] bounds it, as kit-http's `serve` does.
/// - **The same shape as kit-http**: `serve(listener, service).with_graceful_shutdown(signal)`,
///   on a listener the caller bound (so port `0` works and the address is known before
///   serving), with `TCP_NODELAY` on every connection.
///
/// It serves HTTP/2 only (gRPC's transport; h2c with prior knowledge, no TLS) and puts
/// tonic's `TcpConnectInfo` in each request's extensions, so `Request::remote_addr` works
/// in handlers as under tonic's server.
///
/// ```no_run
/// # async fn run(
/// #     routes: tonic::service::Routes,
/// #     shutdown_signal: impl std::future::Future<Output = ()> + Send + 'static,
/// # ) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8082").await?;
/// kit_grpc::serve(listener, routes)
///     .with_graceful_shutdown(shutdown_signal) // e.g. kit_http::shutdown_signal()
///     .await;
/// # Ok(()) }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S, Pending<()>> {
    Serve {
        listener,
        service,
        shutdown: std::future::pending(),
        grace: DEFAULT_GRACE_PERIOD,
    }
}

/// A gRPC server being configured; await it to run. Made by [`serve`].
#[must_use = "a Serve does nothing until awaited"]
#[derive(Debug)]
pub struct Serve<S, F> {
    listener: TcpListener,
    service: S,
    shutdown: F,
    grace: Duration,
}

impl<S, F> Serve<S, F> {
    /// Stops accepting connections when `signal` completes, then asks every connection to
    /// finish its in-flight calls and close (an HTTP/2 `GOAWAY`: clients send new calls
    /// elsewhere), for up to the grace period.
    pub fn with_graceful_shutdown<G: Future<Output = ()> + Send>(self, signal: G) -> Serve<S, G> {
        Serve {
            listener: self.listener,
            service: self.service,
            shutdown: signal,
            grace: self.grace,
        }
    }

    /// How long in-flight calls may take to finish after shutdown starts (default
    /// [`DEFAULT_GRACE_PERIOD`]); connections still open after it are closed.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

impl<S, F, B> IntoFuture for Serve<S, F>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let mut builder = http2::Builder::new(TokioExecutor::new());
            builder.timer(TokioTimer::new());
            let local_addr = self.listener.local_addr().ok();
            let draining = CancellationToken::new();
            // Connection tasks, so that the ones still open after the grace period can be
            // closed rather than left running.
            let mut connections = JoinSet::new();
            let mut shutdown = pin!(self.shutdown);
            loop {
                let (stream, peer) = tokio::select! {
                    accepted = self.listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            accept_failed(err).await;
                            continue;
                        }
                    },
                    () = &mut shutdown => break,
                };
                // Small unary answers must not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(WithConnectInfo {
                    inner: self.service.clone(),
                    info: TcpConnectInfo {
                        local_addr,
                        remote_addr: Some(peer),
                    },
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let draining = draining.clone();
                connections.spawn(async move {
                    let mut connection = pin!(connection);
                    let result = tokio::select! {
                        result = connection.as_mut() => result,
                        () = draining.cancelled() => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(err) = result {
                        tracing::debug!(error = %err, %peer, "gRPC connection ended with an error");
                    }
                });
                while connections.try_join_next().is_some() {}
            }
            let addr = local_addr.map(|a| a.to_string()).unwrap_or_default();
            drop(self.listener);
            tracing::info!(%addr, grace = ?self.grace, "shutting down: draining in-flight gRPC calls");
            draining.cancel();
            let drained = async { while connections.join_next().await.is_some() {} };
            if tokio::time::timeout(self.grace, drained).await.is_err() {
                tracing::warn!(%addr, "grace period over: closing the remaining gRPC connections");
                connections.shutdown().await;
            }
        })
    }
}

/// Backs off after a failed `accept`: errors such as running out of file descriptors last a
/// while, and spinning on them would starve the calls being served.
async fn accept_failed(err: io::Error) {
    use io::ErrorKind as K;
    if matches!(
        err.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %err, "accepting a gRPC connection failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// When a request's headers arrived, in its extensions: a [`Server`](crate::Server) counts
/// the request's `grpc-timeout` from then rather than from when the message had been read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReceivedAt(pub(crate) Instant);

/// Puts the connection's addresses in every request's extensions, where tonic's
/// `Request::remote_addr` and `local_addr` look for them, and the time the request arrived.
#[derive(Clone)]
struct WithConnectInfo<S> {
    inner: S,
    info: TcpConnectInfo,
}

impl<S, B> Service<Request<B>> for WithConnectInfo<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let extensions = request.extensions_mut();
        extensions.insert(ReceivedAt(Instant::now()));
        extensions.insert(self.info.clone());
        self.inner.call(request)
    }
}
