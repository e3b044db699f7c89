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
//! # Unsampled calls
//!
//! When the sampling decision is known before a span is made (the caller's trace says not
//! sampled, or a client call's parent is not sampled), no span is opened, as a span that is not sampled is never
//! exported. The call's context still gets a position of its own in the trace
//! ([`unsampled_server`], [`unsampled_client`]: a child of the parent, with a new span id,
//! marked not sampled), so that the trace is passed on with its decision. While a server's
//! unsampled call is polled, the bridge makes that position the parent of the spans the
//! layer makes outside any `tracing` span ([`Unsampled::instrument`]): a span of the
//! service's own inside the handler then joins the unsampled trace (and is not exported)
//! rather than starting a trace of its own.
//!
//! A call that starts a trace (a request without a caller's trace, a client call outside
//! any span with a context that has none) is decided before its span is made too: the
//! bridge draws the decision at its ratio ([`SpanBridge::may_sample`] of no parent), the
//! call opens no span when it says no, and [`start_server`] and [`start_client`] build the
//! first span of a trace it said yes to as sampled ([`SpanBridge::root_context`]). A trace
//! the service starts itself (a span of its own outside any call) is decided by the layer,
//! at the same ratio.
//!
//! `kit` itself has no OpenTelemetry dependency: the bridge is a few functions, implemented
//! where the layer is.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};

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

    /// Whether a span whose parent is `parent` may be sampled; `false` only when it is
    /// known not to be, before the span is made. For a new trace's first span (`None`), the
    /// decision itself, drawn anew at every call: `true` means the trace is sampled, and its
    /// first span is then built with [`root_context`](Self::root_context).
    fn may_sample(&self, parent: Option<&TraceContext>) -> bool;

    /// The position of `span`, a span just opened as the first span of a new trace that
    /// [`may_sample`](Self::may_sample) decided to sample: built sampled, whatever the
    /// layer's sampler would decide for a new trace. A span that turns out to have a parent
    /// after all (one of the service's own is current) follows the parent instead.
    fn root_context(&self, span: &tracing::Span) -> Option<TraceContext>;

    /// The parent to make current while an unsampled call at `trace` (a position not
    /// sampled) is polled: see [`ParentScope`].
    fn unsampled_parent(&self, trace: &TraceContext) -> Box<dyn ParentScope>;
}

/// A trace position made current, for the layer, while a call is polled: the parent of the
/// spans the layer makes outside any `tracing` span.
pub trait ParentScope: Send + Sync {
    /// Runs `poll` with the position current.
    fn run(&self, poll: &mut dyn FnMut());
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
/// span is not traced. Without `incoming`, the span starts a trace that
/// [`unsampled_server`] (or the bridge's [`may_sample`](SpanBridge::may_sample)) decided to
/// sample: it is sampled.
pub fn start_server(span: &tracing::Span, incoming: Option<TraceContext>) -> Option<TraceContext> {
    let Some(bridge) = bridge() else {
        return incoming;
    };
    let own = match &incoming {
        Some(parent) => {
            bridge.set_remote_parent(span, parent);
            bridge.context(span)
        }
        None => bridge.root_context(span),
    };
    match own {
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
/// without spans. A new trace is one that [`unsampled_client`] decided to sample: it is
/// sampled.
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
    let own = match parent {
        Some(_) => bridge.context(span),
        None => bridge.root_context(span),
    }?;
    Some(
        own.with_parent_span_id(parent.map(TraceContext::span_id))
            .with_debug(parent.is_some_and(TraceContext::debug)),
    )
}

/// A server call that is not sampled, known before its span would be made: see the
/// [module docs](self#unsampled-calls).
pub struct Unsampled {
    trace: TraceContext,
    parent: Box<dyn ParentScope>,
}

impl std::fmt::Debug for Unsampled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsampled")
            .field("trace", &self.trace)
            .finish_non_exhaustive()
    }
}

impl Unsampled {
    /// The call's own position: the trace its context gets.
    pub fn trace(&self) -> &TraceContext {
        &self.trace
    }

    /// `future` (the call), polled with the call's position as the layer's current parent.
    pub fn instrument<F: Future>(self, future: F) -> InUnsampled<F> {
        InUnsampled {
            future,
            parent: self.parent,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future polled with an unsampled position as the layer's current parent: see
    /// [`Unsampled::instrument`].
    pub struct InUnsampled<F> {
        #[pin]
        future: F,
        parent: Box<dyn ParentScope>,
    }
}

impl<F: Future> Future for InUnsampled<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        let mut polled = Poll::Pending;
        this.parent.run(&mut || polled = future.as_mut().poll(cx));
        polled
    }
}

/// The position of an unsampled call under `parent` (a new trace's first span for `None`).
fn unsampled_child(parent: Option<&TraceContext>) -> TraceContext {
    match parent {
        Some(parent) => parent.child(),
        None => TraceContext::root(),
    }
    .with_sampled(Some(false))
}

/// The unsampled call a server starts for a request that came with `incoming`, when a
/// bridge is installed and knows the call is not sampled; `None` otherwise (open a span and
/// [`start_server`] it).
pub fn unsampled_server(incoming: Option<&TraceContext>) -> Option<Unsampled> {
    let bridge = bridge()?;
    if bridge.may_sample(incoming) {
        return None;
    }
    let trace = unsampled_child(incoming);
    let parent = bridge.unsampled_parent(&trace);
    Some(Unsampled { trace, parent })
}

/// The trace a client sends for a call made with `ctx` from inside the current `tracing`
/// span, when a bridge is installed and the call's parent (that span, else the context's
/// trace) is known not to be sampled: a child of the parent, not sampled, and no span is
/// needed. `None` otherwise (open a span and [`start_client`] it).
pub fn unsampled_client(ctx: &Context) -> Option<TraceContext> {
    let bridge = bridge()?;
    let current = bridge.context(&tracing::Span::current());
    let parent = current.as_ref().or(ctx.trace());
    (!bridge.may_sample(parent)).then(|| unsampled_child(parent))
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
