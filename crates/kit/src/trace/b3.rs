//! Zipkin's B3: the single `b3` header and the `X-B3-*` headers.

use super::w3c::parse_hex;
use super::{
    Incoming, SpanId, TraceContext, TraceId, X_B3_FLAGS, X_B3_PARENTSPANID, X_B3_SAMPLED,
    X_B3_SPANID, X_B3_TRACEID,
};
use crate::random::write_hex;

/// What B3 headers carry: a trace, or a sampling decision alone.
pub(super) enum Found {
    Trace(TraceContext),
    Decision { sampled: bool, debug: bool },
}

impl Found {
    /// The trace; a decision alone starts a new trace with it.
    pub(super) fn into_context(self) -> TraceContext {
        match self {
            Found::Trace(trace) => trace,
            Found::Decision { sampled, debug } => TraceContext::root()
                .with_sampled(Some(sampled))
                .with_debug(debug),
        }
    }
}

/// A 64-bit (left-padded with zeros) or 128-bit trace id.
pub(super) fn parse_trace_id(digits: &[u8]) -> Option<TraceId> {
    let id = match digits.len() {
        16 => {
            let mut bytes = [0; 16];
            bytes[8..].copy_from_slice(&parse_hex::<8>(digits)?);
            TraceId(bytes)
        }
        _ => TraceId(parse_hex(digits)?),
    };
    id.is_valid().then_some(id)
}

pub(super) fn parse_span_id(digits: &[u8]) -> Option<SpanId> {
    Some(SpanId(parse_hex(digits)?)).filter(|id| id.is_valid())
}

/// A `b3` header's value.
pub(super) fn parse_single(value: &[u8]) -> Option<Found> {
    let mut fields = value.split(|&b| b == b'-');
    let first = fields.next()?;
    let Some(span) = fields.next() else {
        // The sampling state alone.
        return match first {
            b"0" => Some(Found::Decision {
                sampled: false,
                debug: false,
            }),
            b"1" => Some(Found::Decision {
                sampled: true,
                debug: false,
            }),
            b"d" => Some(Found::Decision {
                sampled: true,
                debug: true,
            }),
            _ => None,
        };
    };
    let mut trace = TraceContext::new(parse_trace_id(first)?, parse_span_id(span)?)?;
    if let Some(state) = fields.next() {
        trace = match state {
            b"0" => trace.with_sampled(Some(false)),
            b"1" => trace.with_sampled(Some(true)),
            b"d" => trace.with_debug(true),
            _ => return None,
        };
        if let Some(parent) = fields.next() {
            trace = trace.with_parent_span_id(Some(parse_span_id(parent)?));
        }
    }
    fields.next().is_none().then_some(Found::Trace(trace))
}

/// The `X-B3-*` headers of `incoming`, when they carry a trace or a decision; each header
/// must come once.
pub(super) fn extract_multi(incoming: &Incoming<'_>) -> Option<Found> {
    let sampled = match incoming.sampled {
        field if field.is_absent() => None,
        field => match field.once()? {
            b"1" | b"true" => Some(true),
            b"0" | b"false" => Some(false),
            _ => return None,
        },
    };
    // Debug is `1`; any other value is ignored.
    let debug = incoming.flags.once() == Some(b"1");
    if incoming.trace_id.is_absent() && incoming.span_id.is_absent() {
        return match (sampled, debug) {
            (_, true) => Some(Found::Decision {
                sampled: true,
                debug: true,
            }),
            (Some(sampled), false) => Some(Found::Decision {
                sampled,
                debug: false,
            }),
            (None, false) => None,
        };
    }
    let trace_id = parse_trace_id(incoming.trace_id.once()?)?;
    let span_id = parse_span_id(incoming.span_id.once()?)?;
    let parent = match incoming.parent_span_id {
        field if field.is_absent() => None,
        field => Some(parse_span_id(field.once()?)?),
    };
    let trace = TraceContext::new(trace_id, span_id)?
        .with_parent_span_id(parent)
        .with_sampled(sampled)
        .with_debug(debug);
    Some(Found::Trace(trace))
}

/// The longest `b3` value: 128-bit trace id, span id, sampling state, parent span id.
const SINGLE_MAX: usize = 32 + 1 + 16 + 1 + 1 + 1 + 16;

/// A `b3` value, on the stack.
pub(super) struct Single {
    bytes: [u8; SINGLE_MAX],
    len: usize,
}

impl Single {
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("b3 values are ASCII")
    }
}

/// `b3` for `trace`: the 128-bit trace id, the span id, then the sampling state when decided
/// and the parent after it (the format has no place for a parent without a state).
pub(super) fn format_single(trace: &TraceContext) -> Single {
    let mut bytes = [b'-'; SINGLE_MAX];
    write_hex(&trace.trace_id.0, &mut bytes[..32]);
    write_hex(&trace.span_id.0, &mut bytes[33..49]);
    let mut len = 49;
    if let Some(state) = sampling_state(trace) {
        bytes[50] = state;
        len = 51;
        if let Some(parent) = trace.parent_span_id {
            write_hex(&parent.0, &mut bytes[52..68]);
            len = 68;
        }
    }
    Single { bytes, len }
}

fn sampling_state(trace: &TraceContext) -> Option<u8> {
    match (trace.debug, trace.sampled) {
        (true, _) => Some(b'd'),
        (false, Some(true)) => Some(b'1'),
        (false, Some(false)) => Some(b'0'),
        (false, None) => None,
    }
}

/// The `X-B3-*` headers for `trace`: debug as `X-B3-Flags: 1` without `X-B3-Sampled`.
pub(super) fn inject_multi(trace: &TraceContext, header: &mut impl FnMut(&'static str, &str)) {
    header(X_B3_TRACEID, trace.trace_id.to_hex().as_str());
    header(X_B3_SPANID, trace.span_id.to_hex().as_str());
    if let Some(parent) = trace.parent_span_id {
        header(X_B3_PARENTSPANID, parent.to_hex().as_str());
    }
    match sampling_state(trace) {
        Some(b'd') => header(X_B3_FLAGS, "1"),
        Some(b'1') => header(X_B3_SAMPLED, "1"),
        Some(_) => header(X_B3_SAMPLED, "0"),
        None => {}
    }
}
