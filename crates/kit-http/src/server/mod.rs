//! Serving an endpoint over HTTP.
//!
//! A [`Server`] binds one [`Endpoint`] to HTTP with a request decoder and a response
//! encoder, the way Go kit's `httptransport.NewServer` does, plus Go kit's hooks:
//!
//! - [`before`](Server::before) functions derive the request's [`Context`] from the request
//!   head (headers, path, extensions), in order; the context already has the deadline and
//!   the connection's [peer](kit::Context::peer);
//! - [`after`](Server::after) functions adjust the response head (headers, status) once
//!   the answer is known, for successes and errors alike;
//! - an [error encoder](Server::error_encoder) writes errors (default: [`encode_error`],
//!   `{"error": message, "code": CODE}` with the status of the error's code);
//! - [finalizers](Server::finalizer) see the outcome of every request: status, size,
//!   error; a request dropped before its answer was ready (the client went away, or the
//!   shutdown grace period ended) is reported as status `499` with a `Cancelled` error.
//!
//! The [decoder](Decoder) gets the request body as a [`RequestBody`] under
//! [a size limit](Server::body_limit) (1 MiB by default; more is `413`) and a
//! [time limit](Server::body_timeout); the common decoder, a function of the head and the
//! whole body, reads it all first. A `kit-timeout` header (see [`TIMEOUT_HEADER`]) becomes
//! the context's deadline, and the endpoint runs under that deadline. Response metadata the
//! endpoint sets through the context is applied to the answer (see the
//! [crate docs](crate#the-request-context)).
//!
//! What happens between the body and the response is the server's [`Handler`]: for
//! [`Server::new`], an [`EndpointHandler`] (decode, call the endpoint under the request's
//! context, encode); for [`Server::jsonrpc`], a [`jsonrpc::Methods`](crate::jsonrpc::Methods)
//! table. Everything around it, listed above, is the same for both, so a JSON-RPC server
//! takes the same hooks and limits as any other.
//!
//! A `Server` is a `tower::Service<http::Request<B>>` for any body type, so it can be
//! mounted in a kit [`Router`](crate::Router), served alone with [`serve`](crate::serve),
//! or mounted in an axum `Router` with `route_service`.
//!
//! ```
//! use kit::{endpoint_fn, Context, Error};
//! use kit_http::{json, Server};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct SumRequest { a: i64, b: i64 }
//! #[derive(Serialize)]
//! struct SumReply { v: i64 }
//!
//! let sum = endpoint_fn(|_ctx: Context, r: SumRequest| async move {
//!     Ok::<_, Error>(SumReply { v: r.a + r.b })
//! });
//! let server = Server::new(sum, json::decode_request, json::encode_response)
//!     .before(|ctx: Context, parts: &http::request::Parts| match parts.headers.get("x-request-id") {
//!         Some(id) => ctx.with_propagated("x-request-id", id.to_str().unwrap_or("").to_owned()),
//!         None => ctx,
//!     });
//! let router = kit_http::Router::new().route(http::Method::POST, "/sum", server);
//! # let _ = router;
//! ```

mod config;
mod decode;
mod error;
mod handler;
mod propagate;

pub use config::{DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, Summary};
pub use decode::Decoder;
pub use error::encode_error;
pub use handler::{EndpointHandler, Handler};
pub use propagate::propagate_headers;

pub(crate) use config::{AbandonGuard, Config};
pub(crate) use handler::sealed;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode, request, response};
use http_body::Body as HttpBody;
use kit::context::Peer;
use kit::request_scope::RequestScope;
use kit::trace::{Incoming, Propagation, TraceContext};
use kit::{BoxError, Context, Endpoint, Error, request_id};
use tower_service::Service;

use crate::status::{HttpStatus, method_not_allowed};
use crate::{Body, RequestBody};

/// The header that carries a request's remaining time, in `grpc-timeout` syntax (see
/// [`kit::wire`]): clients set it from their context's deadline, servers install it as the
/// request context's deadline.
pub const TIMEOUT_HEADER: HeaderName = HeaderName::from_static("kit-timeout");

/// The header of a request's id ([`kit::request_id::KEY`]), read from requests and echoed on
/// every response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static(request_id::KEY);

/// The future of every kit service (servers and routers): boxed once, so that a
/// [`Router`](crate::Router) can hold services of different types without boxing again.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A [`Handler`] served over HTTP with hooks and limits; see the [module docs](self).
///
/// `Server<EndpointHandler<..>>` serves one endpoint ([`Server::new`]);
/// `Server<jsonrpc::Methods>` serves JSON-RPC ([`Server::jsonrpc`]).
pub struct Server<H> {
    handler: Arc<H>,
    config: Arc<Config>,
}

impl<E, D, C, Req> Server<EndpointHandler<E, D, C, Req>> {
    /// Serves `endpoint`, decoding requests with `decode` and encoding its responses with
    /// `encode`.
    ///
    /// `decode` is a [`Decoder`]: usually a function of the request head and the whole body;
    /// `encode` turns the endpoint's response into an HTTP response, seeing the request's
    /// context. [`json::decode_request`](crate::json::decode_request) and
    /// [`json::encode_response`](crate::json::encode_response) do both for JSON.
    pub fn new(endpoint: E, decode: D, encode: C) -> Self
    where
        E: Endpoint<Req>,
        D: Decoder<Req>,
        C: Fn(&Context, E::Response) -> Result<Response<Body>, Error> + Send + Sync + 'static,
    {
        Server::with_handler(EndpointHandler::new(endpoint, decode, encode))
    }
}

impl<H> Server<H> {
    /// Serves `handler` with no hooks and the default limits.
    pub(crate) fn with_handler(handler: H) -> Self {
        Server {
            handler: Arc::new(handler),
            config: Arc::new(Config::default()),
        }
    }

    /// The handler, to configure it.
    ///
    /// # Panics
    /// If the server has been cloned already.
    #[cfg(feature = "metrics")]
    pub(crate) fn handler_mut(&mut self) -> &mut H {
        Arc::get_mut(&mut self.handler).expect("configure a Server before cloning it")
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Adds a function that derives the request context from the request head; they run in
    /// the order added, before the body is read, with the deadline and the peer already in
    /// the context.
    pub fn before(
        mut self,
        f: impl Fn(Context, &request::Parts) -> Context + Send + Sync + 'static,
    ) -> Self {
        self.config_mut().before.push(Arc::new(f));
        self
    }

    /// Adds a function that may change the response head (add headers, change the status)
    /// before it is sent; they run in the order added, for successes and errors alike,
    /// after the response metadata set through the context has been applied.
    pub fn after(
        mut self,
        f: impl Fn(&Context, &mut response::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.config_mut().after.push(Arc::new(f));
        self
    }

    /// Replaces the error encoder (default: [`encode_error`]).
    pub fn error_encoder(
        mut self,
        f: impl Fn(&Context, &Error) -> Response<Body> + Send + Sync + 'static,
    ) -> Self {
        self.config_mut().error_encoder = Arc::new(f);
        self
    }

    /// Adds a function that sees the outcome of every request once its response is ready.
    pub fn finalizer(mut self, f: impl Fn(&Context, &Summary<'_>) + Send + Sync + 'static) -> Self {
        self.config_mut().finalizer.push(Arc::new(f));
        self
    }

    /// The largest request body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`]); a
    /// larger one is answered `413` without being read whole.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.config_mut().body_limit = limit;
        self
    }

    /// How long a client may take to send a request body, counted from when the server
    /// starts reading it (default [`DEFAULT_BODY_TIMEOUT`]; `None` for no limit but the
    /// request's deadline). A body not received in time is answered `408`; one still
    /// arriving at the request's deadline is answered `504`.
    pub fn body_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config_mut().body_timeout = timeout;
        self
    }

    /// Whether the messages of `Internal`, `Unknown` and `DataLoss` errors are hidden from
    /// callers (default `true`): they are answered with the code's description (`internal
    /// error`), so that OS or database error text does not leak; logs and finalizers still
    /// see the original. Every other error keeps its text.
    pub fn redact_private_errors(mut self, redact: bool) -> Self {
        self.config_mut().redact = redact;
        self
    }

    /// The trace header formats read from requests (default
    /// [`Propagation::DEFAULT_EXTRACT`]: W3C `traceparent`/`tracestate`, `b3` and `X-B3-*`,
    /// in that precedence; [`Propagation::NONE`] reads none). A request's trace goes in its
    /// context ([`Context::trace`]); see [`kit::trace`].
    pub fn trace_extraction(mut self, formats: Propagation) -> Self {
        self.config_mut().trace_formats = formats;
        self
    }
}

/// The context a request starts with: one served call (cancelled when it ends), its peer,
/// its `kit-timeout` header as the deadline, its request id, and its trace.
fn request_context(
    parts: &request::Parts,
    peer: Option<Arc<Peer>>,
    request_id: String,
    trace: Option<TraceContext>,
) -> (Context, kit::context::CallHandle, Option<Error>) {
    let (deadline, refused) = match timeout_header(&parts.headers) {
        None => (None, None),
        Some(value) => match value.to_str().ok().and_then(kit::wire::parse_timeout) {
            // A timeout too long to represent is no deadline at all.
            Some(timeout) => (tokio::time::Instant::now().checked_add(timeout), None),
            None => {
                let why = format!("malformed {TIMEOUT_HEADER} header: {value:?}");
                (None, Some(Error::invalid_argument(why)))
            }
        },
    };
    let (ctx, call) = Context::served(peer, deadline);
    let ctx = ctx.with_propagated(request_id::KEY, request_id);
    let ctx = match trace {
        Some(trace) => ctx.with_trace(trace),
        None => ctx,
    };
    (ctx, call, refused)
}

/// The trace the request's headers carry in `formats` (see [`kit::trace`]): one pass over
/// the headers, allocating nothing when none is a trace header.
pub(crate) fn request_trace(
    headers: &http::HeaderMap,
    formats: Propagation,
) -> Option<TraceContext> {
    if formats.is_empty() {
        return None;
    }
    let mut incoming = Incoming::default();
    for (name, value) in headers {
        incoming.offer(name.as_str(), value.as_bytes());
    }
    incoming.extract(formats)
}

/// The request's id (see [`kit::request_id`]): its `X-Request-Id` header when that is
/// acceptable, else a new one; and the header value that echoes it on the response.
fn request_id(headers: &http::HeaderMap) -> (String, HeaderValue) {
    let given = headers.get(REQUEST_ID_HEADER);
    if let Some(value) = given
        && let Ok(id) = value.to_str()
        && request_id::is_acceptable(id)
    {
        return (id.to_owned(), value.clone());
    }
    let id = request_id::generate();
    let echo = HeaderValue::from_str(&id).expect("a generated request id is a header value");
    (id, echo)
}

/// The scope a request is served in: every line logged while it is served carries these
/// fields (see [the crate docs](crate#the-request-context)).
fn request_scope(
    transport: &'static str,
    parts: &request::Parts,
    peer: Option<&Peer>,
    request_id: &str,
) -> RequestScope {
    let (method, path) = (parts.method.as_str(), parts.uri.path());
    let mut route = String::with_capacity(method.len() + 1 + path.len());
    route.push_str(method);
    route.push(' ');
    route.push_str(path);
    RequestScope::new(
        request_id.to_owned(),
        transport,
        route,
        peer.map(|p| p.remote_addr),
    )
}

/// The request's `kit-timeout` header. An RPC request has a handful of headers, and comparing
/// their names costs less than hashing this one to look it up (about a hundred instructions
/// per request on addsvc's `/sum`); a request with many headers is looked up as usual.
fn timeout_header(headers: &http::HeaderMap) -> Option<&HeaderValue> {
    if headers.len() <= 8 {
        headers
            .iter()
            .find_map(|(name, value)| (*name == TIMEOUT_HEADER).then_some(value))
    } else {
        headers.get(&TIMEOUT_HEADER)
    }
}

/// The connection the request came in on: as kit's [`serve`](crate::serve) recorded it (no
/// allocation per request), else an [`Arc<Peer>`] that another server put in the request's
/// extensions.
pub(crate) fn connection_peer(parts: &request::Parts) -> Option<Arc<Peer>> {
    crate::accept::current_peer().or_else(|| parts.extensions.get::<Arc<Peer>>().cloned())
}

/// The refusal of a request body in a transfer coding other than `chunked` (RFC 9112: `501`
/// for a coding the server does not understand), which hyper would otherwise hand over
/// still encoded. A body of known length has no transfer coding, so only bodies without one
/// are looked at.
fn unsupported_coding(parts: &request::Parts, body: &impl HttpBody) -> Option<Error> {
    if body.size_hint().exact().is_some() {
        return None;
    }
    let value = parts.headers.get(TRANSFER_ENCODING)?;
    let codings = value.to_str().unwrap_or("?");
    let unknown = codings
        .split(',')
        .map(str::trim)
        .find(|coding| !coding.eq_ignore_ascii_case("chunked"))?;
    Some(
        Error::unimplemented(format!("transfer coding {unknown:?} is not supported"))
            .with_hint(HttpStatus(StatusCode::NOT_IMPLEMENTED)),
    )
}

impl<H, B> Service<Request<B>> for Server<H>
where
    H: Handler,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Response<Body>, std::convert::Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let handler = self.handler.clone();
        let config = self.config.clone();
        // Split before the future is made, so that it does not hold the request besides its
        // parts.
        let (mut parts, body) = request.into_parts();
        let peer = connection_peer(&parts);
        let (id, echo) = request_id(&parts.headers);
        let incoming = request_trace(&parts.headers, config.trace_formats);
        // The request's span, only with a span bridge (see `crate::span`), and only when
        // the request may be sampled: else it is an unsampled call, without a span.
        let (span, unsampled) = match kit::trace::span::bridge() {
            Some(_) if !H::OPENS_SPANS => {
                match kit::trace::span::unsampled_server(incoming.as_ref()) {
                    Some(unsampled) => (None, Some(unsampled)),
                    None => (
                        Some(crate::span::http_server(
                            &parts,
                            config.http_route.as_deref(),
                            peer.as_deref(),
                        )),
                        None,
                    ),
                }
            }
            _ => (None, None),
        };
        let trace = match (&span, &unsampled) {
            (Some(span), _) => kit::trace::span::start_server(span, incoming),
            (None, Some(unsampled)) => Some(unsampled.trace().clone()),
            (None, None) => incoming,
        };
        let scope = request_scope(H::TRANSPORT, &parts, peer.as_deref(), &id)
            .with_trace_id(trace.as_ref().map(TraceContext::trace_id));
        let answered = span.clone();
        let answer = async move {
            // Dropped unfinished (the request abandoned), it records the request cancelled.
            let meter = config.route.begin();
            // The call handle lives as long as this future: dropping it (answered, client
            // gone, grace period over) cancels the request's context.
            let (ctx, call, refused) = request_context(&parts, peer, id, trace);
            let ctx = config.before(ctx, &parts);
            // A handler that serves one method refuses the others before reading the body.
            let allow = H::METHOD.filter(|method| *method != parts.method);
            let result = if let Some(err) = refused {
                Err(err)
            } else if allow.is_some() {
                Err(method_not_allowed(&parts.method, parts.uri.path()))
            } else if let Some(err) = unsupported_coding(&parts, &body) {
                Err(err)
            } else {
                let body =
                    RequestBody::new(body, config.body_limit, ctx.deadline(), config.body_timeout);
                let guard = AbandonGuard::new(&config, &ctx, &mut parts);
                let result = handler.handle(&ctx, guard.parts, body).await;
                guard.disarm();
                result
            };
            if let Some(meter) = meter {
                if H::RECORDS_CALLS && result.is_ok() {
                    meter.end_unrecorded();
                } else {
                    meter.finish(crate::meter::outcome(&result));
                }
            }
            let metadata = call.take_response();
            // What the span says of a failure: the error's own message (before redaction).
            let failure = match (&answered, &result) {
                (Some(_), Err(err)) => Some(err.message().to_owned()),
                _ => None,
            };
            let mut response = match result {
                // The common case, answered as it is, without moving it through `finish`.
                Ok(response) if metadata.is_none() && config.answers_as_is() => response,
                result => {
                    let allow = allow.map(|m| {
                        HeaderValue::from_str(m.as_str()).expect("a method is a valid header value")
                    });
                    config.finish(&ctx, metadata, &parts, result, allow)
                }
            };
            response.headers_mut().insert(REQUEST_ID_HEADER, echo);
            if let Some(span) = &answered {
                crate::span::http_server_answered(span, response.status(), failure.as_deref());
            }
            // The context first: a call no context refers to any more ends without a
            // cancellation to signal.
            drop(ctx);
            drop(call);
            crate::spare::keep(parts.headers);
            Ok(response)
        };
        match (span, unsampled) {
            (Some(span), _) => Box::pin(scope.scope(tracing::Instrument::instrument(answer, span))),
            (None, Some(unsampled)) => Box::pin(scope.scope(unsampled.instrument(answer))),
            (None, None) => Box::pin(scope.scope(answer)),
        }
    }
}

impl<H> sealed::Sealed for Server<H> {
    fn attach_metrics(&mut self, slot: crate::meter::Slot) {
        self.config_mut().route = slot;
    }

    fn attach_route(&mut self, pattern: &str) {
        self.config_mut().http_route = Some(pattern.into());
    }
}

impl<H> Clone for Server<H> {
    fn clone(&self) -> Self {
        Server {
            handler: self.handler.clone(),
            config: self.config.clone(),
        }
    }
}

impl<H: fmt::Debug> fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("handler", &self.handler)
            .field("body_limit", &self.config.body_limit)
            .field("body_timeout", &self.config.body_timeout)
            .field("redact_private_errors", &self.config.redact)
            .finish_non_exhaustive()
    }
}
