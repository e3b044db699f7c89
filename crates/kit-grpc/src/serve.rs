//! Running gRPC services on a listener, with graceful shutdown.

use std::future::Pending;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use kit::BoxError;
use kit::context::Peer;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tonic::transport::server::TcpConnectInfo;
use tower_service::Service;

/// How long in-flight calls may take to finish after shutdown starts, by default: the same
/// as kit-http's servers.
pub use kit_http::DEFAULT_GRACE_PERIOD;

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
/// - **The same shape and limits as kit-http**:
///   `serve(listener, service).with_graceful_shutdown(signal)`, on a listener the caller
///   bound (so port `0` works and the address is known before serving), with `TCP_NODELAY`
///   on every connection, and kit-http's [server defaults](kit_http#server-defaults) (all
///   but the HTTP/1 ones): a header read timeout that also bounds the HTTP/2 preface, an
///   idle timeout that sends `GOAWAY`, the process's connection budget, TCP keepalive, and
///   a drain that a client which stopped reading cannot hold up. Each has its
///   [`Serve`] method (e.g. `http2_keep_alive_interval`, `http2_initial_stream_window_size`),
///   and hyper's HTTP/2 builder is reachable for the rest (`http2`).
///
/// It serves HTTP/2 only (gRPC's transport; h2c with prior knowledge, no TLS) and puts
/// tonic's `TcpConnectInfo` in each request's extensions, so `Request::remote_addr` works
/// in handlers as under tonic's server; [`kit_http::accept::current_peer`] works too.
///
/// ```no_run
/// # async fn run(
/// #     routes: tonic::service::Routes,
/// #     shutdown_signal: impl std::future::Future<Output = ()> + Send + 'static,
/// # ) -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8082").await?;
/// kit_grpc::serve(listener, routes)
///     // Clients behind a NAT that forgets idle flows after 30 s.
///     .http2_keep_alive_interval(Duration::from_secs(20))
///     .with_graceful_shutdown(shutdown_signal) // e.g. kit_http::shutdown_signal()
///     .await;
/// # Ok(()) }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    kit_http::Serve::with_protocol(listener, service, Grpc { _private: () }).http2_only()
}

/// A gRPC server being configured; await it to run. Made by [`serve`]: kit-http's
/// [`Serve`](kit_http::Serve) with the [`Grpc`] protocol, so it is configured the same way
/// (`with_graceful_shutdown`, `grace_period`, the limits and timeouts, the HTTP/2 settings
/// such as `http2_keep_alive_interval` and `http2_initial_stream_window_size`, and hyper's
/// own builder through `http2`). kit-http's [server defaults](kit_http#server-defaults)
/// apply; the HTTP/1 ones do not concern gRPC.
pub type Serve<S, F = Pending<()>> = kit_http::Serve<S, F, Grpc>;

/// kit-grpc's protocol for [`kit_http::Serve`]: each connection's service puts tonic's
/// `TcpConnectInfo` and the time the headers arrived in each request's extensions.
#[derive(Debug)]
pub struct Grpc {
    _private: (),
}

impl<S, B> kit_http::Protocol<S> for Grpc
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Service = WithConnectInfo<S>;
    type Body = B;

    const NAME: &'static str = "grpc";

    fn service(&self, service: &S, peer: &Arc<Peer>) -> WithConnectInfo<S> {
        WithConnectInfo {
            inner: service.clone(),
            info: TcpConnectInfo {
                local_addr: peer.local_addr,
                remote_addr: Some(peer.remote_addr),
            },
        }
    }
}

/// When a request's headers arrived, in its extensions: a [`Server`](crate::Server) counts
/// the request's `grpc-timeout` from then rather than from when the message had been read.
/// With it, the request's URI (a clone of the request's, sharing its bytes), whose path
/// (`/pkg.Service/Method`) becomes the `route` of the call's request scope.
#[derive(Clone, Debug)]
pub(crate) struct ReceivedAt(pub(crate) Instant, pub(crate) http::Uri);

/// Puts the connection's addresses in every request's extensions, where tonic's
/// `Request::remote_addr` and `local_addr` look for them, and the time the request arrived.
#[derive(Clone)]
pub struct WithConnectInfo<S> {
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
        let received = ReceivedAt(Instant::now(), request.uri().clone());
        let extensions = request.extensions_mut();
        extensions.insert(received);
        extensions.insert(self.info.clone());
        self.inner.call(request)
    }
}
