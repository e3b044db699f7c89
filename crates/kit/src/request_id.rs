//! Request ids: one id per request, the same in every service it passes through.
//!
//! kit's servers give every call a request id: the caller's, from the `X-Request-Id` header
//! (HTTP, JSON-RPC) or the `x-request-id` metadata (gRPC), when it sent an acceptable one,
//! else a new one from [`generate`]. The server puts it in the call's [`Context`] as
//! *propagated* metadata under [`KEY`], so that every kit client called with that context
//! sends it on, echoes it on the response, and logs it with every line written while the
//! call runs (`request_id=...`).
//!
//! An id comes from the client, so it is checked before it is trusted ([`is_acceptable`]):
//! at most [`MAX_LEN`] bytes of visible ASCII. Anything else (control characters that could
//! forge log lines, spaces, non-ASCII, an empty or overlong value) is replaced by a new id.
//!
//! ```
//! use kit::{request_id, Context};
//!
//! let ctx = Context::background().with_propagated(request_id::KEY, "abc-123");
//! assert_eq!(request_id::of(&ctx), Some("abc-123"));
//! assert!(request_id::is_acceptable("abc-123"));
//! assert!(!request_id::is_acceptable("x\nlevel=error"));
//! assert_eq!(request_id::generate().len(), 32);
//! ```

use crate::Context;

/// The header (HTTP) and metadata key (gRPC) of the request id, and its key in the context.
pub const KEY: &str = "x-request-id";

/// The longest request id accepted from a client, in bytes.
pub const MAX_LEN: usize = 128;

/// Whether `id` is acceptable as a request id from a client: 1 to [`MAX_LEN`] bytes, each
/// a visible ASCII character (`!` to `~`), so that it cannot break a log line or a header.
pub fn is_acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A new request id: 32 lowercase hex digits, unique within the process (a counter) and
/// unpredictable across processes (keyed by the process's random hash keys).
pub fn generate() -> String {
    let mut digits = [0u8; 32];
    crate::random::write_hex(&crate::random::next_u128().to_be_bytes(), &mut digits);
    std::str::from_utf8(&digits)
        .expect("hex digits are ASCII")
        .to_owned()
}

/// The request id of the call `ctx` belongs to, if a server (or the caller) set one.
pub fn of(ctx: &Context) -> Option<&str> {
    ctx.metadata(KEY)
}

/// The id to use for a request that came with `given` (the header's or metadata's value,
/// if any): `given` itself when it is [acceptable](is_acceptable), else a new one.
pub fn accept(given: Option<&str>) -> String {
    match given {
        Some(id) if is_acceptable(id) => id.to_owned(),
        _ => generate(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids() {
        let longest = "a".repeat(MAX_LEN);
        for id in ["1", "abc-DEF_0.9:~/+=", longest.as_str(), "{\"x\"}"] {
            assert!(is_acceptable(id), "{id:?}");
        }
        let overlong = "a".repeat(MAX_LEN + 1);
        for id in [
            "",
            "a b",
            "a\nb",
            "a\u{1b}[2J",
            "é",
            "a\tb",
            "\u{7f}",
            overlong.as_str(),
        ] {
            assert!(!is_acceptable(id), "{id:?}");
        }
    }

    #[test]
    fn generated_ids_are_distinct_hex_and_acceptable() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(is_acceptable(id));
        }
    }

    #[test]
    fn accept_keeps_good_ids_and_replaces_bad_ones() {
        assert_eq!(accept(Some("req-1")), "req-1");
        for bad in [None, Some(""), Some("x\nlevel=error msg=forged")] {
            let id = accept(bad);
            assert_eq!(id.len(), 32, "{bad:?} gave {id:?}");
        }
    }
}
