//! Calling a remote gRPC method as a kit [`Endpoint`].
//!
//! A [`Client`] turns a tonic transport, a method path, a request encoder and a reply
//! decoder into an endpoint, the counterpart of Go kit's `grpctransport.NewClient`. No
//! generated client is needed: the call goes through tonic's generic unary call with the
//! prost codec, so any prost message pair will do.
//!
//! The transport is any tonic [`GrpcService`]: a [`Channel`] (the default), a balanced
//! channel (`Channel::balance_list`), a channel wrapped in an interceptor
//! ([`InterceptedService`](tonic::service::interceptor::InterceptedService)) or in tower
//! layers, a channel over a custom connector, or a plain hyper client. Message size limits
//! and compression are set on the client ([`max_decoding_message_size`](Client::max_decoding_message_size),
//! [`send_compressed`](Client::send_compressed), ...), as on a generated tonic client.
//!
//! Each call:
//!
//! 1. ends at once with `DeadlineExceeded` or `Cancelled` if its context is already done;
//! 2. builds the request: the encoded message, the context's remaining time as
//!    `grpc-timeout`, its propagated metadata (keys that are valid ASCII metadata keys, not
//!    `-bin` and not gRPC's own `grpc-` keys), then the `before` functions;
//! 3. sends it over the transport, under the context's deadline and cancellation, so the
//!    caller is answered on time even by a server that never answers;
//! 4. runs the `after` functions on the reply metadata (headers and trailers, or the
//!    status's metadata), then decodes the reply, or turns the status into an [`Error`]:
//!    the code, message and details the server's error had ([`error_of`](crate::error_of)).
//!
//! While a span bridge is installed ([`kit::trace::span`]), each call runs inside a client
//! span (target `kit::client`, named after the method, in error for any status but `OK`;
//! see [its fields](crate#spans)), child of the current `tracing` span (a span the caller
//! opened, or the server span of the call being served), else of the context's trace; the
//! call sends the span's own position as its trace metadata. Without a bridge, it sends a
//! child of the context's trace, if it has one.
//!
//! ## Failures and retry safety
//!
//! A failed call's error says how far its request got ([`Delivery`]), so that retries never
//! run a call twice unless it is [idempotent](Client::idempotent). tonic reports transport
//! failures as statuses with the transport's error as their source; the client reads that
//! source, not the status code (tonic answers a `GOAWAY` with `INTERNAL`, a lost connection
//! with `UNKNOWN`):
//!
//! | what happened | code | delivery | retryable |
//! |---|---|---|---|
//! | the server answered with a status | the status's | [`Answered`](Delivery::Answered) | as the code says |
//! | connection refused or failed (connect error), the transport not ready | `Unavailable` | [`NotSent`](Delivery::NotSent) | yes |
//! | HTTP/2 `REFUSED_STREAM`, or a `GOAWAY` that excludes the call's stream (the server did not process it) | `Unavailable` | `NotSent` | yes |
//! | the connection was lost after the request was handed to it (reset, closed, a `GOAWAY` that includes the stream, keep-alive timeout) | `Unavailable` | [`MaybeExecuted`](Delivery::MaybeExecuted) | only if idempotent |
//! | the stream was reset with another HTTP/2 error code (by the server, or by this side when the request body failed) | as gRPC's spec maps it (`INTERNAL`, `CANCELLED`, `RESOURCE_EXHAUSTED`, ...) | `MaybeExecuted` | only if idempotent and its code is |
//! | the context's deadline passed, or it was cancelled, while the call was out | `DeadlineExceeded` / `Cancelled` | `MaybeExecuted` (`NotSent` if the request had not been handed to the transport yet) | `DeadlineExceeded` only if idempotent |
//!
//! Errors raised on this side before anything is sent (a request message over
//! [`max_encoding_message_size`](Client::max_encoding_message_size), an interceptor's
//! refusal) keep their code and the default delivery, as the server's answers do.
//!
//! The context's error wins over the call's own: a deadline is always reported as
//! `DeadlineExceeded`, whichever side noticed it first. A client marked
//! [`idempotent`](Client::idempotent) stamps its errors with
//! [`Error::idempotent_call`], which makes `MaybeExecuted` failures retryable.
//!
//! A [`Channel`] multiplexes calls over HTTP/2 and is cheap to clone: build one per remote
//! address and hand clones to every client of that address.
//!
//! ## TLS
//!
//! [`lazy_channel`] speaks plain HTTP/2 and refuses `https://` addresses. With kit-grpc's
//! `tls` feature, `lazy_channel_tls(instance, &tls)` (and `lazy_channel_tls_with_server`)
//! makes a channel that speaks gRPC over TLS to `https://host:port` (or `host:port`):
//! tonic's rustls connector on the ring crypto provider, offering `h2` by ALPN (a server
//! that picks no protocol is refused), verifying the server's certificate against the
//! address's host with the CAs of the `Tls` settings as the only roots (no system or
//! webpki roots), and presenting their client certificate, if any, to a server that
//! requires one. `Tls` is kit-http's settings type, re-exported here: the same value
//! configures kit-http's HTTPS pools, etcd and the other registries' clients.
//!
//! A failed handshake fails the call with `Unavailable`, [`NotSent`](Delivery::NotSent)
//! (the server never read the request), and says why: `TLS handshake failed: invalid peer
//! certificate: UnknownIssuer` for a server certificate no given CA signed, and for a
//! server's refusal of the client's certificate (its TLS alert) that it requires one and
//! got none, or that it refused the one given. Under TLS 1.3 that refusal arrives after the
//! handshake is done on this side, when the connection is first read; it is still a
//! handshake failure.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # fn demo() -> Result<(), kit::Error> {
//! use kit_grpc::client::{Tls, lazy_channel_tls};
//!
//! let tls = Tls::from_ca_file("/etc/addsvc/ca.pem")?
//!     .client_certificate_files("/etc/addsvc/client.pem", "/etc/addsvc/client-key.pem")?;
//! let channel = lazy_channel_tls("https://addsvc.internal:8443", &tls)?;
//! # drop(channel);
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! use kit::{Context, Endpoint, Error};
//!
//! # #[derive(Clone, PartialEq, prost::Message)] struct SumRequest { #[prost(int64, tag = "1")] a: i64, #[prost(int64, tag = "2")] b: i64 }
//! # #[derive(Clone, PartialEq, prost::Message)] struct SumReply { #[prost(int64, tag = "1")] v: i64 }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // SumRequest and SumReply are the prost messages generated for the service's proto.
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:8082").connect_lazy();
//! let sum = kit_grpc::Client::new(
//!     channel,
//!     "/pb.Add/Sum",
//!     |(a, b): (i64, i64)| SumRequest { a, b },
//!     |reply: SumReply| Ok::<_, Error>(reply.v),
//! )
//! .idempotent(true) // summing twice is harmless: retry even if the request may have run
//! .max_decoding_message_size(64 * 1024);
//! let ctx = Context::background().with_timeout(std::time::Duration::from_secs(1));
//! assert_eq!(sum.call(ctx, (1, 2)).await?, 3);
//! # Ok(()) }
//! ```

mod failure;
#[cfg(feature = "tls")]
mod tls;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use http::uri::PathAndQuery;
use kit::error::Delivery;
use kit::trace::{Propagation, TraceContext};
use kit::{BoxError, Context, Endpoint, Error};
use tonic::Request;
use tonic::body::Body;
use tonic::client::{Grpc, GrpcService};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic_prost::ProstCodec;
use tracing::Instrument as _;

use crate::server::TIMEOUT_METADATA;

pub use tonic::codec::CompressionEncoding;
pub use tonic::transport::Channel;

#[cfg(feature = "tls")]
pub use kit_http::client::Tls;
#[cfg(feature = "tls")]
pub use tls::{lazy_channel_tls, lazy_channel_tls_with_server};

type BeforeFn = Arc<dyn Fn(&Context, &mut MetadataMap) + Send + Sync>;
type AfterFn = Arc<dyn Fn(&Context, &MetadataMap) + Send + Sync>;

/// The `grpc-timeout` key, parsed once.
static TIMEOUT_KEY: LazyLock<AsciiMetadataKey> =
    LazyLock::new(|| AsciiMetadataKey::from_static(TIMEOUT_METADATA));

/// A remote gRPC method as a kit [`Endpoint`]; see the [module docs](self).
///
/// `Enc` turns the endpoint's request into the request message, `Dec` the reply message
/// `Reply` into the endpoint's response; `T` is the transport (a [`Channel`] unless said
/// otherwise).
pub struct Client<Enc, Dec, Reply, T = Channel> {
    grpc: Grpc<T>,
    path: PathAndQuery,
    encode: Enc,
    decode: Dec,
    before: Vec<BeforeFn>,
    after: Vec<AfterFn>,
    idempotent: bool,
    max_encoding: Option<usize>,
    trace_formats: Propagation,
    server: Option<(String, u16)>,
    reply: PhantomData<fn(Reply)>,
}

impl<Enc, Dec, Reply, T> Client<Enc, Dec, Reply, T> {
    /// Calls the method at `path` (`"/package.Service/Method"`) over `transport`, encoding
    /// requests with `encode` and decoding replies with `decode`.
    ///
    /// `transport` is any tonic [`GrpcService`]: a [`Channel`], or one wrapped in an
    /// interceptor or in tower layers, or a hyper client (see the [module docs](self)).
    /// Each call uses a clone of it.
    ///
    /// # Panics
    /// If `path` is not a valid URI path.
    pub fn new<Req, P, Resp>(transport: T, path: &'static str, encode: Enc, decode: Dec) -> Self
    where
        Enc: Fn(Req) -> P + Send + Sync + 'static,
        Dec: Fn(Reply) -> Result<Resp, Error> + Send + Sync + 'static,
        P: prost::Message + 'static,
        Reply: prost::Message + Default + 'static,
    {
        Client {
            grpc: Grpc::new(transport),
            path: PathAndQuery::from_static(path),
            encode,
            decode,
            before: Vec::new(),
            after: Vec::new(),
            idempotent: false,
            max_encoding: None,
            trace_formats: Propagation::DEFAULT_INJECT,
            server: None,
            reply: PhantomData,
        }
    }

    /// Adds a function that may change the request metadata before it is sent; they run in
    /// the order added, after the deadline and propagated metadata are in place.
    pub fn before(
        mut self,
        f: impl Fn(&Context, &mut MetadataMap) + Send + Sync + 'static,
    ) -> Self {
        self.before.push(Arc::new(f));
        self
    }

    /// Adds a function that sees the reply metadata of every call that got an answer: the
    /// response headers and trailers, or the metadata of the error status.
    pub fn after(mut self, f: impl Fn(&Context, &MetadataMap) + Send + Sync + 'static) -> Self {
        self.after.push(Arc::new(f));
        self
    }

    /// Marks the method idempotent (running it twice does no harm): every error of the
    /// client is then stamped with [`Error::idempotent_call`], so that retries also send
    /// again a request that may already have run ([`Delivery::MaybeExecuted`]). Off by
    /// default.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The largest reply message the client accepts, in bytes (tonic's default: 4 MiB); a
    /// larger one fails the call with `OutOfRange`.
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.grpc = self.grpc.max_decoding_message_size(limit);
        self
    }

    /// The largest request message the client sends, in bytes (tonic's default: no
    /// limit); a larger one fails the call with `OutOfRange` before anything is sent.
    ///
    /// (The client checks the message's encoded length itself before sending: tonic
    /// would find it out only while streaming the request body, after the headers went
    /// out, and the stream reset that follows hides its `OutOfRange`.)
    pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.grpc = self.grpc.max_encoding_message_size(limit);
        self.max_encoding = Some(limit);
        self
    }

    /// Compresses requests with `encoding`; the server must accept it (else it answers
    /// `UNIMPLEMENTED`). The encodings exist with kit-grpc's cargo features `gzip` and
    /// `zstd` (see the [crate docs](crate#cargo-features)).
    pub fn send_compressed(mut self, encoding: CompressionEncoding) -> Self {
        self.grpc = self.grpc.send_compressed(encoding);
        self
    }

    /// Tells servers that replies compressed with `encoding` are welcome (it may be called
    /// once per encoding). Uncompressed replies are always accepted.
    pub fn accept_compressed(mut self, encoding: CompressionEncoding) -> Self {
        self.grpc = self.grpc.accept_compressed(encoding);
        self
    }

    /// The trace metadata formats sent with calls whose context has a trace (default
    /// [`Propagation::DEFAULT_INJECT`]: W3C `traceparent`/`tracestate` and B3's `x-b3-*`;
    /// [`Propagation::NONE`] sends none). Each call carries a child of the context's trace:
    /// the same trace, a new span id, the context's span as parent (see [`kit::trace`]).
    pub fn trace_propagation(mut self, formats: Propagation) -> Self {
        self.trace_formats = formats;
        self
    }

    /// The server's host name (or IP address) and port, as the spans of calls report them
    /// (`server.address` and `server.port`; see [`kit::trace::span`]): the transport does
    /// not tell the client where it connects. Without it, the spans have neither.
    pub fn server_address(mut self, host: impl Into<String>, port: u16) -> Self {
        self.server = Some((host.into(), port));
        self
    }

    /// The request for one call, with `trace` as its trace metadata, before the `before`
    /// functions run.
    fn request<P>(&self, ctx: &Context, message: P, trace: Option<&TraceContext>) -> Request<P> {
        let mut request = Request::new(message);
        let metadata = request.metadata_mut();
        for (key, value) in ctx.propagated() {
            if key.starts_with("grpc-") {
                tracing::debug!(key, "metadata reserved for gRPC: not propagated");
                continue;
            }
            match (
                key.parse::<AsciiMetadataKey>(),
                value.parse::<AsciiMetadataValue>(),
            ) {
                (Ok(key), Ok(value)) => {
                    metadata.append(key, value);
                }
                _ => tracing::debug!(key, "metadata not sendable as gRPC metadata: skipped"),
            }
        }
        if let Some(trace) = trace {
            trace.inject(self.trace_formats, |key, value| {
                // Trace header values are visible ASCII (the tracestate was checked).
                let value = AsciiMetadataValue::try_from(value).expect("a trace header is ASCII");
                metadata.insert(AsciiMetadataKey::from_static(key), value);
            });
        }
        if let Some(remaining) = ctx.remaining() {
            let timeout = Bytes::from(kit::wire::format_timeout(remaining));
            let timeout = AsciiMetadataValue::try_from(timeout)
                .expect("a timeout is always a valid metadata value");
            metadata.insert(TIMEOUT_KEY.clone(), timeout);
        }
        request
    }

    /// One call, without the context's deadline and cancellation; `sent` is set once the
    /// request has been handed to the transport.
    async fn exchange<Req, P, Resp>(
        &self,
        ctx: &Context,
        req: Req,
        trace: Option<&TraceContext>,
        sent: &AtomicBool,
    ) -> Result<Resp, Error>
    where
        Enc: Fn(Req) -> P,
        Dec: Fn(Reply) -> Result<Resp, Error>,
        P: prost::Message + 'static,
        Reply: prost::Message + Default + 'static,
        T: GrpcService<Body> + Clone,
        T::ResponseBody: Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<BoxError>,
    {
        let message = (self.encode)(req);
        if let Some(limit) = self.max_encoding {
            let len = message.encoded_len();
            if len > limit {
                return Err(Error::out_of_range(format!(
                    "request message of {len} bytes is larger than the limit of {limit} bytes"
                )));
            }
        }
        let mut request = self.request(ctx, message, trace);
        for before in &self.before {
            before(ctx, request.metadata_mut());
        }
        let mut grpc = self.grpc.clone();
        grpc.ready().await.map_err(|err| {
            let err: BoxError = err.into();
            Error::unavailable(format!("gRPC transport not ready: {err}"))
                .with_source(err)
                .with_delivery(Delivery::NotSent)
        })?;
        sent.store(true, Ordering::Relaxed);
        let result = grpc
            .unary(
                request,
                self.path.clone(),
                ProstCodec::<P, Reply>::default(),
            )
            .await;
        match result {
            Ok(response) => {
                for after in &self.after {
                    after(ctx, response.metadata());
                }
                (self.decode)(response.into_inner())
            }
            Err(status) => {
                for after in &self.after {
                    after(ctx, status.metadata());
                }
                Err(failure::error_of_call(status))
            }
        }
    }
}

impl<Req, P, Resp, Enc, Dec, Reply, T> Endpoint<Req> for Client<Enc, Dec, Reply, T>
where
    Enc: Fn(Req) -> P + Send + Sync + 'static,
    Dec: Fn(Reply) -> Result<Resp, Error> + Send + Sync + 'static,
    P: prost::Message + 'static,
    Reply: prost::Message + Default + 'static,
    Req: Send,
    T: GrpcService<Body> + Clone + Send + Sync + 'static,
    T::Future: Send,
    T::ResponseBody: Send + 'static,
    <T::ResponseBody as http_body::Body>::Data: Send,
    <T::ResponseBody as http_body::Body>::Error: Into<BoxError>,
{
    type Response = Resp;

    async fn call(&self, ctx: Context, req: Req) -> Result<Resp, Error> {
        if kit::trace::span::bridge().is_none() {
            let trace = match ctx.trace() {
                Some(trace) if !self.trace_formats.is_empty() => Some(trace.child()),
                _ => None,
            };
            return self.call_with(&ctx, req, trace.as_ref()).await;
        }
        if let Some(trace) = kit::trace::span::unsampled_client(&ctx) {
            // Not sampled: no span.
            let trace = Some(trace).filter(|_| !self.trace_formats.is_empty());
            return self.call_with(&ctx, req, trace.as_ref()).await;
        }
        let span = crate::span::client(self.path.path(), self.server.as_ref());
        // The client span's own position, else (the span is not traced) a child of the
        // context's trace, as without spans.
        let trace = kit::trace::span::start_client(&span, &ctx)
            .or_else(|| ctx.trace().map(TraceContext::child))
            .filter(|_| !self.trace_formats.is_empty());
        let result = self
            .call_with(&ctx, req, trace.as_ref())
            .instrument(span.clone())
            .await;
        crate::span::record_client_status(&span, result.as_ref().err());
        result
    }
}

impl<Enc, Dec, Reply, T> Client<Enc, Dec, Reply, T> {
    /// One call under the context's deadline and cancellation, sending `trace`.
    async fn call_with<Req, P, Resp>(
        &self,
        ctx: &Context,
        req: Req,
        trace: Option<&TraceContext>,
    ) -> Result<Resp, Error>
    where
        Enc: Fn(Req) -> P,
        Dec: Fn(Reply) -> Result<Resp, Error>,
        P: prost::Message + 'static,
        Reply: prost::Message + Default + 'static,
        T: GrpcService<Body> + Clone,
        T::ResponseBody: Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<BoxError>,
    {
        let sent = AtomicBool::new(false);
        let result = ctx
            .run(self.exchange(ctx, req, trace, &sent))
            .await
            .map_err(|err| match ctx.err() {
                // The context's error wins: a deadline is DeadlineExceeded whoever noticed.
                Some(done) => done.with_delivery(if sent.load(Ordering::Relaxed) {
                    Delivery::MaybeExecuted
                } else {
                    Delivery::NotSent
                }),
                None => err,
            });
        if self.idempotent {
            result.map_err(Error::idempotent_call)
        } else {
            result
        }
    }
}

impl<Enc: Clone, Dec: Clone, Reply, T: Clone> Clone for Client<Enc, Dec, Reply, T> {
    /// A client of the same method over the same transport (sharing a channel's
    /// connections).
    fn clone(&self) -> Self {
        Client {
            grpc: self.grpc.clone(),
            path: self.path.clone(),
            encode: self.encode.clone(),
            decode: self.decode.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
            idempotent: self.idempotent,
            max_encoding: self.max_encoding,
            trace_formats: self.trace_formats,
            server: self.server.clone(),
            reply: PhantomData,
        }
    }
}

impl<Enc, Dec, Reply, T> std::fmt::Debug for Client<Enc, Dec, Reply, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.path)
            .field("idempotent", &self.idempotent)
            .field("max_encoding_message_size", &self.max_encoding)
            .field("before", &self.before.len())
            .field("after", &self.after.len())
            .finish_non_exhaustive()
    }
}

/// A channel to the gRPC server at `instance` (`host:port` or an `http://` URL) that
/// connects on its first call and reconnects when needed, with `TCP_NODELAY` (unary calls are
/// small and latency-bound). The channel speaks plain HTTP/2: an `https://` address is
/// refused; TLS channels come from `lazy_channel_tls` (kit-grpc's `tls` feature; see
/// [TLS](self#tls)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let channel = kit_grpc::client::lazy_channel("127.0.0.1:8082").unwrap();
/// # drop(channel);
/// let err = kit_grpc::client::lazy_channel("https://x:1").unwrap_err();
/// assert_eq!(
///     err.message(),
///     "invalid address \"https://x:1\": lazy_channel speaks plain HTTP/2; \
///      call lazy_channel_tls (kit-grpc's `tls` feature) for https"
/// );
/// # }
/// ```
pub fn lazy_channel(instance: &str) -> Result<Channel, Error> {
    lazy_channel_to(&target(instance)?, instance)
}

/// `instance` read as kit-http reads addresses, `https://` refused.
fn target(instance: &str) -> Result<kit_http::client::Target, Error> {
    if instance.starts_with("https://") {
        return Err(Error::invalid_argument(format!(
            "invalid address {instance:?}: lazy_channel speaks plain HTTP/2; \
             call lazy_channel_tls (kit-grpc's `tls` feature) for https"
        )));
    }
    kit_http::client::Target::parse(instance)
}

/// A [`lazy_channel`] to the gRPC server at `instance`, and the server's host and port for
/// the spans of calls over it ([`Client::server_address`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (channel, server) = kit_grpc::client::lazy_channel_with_server("127.0.0.1:8082").unwrap();
/// assert_eq!(server, ("127.0.0.1".to_owned(), 8082));
/// # drop(channel);
/// # }
/// ```
pub fn lazy_channel_with_server(instance: &str) -> Result<(Channel, (String, u16)), Error> {
    let target = target(instance)?;
    Ok((lazy_channel_to(&target, instance)?, target.host_port()))
}

/// The channel of [`lazy_channel`] to `target`, given as `instance`.
fn lazy_channel_to(target: &kit_http::client::Target, instance: &str) -> Result<Channel, Error> {
    Ok(endpoint(target, instance)?.connect_lazy())
}

/// The tonic endpoint of the channels to `target`, given as `instance`, with `TCP_NODELAY`.
fn endpoint(
    target: &kit_http::client::Target,
    instance: &str,
) -> Result<tonic::transport::Endpoint, Error> {
    let endpoint = tonic::transport::Endpoint::from_shared(target.to_string())
        .map_err(|e| Error::invalid_argument(format!("invalid address {instance:?}: {e}")))?;
    Ok(endpoint.tcp_nodelay(true))
}
