//! The spans kit-http opens when a span bridge is installed (see [`kit::trace::span`]), with
//! the attributes of OpenTelemetry's semantic conventions v1.27.0.
//!
//! - An HTTP/JSON server opens one server span per request, named `{method} {route}` with
//!   the route pattern the router matched (`POST /notes/{id}`), or `{method}` when the
//!   server is not mounted on a route (or the router answers for no route); attributes
//!   `http.request.method`, `url.path`, `url.scheme`, `http.route`,
//!   `http.response.status_code`, `network.protocol.version`, `server.address` and
//!   `server.port` (from the request's authority or `Host` header, else the address the
//!   connection was accepted on), `client.address`, `user_agent.original`. A `5xx` answer is
//!   an error (`error.type` is the status code; the status message is the error's, when
//!   an error made it); a `4xx` answer is the caller's fault and leaves the status unset.
//! - A JSON-RPC server opens no HTTP span: it opens one server span per call (each entry
//!   of a batch its own, each a child of the trace the request came with), named after
//!   the method: `rpc.system = "jsonrpc"`, `rpc.jsonrpc.version = "2.0"`, `rpc.method`,
//!   `rpc.jsonrpc.request_id` (a string id without its quotes; left out for a
//!   notification), and on an error answer `rpc.jsonrpc.error_code` and
//!   `rpc.jsonrpc.error_message`. Which error answers make the span an error follows what
//!   the conventions ask of gRPC servers: those that are the server's fault, the kit codes
//!   `Unknown`, `DeadlineExceeded`, `Unimplemented` (`-32601`, method not found),
//!   `Internal` (`-32603`), `Unavailable` and `DataLoss`; the others (invalid params,
//!   not found, permission denied...) keep the status unset. Requests that are not valid
//!   JSON-RPC calls name no method and get no span.
//! - The HTTP client opens one client span per call, named `{method}`:
//!   `http.request.method`, `server.address`, `server.port`, `url.full`,
//!   `http.response.status_code`; a `4xx` or `5xx` answer is an error with `error.type` the
//!   status code (whatever error the error decoder made of it), a call that fails
//!   otherwise (no answer, a deadline, a `2xx` answer that does not decode) an error with
//!   `error.type` the kit code (`UNAVAILABLE`, `DEADLINE_EXCEEDED`); `error.type` is
//!   recorded once, when the call ends.
//! - The JSON-RPC client opens one client span per call, named after the method, with the
//!   server's attributes (without the HTTP ones) plus `server.address` and `server.port`;
//!   every error is an error status, a failed HTTP exchange records `error.type` as the
//!   HTTP client does, and a JSON-RPC error answer records its code
//!   ([`error_code`](crate::jsonrpc::error_code) of the code read back) and message.
//!
//! Spans are created once their name is known: tracing-opentelemetry 0.34 applies an
//! `otel.name` recorded later only while the OpenTelemetry span is not built yet, and kit
//! builds it at once (to put the span's position in the call's context).

use std::sync::atomic::{AtomicU16, Ordering};

use http::{Method, StatusCode, Uri, Version, request};
use kit::context::Peer;
use kit::trace::TraceContext;
use kit::trace::span::{CLIENT_TARGET, SERVER_TARGET};
use kit::{Context, Error};
use tracing::Span;
use tracing::field::Empty;

/// The server span of an HTTP/JSON request, for the route `route` when one was matched.
pub(crate) fn http_server(
    parts: &request::Parts,
    route: Option<&str>,
    peer: Option<&Peer>,
) -> Span {
    let method = known_method(&parts.method);
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    let span = tracing::info_span!(
        target: SERVER_TARGET,
        "HTTP request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_description = Empty,
        http.request.method = method,
        http.request.method_original = Empty,
        url.path = parts.uri.path(),
        url.scheme = parts.uri.scheme_str().unwrap_or("http"),
        http.route = route,
        http.response.status_code = Empty,
        network.protocol.version = protocol_version(parts.version),
        server.address = Empty,
        server.port = Empty,
        client.address = Empty,
        user_agent.original = Empty,
        error.type = Empty,
    );
    if method == OTHER_METHOD {
        span.record("http.request.method_original", parts.method.as_str());
    }
    let authority = parts.uri.authority().cloned().or_else(|| {
        let host = parts.headers.get(http::header::HOST)?.to_str().ok()?;
        host.parse::<http::uri::Authority>().ok()
    });
    let local = peer.and_then(|p| p.local_addr);
    match authority {
        Some(authority) => {
            span.record("server.address", authority.host());
            if let Some(port) = authority.port_u16().or_else(|| local.map(|a| a.port())) {
                span.record("server.port", i64::from(port));
            }
        }
        None => {
            if let Some(local) = local {
                span.record("server.address", tracing::field::display(local.ip()));
                span.record("server.port", i64::from(local.port()));
            }
        }
    }
    if let Some(peer) = peer {
        span.record(
            "client.address",
            tracing::field::display(peer.remote_addr.ip()),
        );
    }
    if let Some(agent) = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        span.record("user_agent.original", agent);
    }
    span
}

/// Records a server's answer on its span: the status, and for a `5xx` the error (`error`'s
/// message when an error made the answer).
pub(crate) fn http_server_answered(span: &Span, status: StatusCode, error: Option<&str>) {
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("error.type", status.as_str());
        failed(span, error);
    }
}

/// A client call's span and the status of the answer, once one came: a failed call's
/// `error.type` is that status when it is `4xx` or `5xx`, else the kit code, whichever error
/// the error decoder (the default or a custom one) made of the answer. It is recorded once,
/// when the call ends.
pub(crate) struct ClientSpan {
    span: Span,
    /// The span's position in its trace (what the call's trace headers carry), when traced.
    trace: Option<TraceContext>,
    /// The answer's status code; 0 until one came.
    status: AtomicU16,
}

impl ClientSpan {
    /// Starts `span` in the trace of the call made with `ctx`. Done before the span is
    /// entered: the parent [`start_client`](kit::trace::span::start_client) finds is the
    /// span current when the call is made.
    fn start(span: Span, ctx: &Context) -> ClientSpan {
        let trace = kit::trace::span::start_client(&span, ctx);
        ClientSpan {
            span,
            trace,
            status: AtomicU16::new(0),
        }
    }

    /// A call that is not sampled (see [`unsampled_client`](kit::trace::span::unsampled_client)):
    /// no span, `trace` sent.
    fn unsampled(trace: TraceContext) -> ClientSpan {
        ClientSpan {
            span: Span::none(),
            trace: Some(trace),
            status: AtomicU16::new(0),
        }
    }

    /// The span's position in its trace, when it is traced.
    pub(crate) fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }

    /// The span itself.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Records the answer's status; a `4xx` or `5xx` makes the span an error.
    pub(crate) fn answered(&self, status: StatusCode) {
        self.status.store(status.as_u16(), Ordering::Relaxed);
        self.span
            .record("http.response.status_code", i64::from(status.as_u16()));
        if status.is_client_error() || status.is_server_error() {
            self.span.record("otel.status_code", "ERROR");
        }
    }

    /// Records a call that failed with `err`: `error.type` (see the [type docs](Self)) and
    /// the error's message as the status message.
    pub(crate) fn failed(&self, err: &Error) {
        match StatusCode::from_u16(self.status.load(Ordering::Relaxed)) {
            Ok(status) if status.is_client_error() || status.is_server_error() => {
                self.span.record("error.type", status.as_str())
            }
            _ => self
                .span
                .record("error.type", tracing::field::display(err.code())),
        };
        failed(&self.span, Some(err.message()));
    }
}

/// The client span of an HTTP call of `method` to `uri` made with `ctx`; no span (a
/// disabled one) for an unsampled call.
pub(crate) fn http_client(method: &Method, uri: &Uri, ctx: &Context) -> ClientSpan {
    if let Some(trace) = kit::trace::span::unsampled_client(ctx) {
        return ClientSpan::unsampled(trace);
    }
    let known = known_method(method);
    let span = tracing::info_span!(
        target: CLIENT_TARGET,
        "HTTP call",
        otel.name = known,
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        http.request.method = known,
        http.request.method_original = Empty,
        server.address = uri.host(),
        server.port = Empty,
        url.full = tracing::field::display(uri),
        http.response.status_code = Empty,
        error.type = Empty,
    );
    if known == OTHER_METHOD {
        span.record("http.request.method_original", method.as_str());
    }
    record_port(&span, uri);
    ClientSpan::start(span, ctx)
}

/// The server span of a JSON-RPC call of `method` with `id` (raw JSON; `None` for a
/// notification).
pub(crate) fn jsonrpc_server(method: &str, id: Option<&str>) -> Span {
    let span = tracing::info_span!(
        target: SERVER_TARGET,
        "JSON-RPC call",
        otel.name = method,
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_description = Empty,
        rpc.system = "jsonrpc",
        rpc.jsonrpc.version = "2.0",
        rpc.method = method,
        rpc.jsonrpc.request_id = Empty,
        rpc.jsonrpc.error_code = Empty,
        rpc.jsonrpc.error_message = Empty,
    );
    if let Some(id) = id {
        let unquoted = serde_json::from_str::<&str>(id).unwrap_or(id);
        span.record("rpc.jsonrpc.request_id", unquoted);
    }
    span
}

/// Records a JSON-RPC server's failed call on its span; see the [module docs](self) for
/// which codes make it an error.
pub(crate) fn jsonrpc_server_failed(span: &Span, err: &Error) {
    record_jsonrpc_error(span, err);
    if kit::trace::span::is_server_fault(err.code()) {
        failed(span, Some(err.message()));
    }
}

/// The client span of a JSON-RPC call of `method` to the server at `uri` made with `ctx`; no
/// span (a disabled one) for an unsampled call.
pub(crate) fn jsonrpc_client(method: &str, uri: &Uri, id: u64, ctx: &Context) -> ClientSpan {
    if let Some(trace) = kit::trace::span::unsampled_client(ctx) {
        return ClientSpan::unsampled(trace);
    }
    let span = tracing::info_span!(
        target: CLIENT_TARGET,
        "JSON-RPC call",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        rpc.system = "jsonrpc",
        rpc.jsonrpc.version = "2.0",
        rpc.method = method,
        rpc.jsonrpc.request_id = tracing::field::display(id),
        rpc.jsonrpc.error_code = Empty,
        rpc.jsonrpc.error_message = Empty,
        server.address = uri.host(),
        server.port = Empty,
        error.type = Empty,
    );
    record_port(&span, uri);
    ClientSpan::start(span, ctx)
}

/// Records on a JSON-RPC client's span the error answer `err` read back: its code and
/// message (no `error.type`: the call got an answer).
pub(crate) fn jsonrpc_client_error_answer(span: &ClientSpan, err: &Error) {
    record_jsonrpc_error(span.span(), err);
    failed(span.span(), Some(err.message()));
}

fn record_jsonrpc_error(span: &Span, err: &Error) {
    let code = crate::jsonrpc::error_code(err.code());
    span.record("rpc.jsonrpc.error_code", i64::from(code));
    span.record("rpc.jsonrpc.error_message", err.message());
}

/// Makes `span` an error, with `message` when there is one.
fn failed(span: &Span, message: Option<&str>) {
    match message {
        Some(message) => span.record("otel.status_description", message),
        None => span.record("otel.status_code", "ERROR"),
    };
}

fn record_port(span: &Span, uri: &Uri) {
    let port = uri.port_u16().or_else(|| match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    });
    if let Some(port) = port {
        span.record("server.port", i64::from(port));
    }
}

/// What the conventions call a method not among the known ones.
const OTHER_METHOD: &str = "_OTHER";

/// `method` as the conventions name it: one of RFC 9110's methods or `PATCH`, else `_OTHER`
/// (the original is recorded as `http.request.method_original`).
fn known_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => OTHER_METHOD,
    }
}

fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
