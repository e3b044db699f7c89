//! Calling a remote HTTP endpoint as a kit [`Endpoint`].
//!
//! A [`Client`] turns a URL, a request encoder and a response decoder into an endpoint,
//! the counterpart of Go kit's `httptransport.NewClient`. Each call:
//!
//! 1. ends at once with `DeadlineExceeded` or `Cancelled` if its context is already done;
//! 2. builds the request: method, URL, the context's remaining time as a `kit-timeout`
//!    header (see [`TIMEOUT_HEADER`]), its propagated metadata as
//!    headers, then the encoder (body and headers) and the `before` functions;
//! 3. sends it over a pooled connection (a [`Pool`] can be shared between clients), and
//!    reads the whole response body up to a limit, all under the context's deadline and
//!    cancellation;
//! 4. runs the `after` functions, then decodes a `2xx` answer with the decoder, and any other
//!    status into an [`Error`] with the server's code, message and details (see
//!    [`decode_error`]).
//!
//! Transport failures are classified for retries and circuit breakers, with how far the
//! request got ([`kit::error::Delivery`]): a refused connection is `Unavailable`
//! and was never sent; a connection lost after the request was written is `Unavailable`
//! and may have executed; a deadline that passes while waiting for the answer is
//! `DeadlineExceeded` and may have executed. Calls with an idempotent method (`GET`, `HEAD`,
//! `PUT`, `DELETE`, `OPTIONS`, `TRACE`, as RFC 9110 defines them) are marked idempotent, so
//! that retries may send them again whatever happened; [`Client::idempotent`] says otherwise.
//!
//! # HTTPS (feature `tls`)
//!
//! With kit-http's `tls` feature, `https://` URLs work over a pool made with
//! `Pool::with_tls`: rustls on the *ring* crypto provider (or the process's default
//! provider, if one was installed; ring is the only one kit builds, so rustls never meets
//! two), through tokio-rustls. `Tls` holds what to trust and present: CA certificates in PEM
//! (text or a file; the system's roots are not read, which would take another dependency),
//! and a client certificate with its key for mutual TLS (a key that is not the
//! certificate's is refused then). The same `Tls` serves clients on other stacks:
//! kit-sd-etcd's `Config::tls` takes it, handing its PEM (`Tls::ca_pem`,
//! `Tls::client_pem`) to etcd-client and using `Tls::rustls_config` for its own
//! connections. The URL's host is the server name
//! sent (SNI) and verified. Connections offer `h2` and `http/1.1` by ALPN and use HTTP/2
//! when the server picks it; TLS connections are pooled apart from plain ones, and plain
//! `http://` calls take the same path as without the feature (one scheme comparison more).
//! Failures say what happened: a certificate from an unknown CA is `Unavailable`
//! ("TLS handshake with HOST failed: invalid peer certificate: UnknownIssuer"), never sent;
//! a server that refuses the client certificate (or its absence) is `Unauthenticated`,
//! never sent, with a hint; an `https://` URL on a pool without TLS settings, or without
//! the feature, is `InvalidArgument`. Tested against a kit-http server behind
//! kit-testkit's TLS front (`kit_testkit::tls`), over HTTP/1.1 and HTTP/2.
//!
//! ```no_run
//! use kit::{Context, Endpoint};
//! use kit_http::{json, Client};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize)]
//! struct SumRequest { a: i64, b: i64 }
//! #[derive(Deserialize)]
//! struct SumReply { v: i64 }
//!
//! # async fn run() -> Result<(), kit::Error> {
//! let sum = Client::new(
//!     http::Method::POST,
//!     "http://127.0.0.1:8081/sum".parse().unwrap(),
//!     json::encode_request,
//!     json::decode_response::<SumReply>,
//! );
//! let reply = sum.call(Context::background(), SumRequest { a: 1, b: 2 }).await?;
//! assert_eq!(reply.v, 3);
//! # Ok(()) }
//! ```

mod error;
mod pool;
mod target;
#[cfg(feature = "tls")]
mod tls;

pub use error::{call_error, decode_error};
pub use pool::Pool;
pub use target::{Target, path_segment, push_query};
#[cfg(feature = "tls")]
pub use tls::{Tls, certificate_alert};

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, Uri, request, response};
use kit::error::Delivery;
use kit::trace::{Propagation, TraceContext};
use kit::{Context, Endpoint, Error};
use tracing::Instrument as _;

use crate::Body;
use crate::body::{read_limited, response_too_large};
use crate::server::TIMEOUT_HEADER;

/// The default limit on a response body: 16 MiB.
pub const DEFAULT_RESPONSE_LIMIT: usize = 16 << 20;

type BeforeFn = Arc<dyn Fn(&Context, &mut request::Parts) + Send + Sync>;
type AfterFn = Arc<dyn Fn(&Context, &response::Parts) + Send + Sync>;
type ErrorDecoderFn = Arc<dyn Fn(&response::Parts, &Bytes) -> Error + Send + Sync>;

/// A remote HTTP endpoint; see the [module docs](self).
pub struct Client<Enc, Dec> {
    method: Method,
    uri: Uri,
    encode: Enc,
    decode: Dec,
    pool: Pool,
    before: Vec<BeforeFn>,
    after: Vec<AfterFn>,
    error_decoder: ErrorDecoderFn,
    response_limit: usize,
    idempotent: bool,
    trace_formats: Propagation,
}

impl<Enc, Dec> Client<Enc, Dec> {
    /// A client that sends `method` requests to `uri`, encoding requests with `encode` and
    /// decoding successful responses with `decode`, over a pool of its own.
    ///
    /// `encode` sets the body (its return value) and may change the request head (headers,
    /// or the URI for REST paths); `decode` reads a `2xx` response.
    pub fn new<Req, Resp>(method: Method, uri: Uri, encode: Enc, decode: Dec) -> Self
    where
        Enc: Fn(Req, &mut request::Parts) -> Result<Bytes, Error>,
        Dec: Fn(response::Parts, Bytes) -> Result<Resp, Error>,
    {
        Client {
            idempotent: method.is_idempotent(),
            method,
            uri,
            encode,
            decode,
            pool: Pool::new(),
            before: Vec::new(),
            after: Vec::new(),
            error_decoder: Arc::new(decode_error),
            response_limit: DEFAULT_RESPONSE_LIMIT,
            trace_formats: Propagation::DEFAULT_INJECT,
        }
    }

    /// Sends requests over `pool`, shared with other clients of the same hosts.
    pub fn pool(mut self, pool: Pool) -> Self {
        self.pool = pool;
        self
    }

    /// Adds a function that may change the request head before it is sent; they run in
    /// the order added, after the encoder.
    pub fn before(
        mut self,
        f: impl Fn(&Context, &mut request::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.before.push(Arc::new(f));
        self
    }

    /// Adds a function that sees every response head (any status) before it is decoded.
    pub fn after(mut self, f: impl Fn(&Context, &response::Parts) + Send + Sync + 'static) -> Self {
        self.after.push(Arc::new(f));
        self
    }

    /// Replaces the decoder of non-`2xx` answers (default: [`decode_error`]).
    pub fn error_decoder(
        mut self,
        f: impl Fn(&response::Parts, &Bytes) -> Error + Send + Sync + 'static,
    ) -> Self {
        self.error_decoder = Arc::new(f);
        self
    }

    /// The largest response body read, in bytes (default [`DEFAULT_RESPONSE_LIMIT`]); a
    /// larger one fails the call with `ResourceExhausted`.
    pub fn response_limit(mut self, limit: usize) -> Self {
        self.response_limit = limit;
        self
    }

    /// Whether the calls are idempotent, so that a retry may send one again even if it may
    /// have run (default: whether the method is idempotent by RFC 9110). Errors of an
    /// idempotent client are marked with [`Error::idempotent_call`].
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The trace header formats sent with calls whose context has a trace (default
    /// [`Propagation::DEFAULT_INJECT`]: W3C `traceparent`/`tracestate` and B3's `X-B3-*`;
    /// [`Propagation::NONE`] sends none). Each call carries a child of the context's trace:
    /// the same trace, a new span id, the context's span as parent (see [`kit::trace`]).
    pub fn trace_propagation(mut self, formats: Propagation) -> Self {
        self.trace_formats = formats;
        self
    }

    /// The URI calls are sent to (before the encoder changes it).
    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request head for one call, before the encoder and hooks run; `span` is the call's
    /// span, when there is a span bridge.
    fn head(&self, ctx: &Context, span: Option<&crate::span::ClientSpan>) -> request::Parts {
        let (mut parts, ()) = Request::new(()).into_parts();
        parts.method = self.method.clone();
        parts.uri = self.uri.clone();
        if let Some(remaining) = ctx.remaining() {
            let value = kit::wire::format_timeout(remaining);
            parts.headers.insert(
                TIMEOUT_HEADER.clone(),
                HeaderValue::try_from(value).expect("a timeout is always a valid header value"),
            );
        }
        for (key, value) in ctx.propagated_entries() {
            // Keys are lowercase tokens; a `&'static str` one becomes a header name without
            // a copy.
            let name = match key {
                Cow::Borrowed(key) => Ok(HeaderName::from_static(key)),
                Cow::Owned(key) => HeaderName::try_from(key.as_str()),
            };
            match (name, HeaderValue::try_from(value)) {
                (Ok(name), Ok(value)) => {
                    parts.headers.append(name, value);
                }
                _ => tracing::debug!(%key, "metadata not sendable as an HTTP header: skipped"),
            }
        }
        if self.trace_formats.is_empty() {
            return parts;
        }
        // The span's own position when it is traced, else a child of the context's trace.
        let trace = span
            .and_then(|span| span.trace().cloned())
            .or_else(|| ctx.trace().map(TraceContext::child));
        if let Some(trace) = trace {
            trace.inject(self.trace_formats, |name, value| {
                // Trace header values are visible ASCII (the tracestate was checked).
                let value = HeaderValue::from_str(value).expect("a trace header is a value");
                parts.headers.insert(HeaderName::from_static(name), value);
            });
        }
        parts
    }

    async fn exchange<Req, Resp>(
        &self,
        ctx: &Context,
        req: Req,
        span: Option<&crate::span::ClientSpan>,
    ) -> Result<Resp, Error>
    where
        Enc: Fn(Req, &mut request::Parts) -> Result<Bytes, Error>,
        Dec: Fn(response::Parts, Bytes) -> Result<Resp, Error>,
    {
        let mut parts = self.head(ctx, span);
        let body = (self.encode)(req, &mut parts)?;
        for before in &self.before {
            before(ctx, &mut parts);
        }
        if let Some(span) = span {
            span.span()
                .record("url.full", tracing::field::display(&parts.uri));
        }
        let request = Request::from_parts(parts, Body::new(body));
        let response: Response<_> = self.pool.send(request).await?;
        let (parts, body) = response.into_parts();
        if let Some(span) = span {
            span.answered(parts.status);
        }
        let body = read_limited(body, self.response_limit, response_too_large).await?;
        for after in &self.after {
            after(ctx, &parts);
        }
        if parts.status.is_success() {
            (self.decode)(parts, body)
        } else {
            Err((self.error_decoder)(&parts, &body))
        }
    }

    /// One call, inside `span` when there is one (which the caller entered).
    pub(crate) async fn send<Req, Resp>(
        &self,
        ctx: &Context,
        req: Req,
        span: Option<&crate::span::ClientSpan>,
    ) -> Result<Resp, Error>
    where
        Enc: Fn(Req, &mut request::Parts) -> Result<Bytes, Error>,
        Dec: Fn(response::Parts, Bytes) -> Result<Resp, Error>,
    {
        let result = match ctx.err() {
            // Never sent: the caller had already given up.
            Some(err) => Err(err.with_delivery(Delivery::NotSent)),
            None => ctx.run(self.exchange(ctx, req, span)).await.map_err(|err| {
                // The context ended while the call was under way: its error wins, and
                // the request may have reached the server.
                match ctx.err() {
                    Some(ended) => ended.with_delivery(Delivery::MaybeExecuted),
                    None => err,
                }
            }),
        };
        match result {
            Err(err) if self.idempotent => Err(err.idempotent_call()),
            result => result,
        }
    }
}

impl<Req, Resp, Enc, Dec> Endpoint<Req> for Client<Enc, Dec>
where
    Enc: Fn(Req, &mut request::Parts) -> Result<Bytes, Error> + Send + Sync + 'static,
    Dec: Fn(response::Parts, Bytes) -> Result<Resp, Error> + Send + Sync + 'static,
    Req: Send,
    Resp: Send,
{
    type Response = Resp;

    async fn call(&self, ctx: Context, req: Req) -> Result<Resp, Error> {
        if kit::trace::span::bridge().is_none() {
            return self.send(&ctx, req, None).await;
        }
        let span = crate::span::http_client(&self.method, &self.uri, &ctx);
        let result = self
            .send(&ctx, req, Some(&span))
            .instrument(span.span().clone())
            .await;
        if let Err(err) = &result {
            span.failed(err);
        }
        result
    }
}

impl<Enc, Dec> std::fmt::Debug for Client<Enc, Dec> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("response_limit", &self.response_limit)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}
