//! Spans: one per served request and one per outgoing call, as `tracing` spans that an
//! OpenTelemetry layer turns into exported spans.
//!
//! kit's transports open their spans only while a [`SpanBridge`] is installed: the piece
//! that knows how the installed `tracing` layer maps a span to a trace position (kit-tracing
//! installs one for tracing-opentelemetry when an exporter is set up). Without one, no span
//! is made and nothing is paid but one atomic load per call; the trace a request came with
//! is still passed on (see the [module docs](super#in-the-context)).
//!
//! With a bridge, a server opens its span (target [`SERVER_TARGET`], level INFO), makes the
//! caller's span its parent ([`start_server`]), runs the call inside it, and puts the span's
//! own position in the call's [`Context`], so that a call made with that context is a child
//! of the server span. A client opens its span inside whatever span is current: a call made
//! inside a span of the service's own (`tracing::info_span!` in a handler) is a child of
//! that span; a call made outside any span is a child of the context's trace
//! ([`start_client`]). The client sends its own span's position as the caller's span.
//!
//! `kit` itself has no OpenTelemetry dependency: the bridge is two functions, implemented
//! where the layer is.

use std::sync::OnceLock;

use super::TraceContext;
use crate::{Code, Context};

/// The `tracing` target of the spans kit's servers open for requests.
pub const SERVER_TARGET: &str = "kit::server";

/// The `tracing` target of the spans kit's clients open for calls.
pub const CLIENT_TARGET: &str = "kit::client";

/// The `tracing` target of the internal spans of kit's [`span`](crate::middleware::span)
/// middleware.
pub const INTERNAL_TARGET: &str = "kit::internal";

/// What kit needs from the `tracing` layer that turns spans into a distributed trace: see
/// the [module docs](self).
pub trait SpanBridge: Send + Sync + 'static {
    /// Makes `parent`, a span of another process, the parent of `span`, a span that has
    /// just been opened and not yet entered.
    fn set_remote_parent(&self, span: &tracing::Span, parent: &TraceContext);

    /// The position of `span` in its trace (its trace id, its own span id and the
    /// sampling decision made for it); `None` when the span is not traced (disabled by a
    /// filter, or no layer of the bridge's kind is installed).
    fn context(&self, span: &tracing::Span) -> Option<TraceContext>;
}

static BRIDGE: OnceLock<&'static dyn SpanBridge> = OnceLock::new();

/// Installs `bridge` for the process, turning on kit's server and client spans; `false`
/// (and nothing changes) when one is already installed.
pub fn install_bridge(bridge: &'static dyn SpanBridge) -> bool {
    BRIDGE.set(bridge).is_ok()
}

/// The installed bridge, if any: a transport opens spans only when there is one.
pub fn bridge() -> Option<&'static dyn SpanBridge> {
    BRIDGE.get().copied()
}

/// Starts `span`, a server's span for a request that came with `incoming` (the trace its
/// headers carried), and returns the trace the call's context gets: the span's own
/// position, child of `incoming`; or `incoming` itself when no bridge is installed or the
/// span is not traced.
pub fn start_server(span: &tracing::Span, incoming: Option<TraceContext>) -> Option<TraceContext> {
    let Some(bridge) = bridge() else {
        return incoming;
    };
    if let Some(parent) = &incoming {
        bridge.set_remote_parent(span, parent);
    }
    match bridge.context(span) {
        Some(own) => Some(
            own.with_parent_span_id(incoming.as_ref().map(TraceContext::span_id))
                .with_debug(incoming.as_ref().is_some_and(TraceContext::debug)),
        ),
        None => incoming,
    }
}

/// Starts `span`, a client's span for a call made with `ctx` from inside the current
/// `tracing` span, and returns the trace to send: the span's own position, with the span
/// it is a child of as the parent (a new trace when the call is made outside any traced span
/// with a context that has none). `None` when no bridge is installed or the span is not
/// traced: the caller then sends a [`child_of`](super::child_of) the context's trace, as
/// without spans.
pub fn start_client(span: &tracing::Span, ctx: &Context) -> Option<TraceContext> {
    let bridge = bridge()?;
    // A span of the service's own, or the server span the call is made in, is the parent
    // that `tracing` already gave `span`; without one, the context's trace is.
    let current = bridge.context(&tracing::Span::current());
    let remote = match current {
        Some(_) => None,
        None => ctx.trace(),
    };
    if let Some(remote) = remote {
        bridge.set_remote_parent(span, remote);
    }
    let parent = current.as_ref().or(remote);
    let own = bridge.context(span)?;
    Some(
        own.with_parent_span_id(parent.map(TraceContext::span_id))
            .with_debug(parent.is_some_and(TraceContext::debug)),
    )
}

/// Whether a call that ended with `code` is the server's fault, the codes OpenTelemetry's
/// gRPC conventions (v1.27.0) put a server span in error for: `UNKNOWN`,
/// `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS`. The
/// others (an invalid argument, a missing entity...) are the caller's business; kit's
/// servers record them on the span without an error status.
pub fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// Puts `span` in error: `code`'s name (`NOT_FOUND`) as `error.type`, `message` as the
/// status description.
pub fn record_error(span: &tracing::Span, code: Code, message: &str) {
    span.record("error.type", code.as_str());
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_description", message);
}
