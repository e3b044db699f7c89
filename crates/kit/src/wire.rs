//! Wire formats shared by the transports.
//!
//! Deadlines travel as a relative timeout, never as an absolute time, so that clock skew
//! between hosts does not matter. kit uses gRPC's `grpc-timeout` syntax for it on every
//! transport (gRPC sends it as `grpc-timeout`, the HTTP and JSON-RPC transports as
//! `kit-timeout`): at most eight digits followed by a unit, `H` hours, `M` minutes, `S`
//! seconds, `m` milliseconds, `u` microseconds or `n` nanoseconds.
//!
//! ```
//! use std::time::Duration;
//! use kit::wire::{format_timeout, parse_timeout};
//!
//! assert_eq!(format_timeout(Duration::from_millis(1500)), "1500000u");
//! assert_eq!(parse_timeout("1500m"), Some(Duration::from_millis(1500)));
//! assert_eq!(parse_timeout("soon"), None);
//! ```

use std::time::Duration;

/// The largest number a timeout may carry: eight decimal digits.
const MAX_DIGITS_VALUE: u128 = 99_999_999;

/// Formats `timeout` in the finest unit whose value fits in eight digits (rounding up, so a
/// deadline is never sent as earlier than zero nor later than it is by more than a unit).
pub fn format_timeout(timeout: Duration) -> String {
    let nanos = timeout.as_nanos();
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (per_unit, unit) in UNITS {
        let value = nanos.div_ceil(per_unit);
        if value <= MAX_DIGITS_VALUE {
            return format!("{value}{unit}");
        }
    }
    format!("{MAX_DIGITS_VALUE}H")
}

/// Parses a timeout in the `grpc-timeout` syntax; `None` if it is malformed.
pub fn parse_timeout(value: &str) -> Option<Duration> {
    let digits = value.get(..value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match value.as_bytes()[value.len() - 1] {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_finest_unit_that_fits() {
        assert_eq!(format_timeout(Duration::ZERO), "0n");
        assert_eq!(
            format_timeout(Duration::from_nanos(99_999_999)),
            "99999999n"
        );
        assert_eq!(format_timeout(Duration::from_millis(100)), "100000u");
        assert_eq!(format_timeout(Duration::from_secs(30)), "30000000u");
        assert_eq!(format_timeout(Duration::from_secs(100_000)), "100000S");
        assert_eq!(format_timeout(Duration::from_secs(u64::MAX)), "99999999H");
        // Rounds up rather than sending a shorter deadline than the caller has.
        assert_eq!(format_timeout(Duration::from_nanos(100_000_001)), "100001u");
    }

    #[test]
    fn parses_every_unit_and_round_trips() {
        for (text, d) in [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("4S", Duration::from_secs(4)),
            ("5m", Duration::from_millis(5)),
            ("6u", Duration::from_micros(6)),
            ("7n", Duration::from_nanos(7)),
        ] {
            assert_eq!(parse_timeout(text), Some(d), "{text}");
        }
        for d in [
            Duration::from_millis(1),
            Duration::from_secs(42),
            Duration::from_nanos(123),
        ] {
            assert_eq!(parse_timeout(&format_timeout(d)), Some(d));
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "m",
            "10",
            "123456789m",
            "1.5S",
            "-1S",
            "10s",
            "1 S",
            "１S",
        ] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }
}
