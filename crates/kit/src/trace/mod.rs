//! Trace context propagation: which trace a call belongs to, read from the headers it came
//! with and written on the calls it makes.
//!
//! A [`TraceContext`] names a position in a distributed trace: the trace (a 16-byte
//! [`TraceId`]), the span this process is working in (an 8-byte [`SpanId`]), B3's parent
//! span when the caller sent one, the sampling decision (sampled, not sampled, or deferred
//! to this process) with B3's debug flag, and W3C's `tracestate` (vendors' entries, passed on
//! as received). It is what OpenTelemetry calls a span context, in plain types that convert
//! to it directly.
//!
//! ## Formats
//!
//! Two header formats carry it, both understood, selected with [`Propagation`]:
//!
//! - **W3C Trace Context Level 1**: `traceparent: 00-<trace id>-<span id>-<flags>` and
//!   `tracestate: key=value,...` ([`W3C`](Propagation::W3C)).
//! - **Zipkin's B3**, as a single header `b3: <trace id>-<span id>-<sampling>-<parent span
//!   id>` ([`B3_SINGLE`](Propagation::B3_SINGLE)) or as several `X-B3-*` headers
//!   ([`B3_MULTI`](Propagation::B3_MULTI)), which is what Go kit's Zipkin tracing sends.
//!
//! kit's servers [extract](Incoming::extract) every format by default
//! ([`Propagation::DEFAULT_EXTRACT`]); when a request carries several, `traceparent` (with
//! its `tracestate`) wins, then `b3`, then the `X-B3-*` headers. A malformed header is never
//! an error to the caller: it is ignored and the next format is tried; a request with no
//! acceptable header has no trace. kit's clients [inject](TraceContext::inject) W3C and B3
//! multi headers by default ([`Propagation::DEFAULT_INJECT`]), so that both OpenTelemetry
//! and Go kit's Zipkin tracing join the trace.
//!
//! The exact rules, format by format:
//!
//! - `traceparent`: lowercase hex only; version `ff` is invalid; version `00` is exactly 55
//!   characters; a higher version is read by its first four fields when it is at least 55
//!   characters and anything after them starts with `-`; an all-zero trace or span id is
//!   invalid; flag bit 0 is the sampled flag (W3C has no "deferred"). Two `traceparent`
//!   headers make it invalid. kit always sends version `00`.
//! - `tracestate`: read only with a valid `traceparent`; several header fields are one
//!   list; members are `key=value` with the spec's key grammar (a simple key, or
//!   `tenant@system`) and value characters, empty members are skipped, at most 32 members,
//!   no key twice. A list that breaks a rule is dropped (the `traceparent` is kept), and so
//!   is a list longer than [`MAX_TRACE_STATE`] characters once normalized: it is dropped
//!   whole, not truncated. It is sent on as `key=value,key=value` (whitespace removed).
//! - `b3`: `<trace id>-<span id>`, optionally `-<sampling>` (`1` accept, `0` deny, `d`
//!   debug) and then `-<parent span id>`; a trace id of 16 hex digits (64 bits) is
//!   left-padded with zeros to 128 bits; lowercase hex only; zero ids are invalid. The
//!   sampling state alone (`b3: 0`, `1` or `d`) carries a decision without ids.
//! - `X-B3-TraceId` (16 or 32 hex digits), `X-B3-SpanId`, `X-B3-ParentSpanId` (optional),
//!   `X-B3-Sampled` (`1`/`0`, also `true`/`false`), `X-B3-Flags: 1` (debug, which implies
//!   sampled; any other value is ignored). `X-B3-Sampled` or `X-B3-Flags` without ids
//!   carries a decision alone. kit sends `X-B3-Flags: 1` instead of `X-B3-Sampled` when
//!   debugging, as the spec asks, and sends a `b3` parent only after a sampling state.
//!
//! A decision without ids (`b3: 0`) starts a new trace here, with [new](TraceContext::root)
//! ids and the caller's decision.
//!
//! ## In the context
//!
//! A server puts the extracted trace in the call's [`Context`] ([`Context::with_trace`]);
//! code reads it with [`Context::trace`]. A client sends a [child](TraceContext::child) of
//! the trace in its context: the same trace, a new span id, the context's span as parent.
//! A context without a trace sends no trace headers; [`child_of`] is the trace for an
//! outgoing call that must have one (a new trace when the context has none).
//!
//! ```
//! use kit::trace::{Incoming, Propagation, TraceContext};
//! use kit::Context;
//!
//! let mut incoming = Incoming::default();
//! incoming.offer("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
//! let trace = incoming.extract(Propagation::DEFAULT_EXTRACT).unwrap();
//! assert_eq!(trace.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
//! assert_eq!(trace.sampled(), Some(true));
//!
//! let ctx = Context::background().with_trace(trace);
//! let child = ctx.trace().unwrap().child();
//! let mut sent = Vec::new();
//! child.inject(Propagation::DEFAULT_INJECT, |name, value| sent.push((name, value.to_owned())));
//! assert_eq!(sent[0].0, "traceparent");
//! assert!(sent[0].1.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
//! assert_eq!(sent[3], ("x-b3-parentspanid", "b7ad6b7169203331".to_owned()));
//! ```
//!
//! ## Spans
//!
//! With a [`span::SpanBridge`] installed (kit-tracing's OpenTelemetry setup installs one),
//! servers and clients also open a `tracing` span per request and per call, and the trace
//! in a served call's context is the server span's own position: see [`span`].
//!
//! **Cost.** A server reads the trace headers in one pass over the request's headers,
//! allocating nothing when there are none: on addsvc's HTTP `POST /sum` without trace
//! headers (`benches/http-sum-inproc.sh`, callgrind) a request went from 22,306 to 22,512
//! instructions (+206, 0.9%) when servers began extracting traces.
//!
//! Ids come from a cheap generator seeded once per process (not a cryptographic one): unique
//! within the process and unpredictable across processes, as the W3C spec asks.
//!
//! [`Context`]: crate::Context
//! [`Context::with_trace`]: crate::Context::with_trace
//! [`Context::trace`]: crate::Context::trace

mod b3;
pub mod span;
mod w3c;

use std::fmt;
use std::ops::BitOr;
use std::sync::Arc;

use crate::Context;
use crate::random::{next_u128, write_hex};

/// The W3C `traceparent` header.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header.
pub const TRACESTATE: &str = "tracestate";
/// B3's single header.
pub const B3: &str = "b3";
/// B3's trace id header (lowercase, as gRPC metadata and HTTP/2 send it).
pub const X_B3_TRACEID: &str = "x-b3-traceid";
/// B3's span id header.
pub const X_B3_SPANID: &str = "x-b3-spanid";
/// B3's parent span id header.
pub const X_B3_PARENTSPANID: &str = "x-b3-parentspanid";
/// B3's sampling decision header.
pub const X_B3_SAMPLED: &str = "x-b3-sampled";
/// B3's debug flag header.
pub const X_B3_FLAGS: &str = "x-b3-flags";

/// The longest `tracestate` kept, in characters (the least the W3C spec asks vendors to
/// pass on); a longer one is dropped whole.
pub const MAX_TRACE_STATE: usize = 512;

/// The most `tracestate` members the W3C spec allows.
pub const MAX_TRACE_STATE_MEMBERS: usize = 32;

/// A trace's id: 16 bytes, never all zero in a valid trace.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId([u8; 16]);

/// A span's id: 8 bytes, never all zero in a valid trace.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId([u8; 8]);

impl TraceId {
    /// The id made of `bytes` (big-endian, as written in hex).
    pub const fn from_bytes(bytes: [u8; 16]) -> TraceId {
        TraceId(bytes)
    }

    /// The id written as 32 lowercase hex digits (or 16, a 64-bit id, left-padded with
    /// zeros as B3 does); `None` for anything else, or an invalid (all-zero) id.
    pub fn from_hex(digits: &str) -> Option<TraceId> {
        b3::parse_trace_id(digits.as_bytes())
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Whether the id is valid: not all zero.
    pub fn is_valid(self) -> bool {
        self.0 != [0; 16]
    }

    /// A new random id (never all zero).
    pub fn random() -> TraceId {
        TraceId(next_u128().max(1).to_be_bytes())
    }

    /// The id as 32 lowercase hex digits, without allocating.
    pub fn to_hex(self) -> Hex<32> {
        let mut digits = [0; 32];
        write_hex(&self.0, &mut digits);
        Hex(digits)
    }
}

impl SpanId {
    /// The id made of `bytes` (big-endian, as written in hex).
    pub const fn from_bytes(bytes: [u8; 8]) -> SpanId {
        SpanId(bytes)
    }

    /// The id written as 16 lowercase hex digits; `None` for anything else, or an invalid
    /// (all-zero) id.
    pub fn from_hex(digits: &str) -> Option<SpanId> {
        b3::parse_span_id(digits.as_bytes())
    }

    /// The id's bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// Whether the id is valid: not all zero.
    pub fn is_valid(self) -> bool {
        self.0 != [0; 8]
    }

    /// A new random id (never all zero).
    pub fn random() -> SpanId {
        // The generator's low half is as random as its high half.
        SpanId((next_u128() as u64).max(1).to_be_bytes())
    }

    /// The id as 16 lowercase hex digits, without allocating.
    pub fn to_hex(self) -> Hex<16> {
        let mut digits = [0; 16];
        write_hex(&self.0, &mut digits);
        Hex(digits)
    }
}

/// An id written as `N` lowercase hex digits, on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex<const N: usize>([u8; N]);

impl<const N: usize> Hex<N> {
    /// The digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl<const N: usize> fmt::Display for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! display_as_hex {
    ($($id:ty),*) => {$(
        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.to_hex().as_str())
            }
        }

        impl fmt::Debug for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.to_hex().as_str())
            }
        }
    )*};
}

display_as_hex!(TraceId, SpanId);

/// A position in a distributed trace: see the [module docs](self).
#[derive(Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    sampled: Option<bool>,
    debug: bool,
    /// The normalized `tracestate`; `None` when empty (shared by children without a copy).
    trace_state: Option<Arc<str>>,
}

impl TraceContext {
    /// The context of span `span_id` in trace `trace_id`, with no parent, a deferred
    /// sampling decision and no `tracestate`; `None` if either id is invalid (all zero).
    pub fn new(trace_id: TraceId, span_id: SpanId) -> Option<TraceContext> {
        (trace_id.is_valid() && span_id.is_valid()).then_some(TraceContext {
            trace_id,
            span_id,
            parent_span_id: None,
            sampled: None,
            debug: false,
            trace_state: None,
        })
    }

    /// The first span of a new trace: random ids, no parent, sampling deferred.
    pub fn root() -> TraceContext {
        TraceContext::new(TraceId::random(), SpanId::random()).expect("random ids are nonzero")
    }

    /// A child span in the same trace, for a call made from this one: a new span id, this
    /// span as its parent, the same sampling decision and `tracestate`.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            span_id: SpanId::random(),
            parent_span_id: Some(self.span_id),
            trace_state: self.trace_state.clone(),
            ..*self
        }
    }

    /// This context with `parent` as the parent span (B3 carries it); an invalid one is
    /// none.
    pub fn with_parent_span_id(mut self, parent: Option<SpanId>) -> TraceContext {
        self.parent_span_id = parent.filter(|p| p.is_valid());
        self
    }

    /// This context with the sampling decision `sampled` (`None`: deferred).
    pub fn with_sampled(mut self, sampled: Option<bool>) -> TraceContext {
        self.sampled = sampled;
        self
    }

    /// This context with B3's debug flag set or cleared; debug implies sampled.
    pub fn with_debug(mut self, debug: bool) -> TraceContext {
        self.debug = debug;
        if debug {
            self.sampled = Some(true);
        }
        self
    }

    /// This context with the W3C `tracestate` list `state`, normalized; a list that is not
    /// valid (see the [module docs](self#formats)) or is empty leaves none.
    pub fn with_trace_state(mut self, state: &str) -> TraceContext {
        self.trace_state = w3c::parse_tracestate(&[state.as_bytes()]);
        self
    }

    /// The trace.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span this context is in.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The parent span, when known (B3 sends it; W3C does not).
    pub fn parent_span_id(&self) -> Option<SpanId> {
        self.parent_span_id
    }

    /// The sampling decision: `Some(true)` sampled, `Some(false)` not, `None` deferred.
    pub fn sampled(&self) -> Option<bool> {
        self.sampled
    }

    /// Whether B3's debug flag is set (the trace is sampled and must reach the collector).
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// The W3C `tracestate`, normalized (`key=value,key=value`); empty when there is none.
    pub fn trace_state(&self) -> &str {
        self.trace_state.as_deref().unwrap_or("")
    }

    /// Writes this context as the headers of `formats`, each a lowercase name and its value,
    /// in the order `traceparent`, `tracestate` (when not empty), `b3`, `x-b3-traceid`,
    /// `x-b3-spanid`, `x-b3-parentspanid` (with a parent), then `x-b3-sampled` or
    /// `x-b3-flags` (with a decision). Values are formatted on the stack.
    pub fn inject(&self, formats: Propagation, mut header: impl FnMut(&'static str, &str)) {
        if formats.contains(Propagation::W3C) {
            header(TRACEPARENT, w3c::format_traceparent(self).as_str());
            if let Some(state) = &self.trace_state {
                header(TRACESTATE, state);
            }
        }
        if formats.contains(Propagation::B3_SINGLE) {
            header(B3, b3::format_single(self).as_str());
        }
        if formats.contains(Propagation::B3_MULTI) {
            b3::inject_multi(self, &mut header);
        }
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("trace_id", &self.trace_id)
            .field("span_id", &self.span_id)
            .field("parent_span_id", &self.parent_span_id)
            .field("sampled", &self.sampled)
            .field("debug", &self.debug)
            .field("trace_state", &self.trace_state())
            .finish()
    }
}

/// The trace of a call made under `ctx`: a [child](TraceContext::child) of the context's
/// trace, or a new [root](TraceContext::root) when it has none.
pub fn child_of(ctx: &Context) -> TraceContext {
    ctx.trace()
        .map_or_else(TraceContext::root, TraceContext::child)
}

/// A set of header formats, for extraction and injection: see the [module docs](self).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Propagation(u8);

impl Propagation {
    /// No format: nothing extracted or injected.
    pub const NONE: Propagation = Propagation(0);
    /// W3C Trace Context: `traceparent` and `tracestate`.
    pub const W3C: Propagation = Propagation(1);
    /// B3's single header, `b3`.
    pub const B3_SINGLE: Propagation = Propagation(2);
    /// B3's multiple headers, `X-B3-*`.
    pub const B3_MULTI: Propagation = Propagation(4);
    /// Every format.
    pub const ALL: Propagation = Propagation(7);
    /// What kit's servers extract unless told otherwise: every format.
    pub const DEFAULT_EXTRACT: Propagation = Propagation::ALL;
    /// What kit's clients inject unless told otherwise: W3C and B3 multi headers.
    pub const DEFAULT_INJECT: Propagation = Propagation(1 | 4);

    /// Both sets' formats.
    pub const fn union(self, other: Propagation) -> Propagation {
        Propagation(self.0 | other.0)
    }

    /// Whether every format of `other` is in this set.
    pub const fn contains(self, other: Propagation) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set has no format.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Propagation {
    type Output = Propagation;

    fn bitor(self, other: Propagation) -> Propagation {
        self.union(other)
    }
}

impl fmt::Debug for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Propagation::W3C, "W3C"),
            (Propagation::B3_SINGLE, "B3_SINGLE"),
            (Propagation::B3_MULTI, "B3_MULTI"),
        ];
        let mut set = f.debug_set();
        for (format, name) in names {
            if self.contains(format) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// One header's values as seen so far: none, one, or several (which some headers allow).
#[derive(Clone, Copy, Default, Debug)]
enum Field<'a> {
    #[default]
    Absent,
    One(&'a [u8]),
    Repeated,
}

impl<'a> Field<'a> {
    fn offer(&mut self, value: &'a [u8]) {
        *self = match self {
            Field::Absent => Field::One(value),
            _ => Field::Repeated,
        };
    }

    /// The value, when the header came exactly once (trimmed of surrounding whitespace).
    fn once(self) -> Option<&'a [u8]> {
        match self {
            Field::One(value) => Some(value.trim_ascii()),
            _ => None,
        }
    }

    fn is_absent(self) -> bool {
        matches!(self, Field::Absent)
    }
}

/// The trace headers of one request, collected in one pass over its headers without
/// copying them; [`extract`](Incoming::extract) then reads the trace.
///
/// Offer every header (lowercase name, value) with [`offer`](Incoming::offer); names that
/// are not trace headers are skipped with a comparison or two, and nothing is allocated
/// unless `tracestate` comes in several fields.
#[derive(Default, Debug)]
pub struct Incoming<'a> {
    traceparent: Field<'a>,
    tracestate: Vec<&'a [u8]>,
    b3: Field<'a>,
    trace_id: Field<'a>,
    span_id: Field<'a>,
    parent_span_id: Field<'a>,
    sampled: Field<'a>,
    flags: Field<'a>,
    /// Whether any trace header was offered: most requests have none, and extracting
    /// nothing from nothing is one test.
    any: bool,
}

impl<'a> Incoming<'a> {
    /// Takes note of header `name` (lowercase, as HTTP/2 and gRPC metadata have it, and as
    /// the `http` crate stores every name) with `value`.
    pub fn offer(&mut self, name: &str, value: &'a [u8]) {
        // Most of a request's headers are told apart by their first letter, before any
        // comparison of whole names.
        if !matches!(name.as_bytes().first(), Some(b't' | b'b' | b'x')) {
            return;
        }
        let field = match name {
            TRACEPARENT => &mut self.traceparent,
            TRACESTATE => {
                self.tracestate.push(value);
                self.any = true;
                return;
            }
            B3 => &mut self.b3,
            X_B3_TRACEID => &mut self.trace_id,
            X_B3_SPANID => &mut self.span_id,
            X_B3_PARENTSPANID => &mut self.parent_span_id,
            X_B3_SAMPLED => &mut self.sampled,
            X_B3_FLAGS => &mut self.flags,
            _ => return,
        };
        field.offer(value);
        self.any = true;
    }

    /// The trace the headers carry in one of `formats`, by the precedence and rules of the
    /// [module docs](self#formats); `None` when none carries an acceptable one.
    pub fn extract(&self, formats: Propagation) -> Option<TraceContext> {
        if !self.any {
            return None;
        }
        if formats.contains(Propagation::W3C)
            && let Some(trace) = w3c::extract(self.traceparent.once(), &self.tracestate)
        {
            return Some(trace);
        }
        if formats.contains(Propagation::B3_SINGLE)
            && let Some(found) = self.b3.once().and_then(b3::parse_single)
        {
            return Some(found.into_context());
        }
        if formats.contains(Propagation::B3_MULTI) {
            return b3::extract_multi(self).map(b3::Found::into_context);
        }
        None
    }
}

#[cfg(test)]
mod tests;
