//! Serving an endpoint as one method of a tonic service.
//!
//! tonic generates a trait per gRPC service with one `async fn` per method; a [`Server`]
//! is what such a method delegates to, the counterpart of Go kit's
//! `grpctransport.NewServer`. It binds one [`Endpoint`] to one method with a decoder (the
//! protobuf request to the endpoint's request) and an encoder (the endpoint's response to
//! the protobuf reply), plus Go kit's hooks:
//!
//! - [`before`](Server::before) functions derive the request's [`Context`] from the request
//!   metadata, in order (for instance to carry a request id on);
//! - [`after`](Server::after) functions add response metadata once the answer is known, for
//!   successes and errors alike (on an error they write into the status's metadata);
//! - [finalizers](Server::finalizer) see the outcome of every request; a request dropped
//!   before its answer was ready (the client reset the stream or went away) is reported with
//!   a `Cancelled` error.
//!
//! [`Server::serve`] handles one call: the request's `grpc-timeout` becomes the context's
//! deadline (counted from when the request headers arrived under [`serve`](crate::serve()),
//! from when the message had been read under other servers), the endpoint runs under that
//! context (so work stops with `DEADLINE_EXCEEDED` once the caller has given up), and an
//! error becomes the status of its code (see [`status_of`](crate::status_of)).
//!
//! ## The call's context
//!
//! Each call gets its own context ([`Context::with_call`]), which the endpoint, its
//! middleware and the hooks share:
//!
//! - **The peer**: the connection's addresses ([`Context::peer`]), there before the `before`
//!   functions run. Under [`serve`](crate::serve()) it is the connection's
//!   ([`kit_http::accept::current_peer`], shared by its calls); under another server, a
//!   [`kit::context::Peer`] the server put in the request's extensions, else one made from
//!   tonic's `TcpConnectInfo` (which tonic's own server puts there).
//! - **Cancellation**: the context is cancelled when [`Server::serve`]'s future completes or
//!   is dropped, which hyper does when the client resets the stream or goes away and when a
//!   shutdown's grace period ends; work spawned under the context ([`Context::run`],
//!   [`Context::done`]) stops then, as under Go's request contexts.
//! - **Errors**: an error is answered with [`status_of`](crate::status_of): its code, its
//!   message and its details. Messages of `Internal`, `Unknown` and `DataLoss` errors are
//!   replaced by their code's description by default
//!   ([`redact_private_errors`](Server::redact_private_errors)).
//!
//! - **The request id** ([`kit::request_id`]): the call's `x-request-id` metadata when it
//!   is at most 128 bytes of visible ASCII, else a new one; it is in the context as
//!   propagated metadata (kit clients called with the context send it on) and echoed in the
//!   answer's metadata (headers on success, trailers-only metadata on error).
//! - **The request scope** ([`kit::request_scope`]): the call is served in a scope with
//!   its `request_id`, `transport` (`grpc`), `route` (`/pkg.Service/Method`, under
//!   [`serve`](crate::serve())) and `peer`, which kit-tracing adds to every line logged
//!   while it is served.
//!
//! - **The span** (only while a span bridge is installed, see [`kit::trace::span`]): the
//!   call runs inside a server span (target `kit::server`, named after the method, with
//!   OpenTelemetry's gRPC attributes; see [its fields](crate#spans)), child of the trace the
//!   call came with; the context's trace is the span's own position, so calls made with the
//!   context, and spans the endpoint opens, are its children. Without a bridge no span is
//!   opened (one atomic load per call) and the context's trace is the one the call came with.
//!   Either way, the request scope's `trace_id` is the call's trace, so lines logged while it
//!   is served carry it.
//!
//! ## Response metadata
//!
//! What an endpoint or middleware sets with [`Context::set_response_metadata`] (or
//! `append_response_metadata`) is sent with the answer, before the `after` functions run
//! (so they see it and may override it):
//!
//! | outcome | where it goes | what gRPC clients call it |
//! |---|---|---|
//! | success | the response's HTTP/2 headers | *initial* (header) metadata: grpc-go's `grpc.Header()`, tonic's `Response::metadata` |
//! | error | the headers of the trailers-only answer, beside `grpc-status` | *trailing* metadata: grpc-go's `grpc.Trailer()`, tonic's `Status::metadata` |
//!
//! tonic sends a unary success's trailers itself (`grpc-status: 0` only) and gives a service
//! no way to add to them, so on a success the metadata cannot be trailing metadata; clients
//! that read only trailers see it on errors only. Keys ending in `-bin` are sent as binary
//! metadata (the value's bytes); `grpc-` keys, which are gRPC's own, and entries that are not
//! valid metadata are skipped. Hints ([`Context::set_response_hint`]) are for other
//! transports and are ignored here.
//!
//! To answer some errors with an OK reply instead (as Go kit's addsvc puts business errors
//! in its replies' `err` field), wrap the endpoint so that its response carries them, and
//! let the encoder write them into the reply.
//!
//! ```
//! use kit::{endpoint_fn, Context, Error};
//!
//! // Stand-ins for the messages tonic-prost-build generates.
//! struct SumRequest { a: i64, b: i64 }
//! #[derive(Debug)]
//! struct SumReply { v: i64 }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let sum = kit_grpc::Server::new(
//!     endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move {
//!         a.checked_add(b).ok_or_else(|| Error::invalid_argument("integer overflow"))
//!     }),
//!     |r: SumRequest| Ok((r.a, r.b)),
//!     |v: i64| Ok(SumReply { v }),
//! );
//! let reply = sum.serve(tonic::Request::new(SumRequest { a: 1, b: 2 })).await.unwrap();
//! assert_eq!(reply.get_ref().v, 3);
//!
//! let status = sum.serve(tonic::Request::new(SumRequest { a: i64::MAX, b: 1 })).await.unwrap_err();
//! assert_eq!(status.code(), tonic::Code::InvalidArgument);
//! assert_eq!(status.message(), "integer overflow");
//! # }
//! ```

mod boxed;
mod hooks;
mod propagate;

pub use boxed::BoxServer;
pub(crate) use boxed::ServeFuture;
pub use propagate::propagate_metadata;

use std::sync::Arc;

use kit::context::{CallHandle, Peer};
use kit::request_scope::RequestScope;
use kit::trace::{Incoming, Propagation, TraceContext};
use kit::{Code, Context, Endpoint, Error, request_id};
use tokio::time::Instant;
use tonic::metadata::{Ascii, KeyAndValueRef, MetadataMap, MetadataValue};
use tonic::transport::server::TcpConnectInfo;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::serve::ReceivedAt;
use hooks::Hooks;

/// The metadata key of a call's deadline, as a timeout in the syntax of [`kit::wire`].
pub const TIMEOUT_METADATA: &str = "grpc-timeout";

/// An endpoint served as one gRPC method; see the [module docs](self).
pub struct Server<E, D, C> {
    core: Arc<Core<E, D, C>>,
    hooks: Arc<Hooks>,
    redact: bool,
    trace_formats: Propagation,
}

struct Core<E, D, C> {
    endpoint: E,
    decode: D,
    encode: C,
}

impl<E, D, C> Server<E, D, C> {
    /// Serves `endpoint`, decoding the method's request message with `decode` and encoding
    /// the endpoint's response into the reply message with `encode`.
    ///
    /// A decoder error is answered with its code (usually `INVALID_ARGUMENT`) without
    /// calling the endpoint.
    pub fn new<Req, P, Q>(endpoint: E, decode: D, encode: C) -> Self
    where
        E: Endpoint<Req>,
        D: Fn(P) -> Result<Req, Error> + Send + Sync + 'static,
        C: Fn(E::Response) -> Result<Q, Error> + Send + Sync + 'static,
    {
        Server {
            core: Arc::new(Core {
                endpoint,
                decode,
                encode,
            }),
            hooks: Arc::new(Hooks::default()),
            redact: true,
            trace_formats: Propagation::DEFAULT_EXTRACT,
        }
    }

    /// Adds a function that derives the request context from the request metadata; they
    /// run in the order added, after the deadline has been installed.
    pub fn before(
        mut self,
        f: impl Fn(Context, &MetadataMap) -> Context + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.hooks).before.push(Arc::new(f));
        self
    }

    /// Adds a function that may add response metadata (sent as response headers, or with
    /// the status of a failed call); they run in the order added, for successes and errors
    /// alike.
    pub fn after(mut self, f: impl Fn(&Context, &mut MetadataMap) + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.hooks).after.push(Arc::new(f));
        self
    }

    /// Adds a function that sees the outcome of every request once its answer is ready:
    /// `None` for a success, the error otherwise (`Cancelled` for a request dropped before
    /// it was answered).
    pub fn finalizer(
        mut self,
        f: impl Fn(&Context, Option<&Error>) + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.hooks).finalizer.push(Arc::new(f));
        self
    }

    /// Whether errors of the private codes (`Internal`, `Unknown`, `DataLoss`) are answered
    /// with their code's description (`internal error`) instead of their message, so that
    /// OS, database or library error text does not reach callers (see
    /// [`Error::redact_private`]). On by default. Finalizers still see the original message.
    pub fn redact_private_errors(mut self, redact: bool) -> Self {
        self.redact = redact;
        self
    }

    /// The trace metadata formats read from calls (default
    /// [`Propagation::DEFAULT_EXTRACT`]: W3C `traceparent`/`tracestate`, `b3` and `x-b3-*`,
    /// in that precedence; [`Propagation::NONE`] reads none). A call's trace goes in its
    /// context ([`Context::trace`]); see [`kit::trace`].
    pub fn trace_extraction(mut self, formats: Propagation) -> Self {
        self.trace_formats = formats;
        self
    }

    /// Handles one call of the method: what a tonic service's method delegates to, in one
    /// line (`self.sum.serve(request).await`; see the [crate docs](crate) for a whole
    /// service).
    ///
    /// The call's context is made with [`Context::with_call`]: it holds the peer (from the
    /// request's extensions) before the `before` functions run, it is cancelled when this
    /// future completes or is dropped (the client reset the stream or went away, or the
    /// shutdown's grace period ended), and the response metadata set through it is sent
    /// with the answer (see [where it goes](self#response-metadata)).
    pub async fn serve<Req, P, Q>(&self, request: Request<P>) -> Result<Response<Q>, Status>
    where
        E: Endpoint<Req>,
        D: Fn(P) -> Result<Req, Error>,
        C: Fn(E::Response) -> Result<Q, Error>,
    {
        let (metadata, extensions, message) = request.into_parts();
        let received = extensions.get::<ReceivedAt>();
        let peer = peer_of(&extensions);
        let (id, echo) = request_id(&metadata);
        let path = received.map(|r| r.1.path());
        let incoming = call_trace(&metadata, self.trace_formats);
        // The call's span, only with a bridge: without one, the call's trace is the one it
        // came with.
        // An unsampled call has no span: its own unsampled position in the trace.
        let unsampled = kit::trace::span::unsampled_server(incoming.as_ref());
        let span = kit::trace::span::bridge()
            .filter(|_| unsampled.is_none())
            .map(|_| {
                crate::span::server(
                    path,
                    peer.as_ref().and_then(|p| p.local_addr),
                    peer.as_ref().map(|p| p.remote_addr),
                )
            });
        let trace = match (&span, &unsampled) {
            (Some(span), _) => kit::trace::span::start_server(span, incoming),
            (None, Some(unsampled)) => Some(unsampled.trace().clone()),
            (None, None) => incoming,
        };
        let scope = RequestScope::new(
            id.clone(),
            "grpc",
            path.map_or_else(String::new, str::to_owned),
            peer.as_ref().map(|p| p.remote_addr),
        )
        .with_trace_id(trace.as_ref().map(TraceContext::trace_id));
        let received = received.map(|r| r.0);
        let answer = async move {
            let (deadline, refused) = match request_deadline(&metadata, received) {
                Ok(deadline) => (deadline, None),
                Err(err) => (None, Some(err)),
            };
            // `call` lives until this future ends, completed or dropped: then it cancels
            // `ctx`.
            let (ctx, call) = Context::served(peer, deadline);
            let ctx = ctx.with_propagated(request_id::KEY, id);
            let ctx = match trace {
                Some(trace) => ctx.with_trace(trace),
                None => ctx,
            };
            if let Some(err) = refused {
                return self.finish(&ctx, &call, Err(err));
            }
            let ctx = self.hooks.before(ctx, &metadata);
            let abandoned = self.hooks.finalize_if_abandoned(&ctx);
            let result = self.core.respond(&ctx, message).await;
            abandoned.disarm();
            let answer = self.finish(&ctx, &call, result);
            // The context first: a call no context refers to any more ends without a
            // cancellation to signal.
            drop(ctx);
            drop(call);
            answer
        };
        let mut answer = match (span, unsampled) {
            (None, None) => scope.scope(answer).await,
            (None, Some(unsampled)) => scope.scope(unsampled.instrument(answer)).await,
            (Some(span), _) => {
                let answer = scope.scope(answer).instrument(span.clone()).await;
                let status = answer.as_ref().err().map(|status| {
                    let code = Code::from_number(status.code() as i32).unwrap_or(Code::Unknown);
                    (code, status.message())
                });
                crate::span::record_server_status(&span, status);
                answer
            }
        };
        let metadata = match &mut answer {
            Ok(response) => response.metadata_mut(),
            Err(status) => status.metadata_mut(),
        };
        metadata.insert(request_id::KEY, echo);
        answer
    }

    /// The answer for `result`: the response metadata set through the context, then the
    /// hooks' (see [`Hooks::finish`]).
    fn finish<Q>(
        &self,
        ctx: &Context,
        call: &CallHandle,
        result: Result<Q, Error>,
    ) -> Result<Response<Q>, Status> {
        let response = call.take_response();
        let result = match result {
            Err(err) if self.redact => Err(err.redact_private()),
            result => result,
        };
        self.hooks.finish(ctx, response.as_ref(), result)
    }

    /// Erases the endpoint, decoder and encoder types, so that the server can be a field
    /// of a tonic service struct; see [`BoxServer`].
    pub fn boxed<Req, P, Q>(self) -> BoxServer<P, Q>
    where
        E: Endpoint<Req>,
        E::Response: Send,
        D: Fn(P) -> Result<Req, Error> + Send + Sync + 'static,
        C: Fn(E::Response) -> Result<Q, Error> + Send + Sync + 'static,
        Req: Send + 'static,
        P: Send + 'static,
        Q: Send + 'static,
    {
        BoxServer::new(self)
    }
}

impl<E, D, C> Core<E, D, C> {
    /// Decodes, calls and encodes: everything between the request metadata and the answer.
    async fn respond<Req, P, Q>(&self, ctx: &Context, message: P) -> Result<Q, Error>
    where
        E: Endpoint<Req>,
        D: Fn(P) -> Result<Req, Error>,
        C: Fn(E::Response) -> Result<Q, Error>,
    {
        let request = (self.decode)(message)?;
        // Cancellation is by drop: the server drops this future when the call is abandoned.
        let response = ctx
            .run_until_deadline(self.endpoint.call(ctx.clone(), request))
            .await?;
        (self.encode)(response)
    }
}

/// The deadline of a request: its `grpc-timeout` counted from `received` (when
/// [`serve`](crate::serve) got the request headers) or else from now; `None` without one
/// (or with one too large to add).
///
/// On the server, tonic hands every request header to the service as metadata,
/// `grpc-timeout` included (it strips gRPC's reserved headers only from metadata it sends),
/// so it is read here.
fn request_deadline(
    metadata: &MetadataMap,
    received: Option<Instant>,
) -> Result<Option<Instant>, Error> {
    let Some(value) = metadata.get(TIMEOUT_METADATA) else {
        return Ok(None);
    };
    let timeout = value
        .to_str()
        .ok()
        .and_then(kit::wire::parse_timeout)
        .ok_or_else(|| {
            Error::invalid_argument(format!("malformed {TIMEOUT_METADATA}: {value:?}"))
        })?;
    Ok(received.unwrap_or_else(Instant::now).checked_add(timeout))
}

/// The call's request id (see [`kit::request_id`]): its `x-request-id` metadata when that
/// is acceptable, else a new one; and the metadata value that echoes it on the answer.
fn request_id(metadata: &MetadataMap) -> (String, MetadataValue<Ascii>) {
    if let Some(value) = metadata.get(request_id::KEY)
        && let Ok(id) = value.to_str()
        && request_id::is_acceptable(id)
    {
        return (id.to_owned(), value.clone());
    }
    let id = request_id::generate();
    let echo = MetadataValue::try_from(id.as_str()).expect("a generated request id is ASCII");
    (id, echo)
}

/// The trace the call's metadata carries in `formats` (see [`kit::trace`]): one pass over
/// the metadata, allocating nothing when no key is a trace header's.
fn call_trace(metadata: &MetadataMap, formats: Propagation) -> Option<TraceContext> {
    if formats.is_empty() {
        return None;
    }
    let mut incoming = Incoming::default();
    for entry in metadata.iter() {
        if let KeyAndValueRef::Ascii(key, value) = entry {
            incoming.offer(key.as_str(), value.as_encoded_bytes());
        }
    }
    incoming.extract(formats)
}

/// The connection the request came in on: the one [`serve`](crate::serve()) recorded (no
/// allocation per call), else kit's [`Peer`] if the server put one in the extensions, else
/// one made from tonic's `TcpConnectInfo` (which tonic's own server puts there).
fn peer_of(extensions: &tonic::Extensions) -> Option<Arc<Peer>> {
    if let Some(peer) = kit_http::accept::current_peer() {
        return Some(peer);
    }
    if let Some(peer) = extensions.get::<Arc<Peer>>() {
        return Some(peer.clone());
    }
    let info = extensions.get::<TcpConnectInfo>()?;
    let peer = Peer::new(info.remote_addr()?);
    Some(Arc::new(match info.local_addr() {
        Some(local) => peer.with_local_addr(local),
        None => peer,
    }))
}

impl<E, D, C> Clone for Server<E, D, C> {
    fn clone(&self) -> Self {
        Server {
            core: self.core.clone(),
            hooks: self.hooks.clone(),
            trace_formats: self.trace_formats,
            redact: self.redact,
        }
    }
}

impl<E, D, C> std::fmt::Debug for Server<E, D, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("endpoint", &std::any::type_name::<E>())
            .field("before", &self.hooks.before.len())
            .field("after", &self.hooks.after.len())
            .field("finalizer", &self.hooks.finalizer.len())
            .field("redact_private_errors", &self.redact)
            .finish()
    }
}
