//! Durations written as Go writes them (`10s`, `1m30s`, `250ms`).

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Go's units, in nanoseconds; `µs` in both of its Unicode spellings (micro sign and Greek
/// mu), as Go accepts them.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3600 * NANOS_PER_SEC),
];

/// Fraction digits past these cannot change the result by a nanosecond, even in hours;
/// ignoring them keeps the arithmetic within `u128`.
const MAX_FRACTION_DIGITS: usize = 18;

/// Parses a duration the way Go's `time.ParseDuration` does, for flags that Go kit users
/// already write: one or more numbers, each with a unit (`ns`, `us` or `µs`, `ms`, `s`,
/// `m`, `h`), as in `10s`, `1.5s`, `1m30s`, `1h2m`, `300us`, or a bare `0`. An optional
/// leading `+` is accepted; negative durations are not (no flag wants one). Fractions are
/// exact to the nanosecond, and truncated below it, as Go does.
///
/// Use it as the value parser of a [`Duration`] flag:
///
/// ```
/// use std::time::Duration;
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Args {
///     /// How long a call may take.
///     #[arg(long, default_value = "1m30s", value_parser = kit_app::parse_duration)]
///     timeout: Duration,
/// }
///
/// assert_eq!(Args::parse_from(["svc"]).timeout, Duration::from_secs(90));
/// assert_eq!(kit_app::parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(
///     kit_app::parse_duration("10"),
///     Err(r#"invalid duration "10": missing unit after "10" (want e.g. 10s, 1m30s, 250ms)"#.into())
/// );
/// ```
///
/// # Errors
///
/// A message naming the input and what is wrong with it: an empty input, a negative
/// duration, a number without a unit or a unit without a number, an unknown unit, or a
/// duration too large for [`Duration`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("invalid duration {s:?}: {why} (want e.g. 10s, 1m30s, 250ms)");
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    if unsigned.starts_with('-') {
        return Err(bad("must not be negative"));
    }
    match unsigned {
        "" => return Err(bad("empty")),
        "0" => return Ok(Duration::ZERO),
        _ => {}
    }
    let too_large = || bad("too large");
    let mut nanos: u128 = 0;
    let mut rest = unsigned;
    while !rest.is_empty() {
        let (whole, after) = split_digits(rest);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => split_digits(after),
            None => ("", after),
        };
        let number = &rest[..rest.len() - after.len()];
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad(&format!("no number before {rest:?}")));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(bad(&format!("missing unit after {number:?}")));
        }
        let (_, per_unit) = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .ok_or_else(|| bad(&format!("unknown unit {unit:?}")))?;
        let whole: u128 = match whole {
            "" => 0,
            digits => digits.parse().map_err(|_| too_large())?,
        };
        let fraction = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS)];
        let fraction_nanos = match fraction {
            "" => 0,
            digits => {
                let scale = 10u128.pow(digits.len() as u32);
                digits.parse::<u128>().map_err(|_| too_large())? * per_unit / scale
            }
        };
        nanos = whole
            .checked_mul(*per_unit)
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(nanos))
            .ok_or_else(too_large)?;
        rest = after;
    }
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| too_large())?;
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).map_err(|_| too_large())?;
    Ok(Duration::new(secs, subsec))
}

/// The leading ASCII digits of `s`, and the rest.
fn split_digits(s: &str) -> (&str, &str) {
    s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_units() {
        for (s, want) in [
            ("10s", Duration::from_secs(10)),
            ("250ms", Duration::from_millis(250)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("300us", Duration::from_micros(300)),
            ("300\u{b5}s", Duration::from_micros(300)),
            ("300\u{3bc}s", Duration::from_micros(300)),
            ("42ns", Duration::from_nanos(42)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("+5s", Duration::from_secs(5)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
        ] {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn compound_forms_add_up() {
        for (s, want) in [
            ("1m30s", Duration::from_secs(90)),
            ("1h2m", Duration::from_secs(3720)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            ("1.5h10m", Duration::from_secs(6000)),
            ("2s500ms", Duration::from_millis(2500)),
        ] {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn fractions_are_exact_to_the_nanosecond() {
        // 0.1 has no exact binary form: a float would not give exactly 100 ms.
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.000000001s"), Ok(Duration::new(1, 1)));
        // Below a nanosecond, truncated.
        assert_eq!(parse_duration("1.9ns"), Ok(Duration::from_nanos(1)));
        assert_eq!(
            parse_duration("0.0000000000000000000001h"),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let want = " (want e.g. 10s, 1m30s, 250ms)";
        for (s, why) in [
            ("", "empty"),
            ("10", r#"missing unit after "10""#),
            ("1m30", r#"missing unit after "30""#),
            ("1.5", r#"missing unit after "1.5""#),
            ("5x", r#"unknown unit "x""#),
            ("1sec", r#"unknown unit "sec""#),
            ("soon", r#"no number before "soon""#),
            ("1h-5m", r#"unknown unit "h-""#),
            (".s", r#"no number before ".s""#),
            ("-1s", "must not be negative"),
            ("+-1s", "must not be negative"),
            ("18446744073709551616s", "too large"),
            ("9999999999999999999999999999999999999999h", "too large"),
        ] {
            assert_eq!(
                parse_duration(s),
                Err(format!("invalid duration {s:?}: {why}{want}")),
                "{s}"
            );
        }
    }

    #[test]
    fn the_largest_duration_parses() {
        let max = format!("{}s", u64::MAX);
        assert_eq!(parse_duration(&max), Ok(Duration::from_secs(u64::MAX)));
    }
}
