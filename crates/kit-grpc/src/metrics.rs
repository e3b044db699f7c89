//! Request metrics recorded by the gRPC transport, for every call, including those that
//! never reach a method: unknown services and methods (`UNIMPLEMENTED`), requests the
//! [checks](crate::checks) refuse, calls whose message does not decode (feature
//! `metrics`).
//!
//! [`MetricsLayer`] wraps the HTTP service that serves gRPC (the routes, outside the
//! request checks) and records each call in kit-http's transport metrics
//! ([`kit_http::metrics`]), as transport `grpc`:
//!
//! | metric (prefix `kit` by default) | kind | labels |
//! |---|---|---|
//! | `kit_server_request_duration_seconds` | histogram (seconds; its `_count` is the call count) | `transport="grpc"`, `route`, `code` |
//! | `kit_server_requests_in_flight` | gauge | `transport="grpc"` |
//!
//! - `route`: the method's path, `/pkg.Service/Method`, for the methods the layer knows
//!   (from the services' descriptor sets, or named one by one); any other path a client
//!   sends is [`OTHER`](kit_http::metrics::OTHER), so a client that tries a thousand
//!   method names adds no series.
//! - `code`: the call's gRPC status by name (`OK`, `INVALID_ARGUMENT`, `UNIMPLEMENTED`,
//!   ...; kit's code names are gRPC's), read from the answer's `grpc-status`: in its
//!   headers for a trailers-only answer (every error kit and tonic answer), else in its
//!   trailers. A call whose answer ends without a status is `UNKNOWN`; one dropped before
//!   its status was sent (the client reset the stream or went away) is `CANCELLED`.
//! - A call's duration runs from its request headers to its status, so a streaming call's
//!   is the stream's.
//!
//! **Cost.** The series of every known method are made when the layer is (the `OK`
//! histogram and the gauge; the other codes' the first time each happens, with the
//! recorder installed globally then). A call costs one hash lookup of its path, two clock
//! reads, the gauge's increment and decrement, a histogram record and the parse of its
//! `grpc-status`; the layer boxes nothing: its future and body wrap the inner ones.
//!
//! ```
//! use tower_layer::Layer;
//! use kit_grpc::metrics::MetricsLayer;
//! use kit_http::metrics::ServerMetrics;
//!
//! # fn run(routes: tonic::service::Routes) -> Result<(), prost::DecodeError> {
//! let names = ServerMetrics::new("example");
//! let metered = MetricsLayer::new(&names)
//!     .descriptor_sets(&[tonic_health::pb::FILE_DESCRIPTOR_SET])?
//!     .layer(routes);
//! # let _ = metered; Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use kit::Code;
use kit_http::metrics::{Call, RouteMetrics, ServerMetrics};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// The transport label of gRPC.
const TRANSPORT: &str = "grpc";

/// Records every call in the transport metrics; see the [module docs](self).
#[derive(Clone)]
pub struct MetricsLayer {
    names: ServerMetrics,
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    known: HashMap<Box<str>, RouteMetrics>,
    other: RouteMetrics,
}

impl MetricsLayer {
    /// Records calls under the metrics `names`, knowing no method yet: every call is
    /// `route="other"` until methods are added.
    pub fn new(names: &ServerMetrics) -> MetricsLayer {
        MetricsLayer {
            names: names.clone(),
            config: Arc::new(Config {
                known: HashMap::new(),
                other: names.other(TRANSPORT),
            }),
        }
    }

    /// Knows every method of the services in `descriptor_sets` (encoded
    /// `FileDescriptorSet`s, as the [reflection](crate::reflection) service takes them).
    ///
    /// # Errors
    /// If a descriptor set does not decode.
    pub fn descriptor_sets(
        mut self,
        descriptor_sets: &[&[u8]],
    ) -> Result<MetricsLayer, prost::DecodeError> {
        for (path, _) in crate::descriptor::method_paths(descriptor_sets)? {
            self = self.method(&path);
        }
        Ok(self)
    }

    /// Knows the method at `path` (`/package.Service/Method`), whose calls are recorded
    /// under it: for services without descriptors.
    pub fn method(mut self, path: &str) -> MetricsLayer {
        let route = self.names.route(TRANSPORT, path.to_owned());
        Arc::make_mut(&mut self.config)
            .known
            .insert(path.into(), route);
        self
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            config: self.config.clone(),
        }
    }
}

impl fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut known: Vec<&str> = self.config.known.keys().map(|k| &**k).collect();
        known.sort_unstable();
        f.debug_struct("MetricsLayer")
            .field("names", &self.names)
            .field("known", &known)
            .finish()
    }
}

/// A gRPC service whose calls are recorded in the transport metrics; made by
/// [`MetricsLayer`].
#[derive(Clone)]
pub struct Metered<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for Metered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metered")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Service<Request<B>> for Metered<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<MeteredBody<R>>;
    type Error = S::Error;
    type Future = MeteredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = self
            .config
            .known
            .get(request.uri().path())
            .unwrap_or(&self.config.other);
        let call = route.begin();
        MeteredFuture {
            inner: self.inner.call(request),
            call: Some(call),
        }
    }
}

pin_project! {
    /// The answer of a [`Metered`] service: the inner one's, its body watched for the
    /// call's status.
    pub struct MeteredFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, R, E> Future for MeteredFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<MeteredBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let mut call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A trailers-only answer has its status in its headers: the call is over.
                if let Some(code) = status_in(response.headers()) {
                    if let Some(call) = call.take() {
                        call.finish(code);
                    }
                } else if response.status() != StatusCode::OK
                    && let Some(call) = call.take()
                {
                    call.finish(Some(kit_http::code_for(response.status())));
                }
                Ok(response.map(|inner| MeteredBody { inner, call }))
            }
            Err(err) => {
                if let Some(call) = call {
                    call.finish(Some(Code::Unknown));
                }
                Err(err)
            }
        })
    }
}

impl<F> fmt::Debug for MeteredFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredFuture").finish_non_exhaustive()
    }
}

pin_project! {
    /// The body of a [`Metered`] service's answer: the inner one, the call recorded when
    /// its trailers pass (or as `CANCELLED` if it is dropped before).
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B: HttpBody> HttpBody for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(call) = this.call.take() {
            match &frame {
                Some(Ok(frame)) => match frame.trailers_ref() {
                    Some(trailers) => {
                        call.finish(status_in(trailers).unwrap_or(Some(Code::Unknown)))
                    }
                    None => *this.call = Some(call),
                },
                Some(Err(_)) | None => call.finish(Some(Code::Unknown)),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> fmt::Debug for MeteredBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredBody").finish_non_exhaustive()
    }
}

/// The call's outcome from the `grpc-status` in `headers`: `Some(None)` for `OK`,
/// `Some(Some(code))` for an error (`UNKNOWN` for a status that is not one), `None` when
/// there is none.
fn status_in(headers: &HeaderMap) -> Option<Option<Code>> {
    let value = headers.get("grpc-status")?;
    let number = value.to_str().ok().and_then(|v| v.parse::<i32>().ok());
    Some(match number {
        Some(0) => None,
        Some(n) => Some(Code::from_number(n).unwrap_or(Code::Unknown)),
        None => Some(Code::Unknown),
    })
}
