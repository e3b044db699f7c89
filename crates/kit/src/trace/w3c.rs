//! W3C Trace Context Level 1: `traceparent` and `tracestate`.

use std::sync::Arc;

use super::{Hex, MAX_TRACE_STATE, MAX_TRACE_STATE_MEMBERS, SpanId, TraceContext, TraceId};
use crate::random::write_hex;

/// The trace of a request's `traceparent` (its one value, if it came once) and `tracestate`
/// fields; `None` when the `traceparent` is absent or invalid.
pub(super) fn extract(traceparent: Option<&[u8]>, tracestate: &[&[u8]]) -> Option<TraceContext> {
    let (trace_id, span_id, flags) = parse_traceparent(traceparent?)?;
    let mut trace = TraceContext::new(trace_id, span_id)?.with_sampled(Some(flags & 1 == 1));
    if !tracestate.is_empty() {
        trace.trace_state = parse_tracestate(tracestate);
    }
    Some(trace)
}

/// A `traceparent` value's trace id, parent (span) id and flags.
pub(super) fn parse_traceparent(value: &[u8]) -> Option<(TraceId, SpanId, u8)> {
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let [version] = parse_hex::<1>(&value[..2])?;
    let rest_ok = match version {
        0xff => false,
        0 => value.len() == 55,
        // A later version: its first four fields are read, and what follows them (if
        // anything) is a new field.
        _ => value.len() == 55 || value[55] == b'-',
    };
    if !rest_ok {
        return None;
    }
    let trace_id = TraceId(parse_hex(&value[3..35])?);
    let span_id = SpanId(parse_hex(&value[36..52])?);
    let [flags] = parse_hex::<1>(&value[53..55])?;
    (trace_id.is_valid() && span_id.is_valid()).then_some((trace_id, span_id, flags))
}

/// `N` bytes from `2 * N` lowercase hex digits.
pub(super) fn parse_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(bytes)
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// `traceparent` for `trace`: version `00`, sampled flag set when sampled (or debug).
pub(super) fn format_traceparent(trace: &TraceContext) -> Hex<55> {
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
    write_hex(&trace.trace_id.0, &mut out[3..35]);
    write_hex(&trace.span_id.0, &mut out[36..52]);
    if trace.sampled == Some(true) {
        out[54] = b'1';
    }
    Hex(out)
}

/// The `tracestate` list made of `fields` (a header's fields, in order), normalized to
/// `key=value,key=value`; `None` when it is invalid, empty or longer than
/// [`MAX_TRACE_STATE`].
pub(super) fn parse_tracestate(fields: &[&[u8]]) -> Option<Arc<str>> {
    let mut members: Vec<(&[u8], &[u8])> = Vec::new();
    let mut len = 0;
    for member in fields.iter().flat_map(|field| field.split(|&b| b == b',')) {
        let member = member.trim_ascii();
        if member.is_empty() {
            continue;
        }
        let eq = member.iter().position(|&b| b == b'=')?;
        let (key, value) = (&member[..eq], &member[eq + 1..]);
        if !valid_key(key) || !valid_value(value) || members.iter().any(|(k, _)| *k == key) {
            return None;
        }
        len += usize::from(!members.is_empty()) + member.len();
        members.push((key, value));
    }
    if members.is_empty() || members.len() > MAX_TRACE_STATE_MEMBERS || len > MAX_TRACE_STATE {
        return None;
    }
    let mut out = String::with_capacity(len);
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Checked above: keys and values are ASCII.
        out.push_str(std::str::from_utf8(key).ok()?);
        out.push('=');
        out.push_str(std::str::from_utf8(value).ok()?);
    }
    Some(out.into())
}

/// A key character after the first: `a`-`z`, `0`-`9`, `_`, `-`, `*`, `/`.
fn key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
}

/// A simple key (a lowercase letter, then up to 255 key characters) or a multi-tenant key
/// (`tenant@system`: a lowercase letter or digit then up to 240 key characters, `@`, a
/// lowercase letter then up to 13 key characters).
fn valid_key(key: &[u8]) -> bool {
    let rest_ok = |part: &[u8], max: usize| part.len() <= max && part.iter().all(|&b| key_char(b));
    match key.iter().position(|&b| b == b'@') {
        None => {
            matches!(key, [first, rest @ ..] if first.is_ascii_lowercase() && rest_ok(rest, 255))
        }
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            matches!(tenant, [first, rest @ ..]
                if (first.is_ascii_lowercase() || first.is_ascii_digit()) && rest_ok(rest, 240))
                && matches!(system, [first, rest @ ..]
                    if first.is_ascii_lowercase() && rest_ok(rest, 13))
        }
    }
}

/// 1 to 256 printable ASCII characters other than `,` and `=`, the last not a space.
fn valid_value(value: &[u8]) -> bool {
    matches!(value.last(), Some(&last) if last != b' ')
        && value.len() <= 256
        && value
            .iter()
            .all(|&b| (b' '..=b'~').contains(&b) && b != b',' && b != b'=')
}
