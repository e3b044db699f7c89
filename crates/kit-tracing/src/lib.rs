//! Logging setup for kit services, in Go kit's [logfmt].
//!
//! Go kit services log one `key=value` line per event, and the tooling around
//! kit (scripts, integration tests, people reading a terminal) expects the Rust
//! services to do the same: a test that starts a service reads its standard
//! error until it sees a line such as
//!
//! ```text
//! ts=2026-01-02T03:04:05.678901234Z level=info msg=listening transport=http addr=127.0.0.1:41234
//! ```
//!
//! The formatting is done by [`tracing_logfmt`] (0.3.7); this crate adds what
//! it lacks and sets it up:
//!
//! * [`init`] / [`try_init`] install the global subscriber: logfmt on standard
//!   error, no colours, filtered by `RUST_LOG` (or a default directive when
//!   `RUST_LOG` is unset);
//! * [`layer`] is the same formatter as a [`tracing_subscriber`] layer, to
//!   compose with other layers;
//! * [`builder`] is a [`tracing_logfmt::Builder`] set to kit's defaults, to
//!   turn on more of tracing-logfmt's fields (`target`, `location`, span names,
//!   thread ids...);
//! * [`Logfmt`] wraps tracing-logfmt's event formatter to write the message
//!   under Go kit's key, `msg`, instead of tracing's field name, `message`.
//! * with the `otel` feature, the `otel` module exports kit's request spans (and the
//!   service's own) over OTLP or to Zipkin, and `try_init_traced` installs
//!   logging and tracing together.
//!
//! # The format
//!
//! `ts` (RFC 3339, UTC, nanoseconds with trailing zeros dropped), `level`
//! (lowercase), then the event's fields in the order they were given (the
//! macros put the message first), then the fields of the current span and of
//! the spans it is in, outermost first, then, in a task serving a request, the
//! request's `request_id`, `transport`, `route` and `peer` (see
//! [`kit::request_scope`]). A value is quoted when it has a space,
//! an ASCII control character, `=` or `"`, and written bare otherwise, even
//! when empty (`key=`, as Go's logfmt encoder writes it). In quotes it is
//! escaped as Rust's [`str::escape_debug`] does (`\"`, `\\`, `\n`, `\t`,
//! `\u{1b}`...), so no value can start a new line or a new pair. Characters
//! that cannot be part of a key (spaces, controls, `=`, `"`) are dropped from
//! keys.
//!
//! # Why tracing-logfmt, and what changed
//!
//! Until this version kit carried its own 530-line formatter. tracing-logfmt
//! (checked at 0.3.7, released January 2026) is maintained, writes `ts`,
//! `level` and the fields in the same order with the same `level` names,
//! quotes values and drops key characters by the same rule as Go's logfmt
//! encoder (go-logfmt 0.6), and costs five small crates (`time`, `time-core`,
//! `deranged`, `powerfmt`, `num-conv`; its `ansi_logs` feature reuses the
//! `nu-ansi-term` that tracing-subscriber already builds). What it cannot do
//! is name the message `msg`: it always writes tracing's field name,
//! `message`, with no option to change it, and `msg=` is what Go kit writes
//! and what kit's scripts and tests look for (`grep -q "msg=listening"`).
//! [`Logfmt`] renames that key; everything else is tracing-logfmt's output.
//! Compared with the old formatter, lines differ in these ways:
//!
//! * `ts` has up to nine fraction digits (`…05.57895177Z`), not always six
//!   (`…05.578951Z`), and the time source cannot be replaced (the old
//!   `Logfmt::with_timer`); [`tracing_logfmt::Builder::with_timestamp`] can
//!   only leave `ts` out.
//! * An empty value is `key=` instead of `key=""`.
//! * Inside quotes, control characters other than `\n`, `\r` and `\t` are
//!   written `\u{1b}` and `\0` instead of `\u001b` and `\u0000` (go-logfmt's
//!   decoder, which reads JSON-style escapes, rejects the former), a single
//!   quote is written `\'`, and non-printable Unicode such as U+0085 or U+2028
//!   is written `\u{85}`, `\u{2028}`.
//! * Only space, ASCII control characters, `=` and `"` cause quoting. The old
//!   formatter also quoted for any other whitespace or control character (DEL,
//!   U+00A0, U+0085...); a value whose only special characters are those is
//!   now written bare, with the characters raw, as go-logfmt does (except that
//!   go-logfmt quotes DEL).
//! * A key loses the characters it cannot hold (`"a b"` becomes `ab`) instead
//!   of having them replaced with `_`; a key left empty (`" " = 1`) makes the
//!   whole event fail to format, and tracing-subscriber writes its
//!   `Unable to format the following event...` line instead.
//! * Span fields come from the span that is current when the event is logged,
//!   not from the event's own scope: an event with an explicit `parent:` gets
//!   the fields of the current span (none outside any span), not its parent's,
//!   and one with `parent: None` inside a span still gets that span's fields.
//! * A `message` field given in another position (`info!(a = 1, message =
//!   "x")`) is renamed where it is (`a=1 msg=x`) rather than moved first. The
//!   macros' message (`info!(a = 1, "x")`) is always the first field, so it
//!   still directly follows `level`.
//! * API: `Logfmt` is no longer generic over a timer and has no `with_target`
//!   or `with_timer`, and `LogfmtFields` is gone. Options are set on
//!   [`builder`] (tracing-logfmt's [`tracing_logfmt::Builder`]) and span fields
//!   are formatted by [`tracing_logfmt::FieldsFormatter`]. [`init`],
//!   [`try_init`], [`InitError`] and [`FILTER_ENV`] are unchanged.
//!
//! # Example
//!
//! ```
//! use tracing::{info, info_span};
//!
//! // In `main`: RUST_LOG wins when set, otherwise "info" applies.
//! kit_tracing::init("info");
//!
//! let _conn = info_span!("conn", peer = "10.0.0.7:5000").entered();
//! info!(transport = "http", addr = %"127.0.0.1:41234", "listening");
//! // stderr: ts=... level=info msg=listening transport=http addr=127.0.0.1:41234 peer=10.0.0.7:5000
//! ```
//!
//! To compose the formatter with other layers, or turn on more fields:
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("info"))
//!     .with(
//!         kit_tracing::builder()
//!             .with_target(true)
//!             .layer()
//!             .map_event_format(kit_tracing::Logfmt::new)
//!             .with_writer(std::io::stderr),
//!     );
//! tracing::subscriber::with_default(subscriber, || tracing::warn!(retries = 3, "slow backend"));
//! // stderr: ts=... level=warn target=<module path> msg="slow backend" retries=3
//! ```
//!
//! [logfmt]: https://brandur.org/logfmt

use std::error::Error;
use std::fmt::{self, Write as _};
use std::io;

use kit::request_scope::RequestScope;

mod json;
mod level;
#[cfg(feature = "otel")]
pub mod otel;

pub use json::{Json, JsonFields};
pub use level::{LevelError, level, set_level};

use tracing::{Event, Subscriber};
use tracing_logfmt::{EventsFormatter, FieldsFormatter};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

/// Name of the environment variable read by [`init`] and [`try_init`].
pub const FILTER_ENV: &str = "RUST_LOG";

/// Field name under which `tracing` stores an event's message, and the key
/// tracing-logfmt writes it under.
const MESSAGE_FIELD: &str = "message";

/// Key Go kit writes the message under.
const MESSAGE_KEY: &str = "msg";

/// Installs the kit logfmt subscriber as the global default, or panics: the same as
/// [`init_with`]`(Format::Logfmt, default_directive)`.
///
/// # Panics
///
/// When the directives do not parse or a global subscriber is already set;
/// use [`try_init`] to handle those cases.
pub fn init(default_directive: &str) {
    init_with(Format::Logfmt, default_directive);
}

/// Installs the kit logfmt subscriber as the global default: the same as
/// [`try_init_with`]`(Format::Logfmt, default_directive)`.
pub fn try_init(default_directive: &str) -> Result<(), InitError> {
    try_init_with(Format::Logfmt, default_directive)
}

/// Installs kit's subscriber writing `format` lines as the global default, or panics.
///
/// Events go to standard error, one line each, without ANSI colours. They are filtered by
/// the directives in `RUST_LOG` when that variable is set and not empty, otherwise by
/// `default_directive` (for example `"info"` or `"info,kit_http=debug"`); the filter can
/// be changed while the process runs with [`set_level`].
///
/// # Panics
///
/// When the directives do not parse or a global subscriber is already set;
/// use [`try_init_with`] to handle those cases.
pub fn init_with(format: Format, default_directive: &str) {
    if let Err(err) = try_init_with(format, default_directive) {
        panic!("kit_tracing::init failed: {err}");
    }
}

/// Installs kit's subscriber writing `format` lines as the global default.
///
/// Same as [`init_with`] but returns an error instead of panicking when `RUST_LOG`
/// (or, if it is unset, `default_directive`) is not a valid filter, or when a
/// global subscriber has already been installed.
pub fn try_init_with(format: Format, default_directive: &str) -> Result<(), InitError> {
    let from_env = std::env::var(FILTER_ENV).ok();
    let filter = build_filter(from_env.as_deref(), default_directive)?;
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        Format::Logfmt => tracing::subscriber::set_global_default(registry.with(layer())),
        Format::Json => tracing::subscriber::set_global_default(registry.with(json_layer())),
    };
    installed.map_err(|err| InitError(InitErrorKind::AlreadySet(err)))?;
    level::install(handle);
    Ok(())
}

/// Installs kit's subscriber writing `format` lines, with request tracing, as the global
/// default.
///
/// Log lines are as [`try_init_with`] writes them (the `RUST_LOG` or default filter,
/// changeable with [`set_level`]), and spans are recorded by `tracing`'s layer
/// ([`otel::Tracing::layer`]) with a filter of their own: the log level decides which lines
/// are written, not which spans are traced, so a service logging at `warn` is traced as
/// fully as one logging at `debug`.
///
/// The log lines do not show kit's server, client and internal spans (targets
/// [`kit::trace::span::SERVER_TARGET`], [`CLIENT_TARGET`](kit::trace::span::CLIENT_TARGET)
/// and [`INTERNAL_TARGET`](kit::trace::span::INTERNAL_TARGET)): the formatter never sees
/// them, so their fields (`http.request.method`, `url.path`...) are exported, not repeated
/// on every line logged inside them, and are not formatted at all; the request scope's
/// fields (`request_id`, `trace_id`...) are on the lines already.
///
/// # Errors
///
/// As [`try_init_with`].
#[cfg(feature = "otel")]
pub fn try_init_traced(
    format: Format,
    default_directive: &str,
    tracing: &otel::Tracing,
) -> Result<(), InitError> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{FilterExt as _, filter_fn};

    let from_env = std::env::var(FILTER_ENV).ok();
    let filter = build_filter(from_env.as_deref(), default_directive)?;
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let not_kit_spans = filter_fn(|meta| {
        !(meta.is_span()
            && matches!(
                meta.target(),
                kit::trace::span::SERVER_TARGET
                    | kit::trace::span::CLIENT_TARGET
                    | kit::trace::span::INTERNAL_TARGET
            ))
    });
    let lines = match format {
        Format::Logfmt => layer().boxed(),
        Format::Json => json_layer().boxed(),
    };
    let subscriber = tracing_subscriber::registry()
        .with(lines.with_filter(not_kit_spans.and(filter)))
        .with(tracing.layer());
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|err| InitError(InitErrorKind::AlreadySet(err)))?;
    level::install(handle);
    Ok(())
}

/// The layer that writes [`Format::Json`] lines on standard error: [`Json`] events with
/// [`JsonFields`] span fields. `.with_writer(...)` on the result sends them elsewhere.
pub fn json_layer<S>() -> tracing_subscriber::fmt::Layer<S, JsonFields, Json, fn() -> io::Stderr>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(JsonFields::default())
        .event_format(Json::default())
        .with_writer(io::stderr as fn() -> io::Stderr)
        .log_internal_errors(true)
}

/// How log lines are written: Go kit's logfmt or JSON lines.
///
/// Parses from (and displays as) `logfmt` and `json`, as a `--log-format` flag takes it.
///
/// ```
/// use kit_tracing::Format;
///
/// assert_eq!("json".parse::<Format>(), Ok(Format::Json));
/// assert_eq!(Format::Logfmt.to_string(), "logfmt");
/// assert!("xml".parse::<Format>().is_err());
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `ts=… level=info msg=… key=value`, Go kit's format ([`Logfmt`]).
    #[default]
    Logfmt,
    /// `{"ts":"…","level":"info","msg":"…","key":"value"}` ([`Json`]).
    Json,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Logfmt => "logfmt",
            Format::Json => "json",
        })
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "logfmt" => Ok(Format::Logfmt),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown log format {s:?}: expected logfmt or json")),
        }
    }
}

/// A [`tracing_logfmt::Builder`] with kit's defaults: `ts`, `level` and the
/// fields only (no `target`, `span` or `span_path`), and no colours.
///
/// Colours are switched off explicitly because tracing-logfmt turns them on
/// when standard output is a terminal as soon as any crate in the build
/// enables its `ansi_logs` feature, and only that feature lets them be
/// switched off.
///
/// Build a layer from it with
/// `.layer().map_event_format(kit_tracing::Logfmt::new)`; without the
/// [`Logfmt`] wrapper the message is written as `message=`.
pub fn builder() -> tracing_logfmt::Builder {
    tracing_logfmt::builder()
        .with_target(false)
        .with_span_name(false)
        .with_span_path(false)
        .with_ansi_color(false)
}

/// The layer [`init`] installs: kit's logfmt lines on standard error.
///
/// Use it to compose with other layers; `.with_writer(...)` on the result
/// sends the lines elsewhere. An event that cannot be formatted is replaced by
/// tracing-subscriber's `Unable to format the following event...` line rather
/// than dropped silently (the default of `tracing_subscriber::fmt()`, which
/// kit used before, not of a bare `fmt::Layer`).
pub fn layer<S>() -> tracing_subscriber::fmt::Layer<S, FieldsFormatter, Logfmt, fn() -> io::Stderr>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    builder()
        .layer()
        .map_event_format(Logfmt::new)
        .with_writer(io::stderr as fn() -> io::Stderr)
        .log_internal_errors(true)
}

/// Builds the filter: `from_env` when it is set and not blank, otherwise
/// `default_directive`.
fn build_filter(from_env: Option<&str>, default_directive: &str) -> Result<EnvFilter, InitError> {
    let (source, directives) = match from_env {
        Some(value) if !value.trim().is_empty() => (FILTER_ENV, value),
        _ => ("the default directive", default_directive),
    };
    EnvFilter::try_new(directives).map_err(|err| {
        InitError(InitErrorKind::Filter {
            source,
            directives: directives.to_owned(),
            err,
        })
    })
}

/// Error returned by [`try_init`].
#[derive(Debug)]
pub struct InitError(InitErrorKind);

#[derive(Debug)]
enum InitErrorKind {
    Filter {
        source: &'static str,
        directives: String,
        err: tracing_subscriber::filter::ParseError,
    },
    AlreadySet(tracing::subscriber::SetGlobalDefaultError),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            InitErrorKind::Filter {
                source,
                directives,
                err,
            } => write!(f, "invalid log filter {directives:?} in {source}: {err}"),
            InitErrorKind::AlreadySet(_) => {
                f.write_str("a global tracing subscriber is already set")
            }
        }
    }
}

impl Error for InitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.0 {
            InitErrorKind::Filter { err, .. } => Some(err),
            InitErrorKind::AlreadySet(err) => Some(err),
        }
    }
}

/// Event formatter: tracing-logfmt's [`EventsFormatter`], with the key
/// `message` written as `msg`, as Go kit writes it.
///
/// tracing-logfmt has no option to name the message key, so this formats
/// each line with it and renames the key on the way out. The rename relies on
/// tracing-logfmt's syntax (keys without spaces, `=` or `"`; values bare or
/// quoted with `"` and `\` escaped), so pair it with its
/// [`FieldsFormatter`], as [`layer`] does: span fields formatted otherwise
/// may be misread. Every pair whose key is `message` is renamed, in span
/// fields too; the text of values is never changed.
pub struct Logfmt {
    inner: EventsFormatter,
}

impl Logfmt {
    /// Wraps `inner`, for example one made by [`builder`] and taken out of
    /// its layer with `map_event_format(Logfmt::new)`.
    pub fn new(inner: EventsFormatter) -> Self {
        Logfmt { inner }
    }
}

impl fmt::Debug for Logfmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tracing-logfmt's formatter does not implement Debug.
        f.debug_struct("Logfmt").finish_non_exhaustive()
    }
}

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        RequestScope::with_current(|request| append_request_fields(&mut line, request))
            .unwrap_or(Ok(()))?;
        write_with_msg_key(&mut writer, &line)
    }
}

/// Adds the fields of the request being served (see [`kit::request_scope`]) at the end of
/// `line`, before its newline.
fn append_request_fields(line: &mut String, request: &RequestScope) -> fmt::Result {
    let newline = line.ends_with('\n');
    if newline {
        line.pop();
    }
    let mut value = String::new();
    request.for_each_field(|name, shown| {
        value.clear();
        write!(value, "{shown}")?;
        line.push(' ');
        line.push_str(name);
        line.push('=');
        write_logfmt_value(line, &value)
    })?;
    if newline {
        line.push('\n');
    }
    Ok(())
}

/// `value` as tracing-logfmt writes values (see [the format](crate#the-format)): bare, or
/// quoted and escaped when it has a space, a control character, `=` or `"`.
fn write_logfmt_value(out: &mut String, value: &str) -> fmt::Result {
    if value
        .chars()
        .any(|c| c == ' ' || c == '=' || c == '"' || c.is_ascii_control())
    {
        write!(out, "\"{}\"", value.escape_debug())
    } else {
        out.push_str(value);
        Ok(())
    }
}

/// Copies `line`, as written by tracing-logfmt, to `out` with every
/// `message` key written as `msg`.
///
/// The line is `key=value` pairs separated by single spaces and ended by a
/// newline. Keys hold no space, `=` or `"`; a value is either bare (no space,
/// no control character) or in double quotes with `"` and `\` escaped, so
/// each pair ends at the first space after its value.
fn write_with_msg_key<W: fmt::Write>(out: &mut W, line: &str) -> fmt::Result {
    let mut rest = line;
    while let Some((key, after_key)) = rest.split_once('=') {
        let value = &after_key[..value_len(after_key)];
        out.write_str(if key == MESSAGE_FIELD {
            MESSAGE_KEY
        } else {
            key
        })?;
        out.write_char('=')?;
        out.write_str(value)?;
        rest = &after_key[value.len()..];
        match rest.strip_prefix(' ') {
            Some(next) => {
                out.write_char(' ')?;
                rest = next;
            }
            None => break,
        }
    }
    // The newline, or whatever did not parse as pairs, unchanged.
    out.write_str(rest)
}

/// Length of the logfmt value at the start of `s`.
fn value_len(s: &str) -> usize {
    let Some(quoted) = s.strip_prefix('"') else {
        return s.find([' ', '\n']).unwrap_or(s.len());
    };
    let mut escaped = false;
    for (i, b) in quoted.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            // Both quotes included.
            b'"' => return i + 2,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renamed(line: &str) -> String {
        let mut out = String::new();
        write_with_msg_key(&mut out, line).unwrap();
        out
    }

    #[test]
    fn message_keys_become_msg() {
        assert_eq!(
            renamed("ts=2026-01-02T03:04:05Z level=info message=listening transport=http\n"),
            "ts=2026-01-02T03:04:05Z level=info msg=listening transport=http\n"
        );
        assert_eq!(
            renamed("level=info a=1 message=\"two words\" b= message=x\n"),
            "level=info a=1 msg=\"two words\" b= msg=x\n"
        );
    }

    #[test]
    fn values_are_copied_unchanged() {
        let lines = [
            "level=info note=\"a message=b\" path=C:\\tmp\n",
            "level=info note=\"x\\\" message=y\" k=v\n",
            "level=info note=\"ends in a backslash \\\\\" message=z\n",
            "level=info message_id=7 msg=already mymessage=1\n",
            "level=info empty= \n",
            "level=info\n",
            "",
        ];
        for line in lines {
            let expected = line.replace("\" message=z", "\" msg=z");
            assert_eq!(renamed(line), expected, "{line:?}");
        }
    }

    #[test]
    fn request_fields_go_before_the_newline_quoted_as_values_are() {
        let peer = "10.0.0.7:5000".parse().unwrap();
        let request = RequestScope::new("a=b\"c".into(), "http", "GET /x y".into(), Some(peer));
        let mut line = String::from("level=info message=hi\n");
        append_request_fields(&mut line, &request).unwrap();
        assert_eq!(
            line,
            "level=info message=hi request_id=\"a=b\\\"c\" transport=http \
             route=\"GET /x y\" peer=10.0.0.7:5000\n"
        );
        let request = RequestScope::new("plain".into(), "grpc", String::new(), None);
        let mut line = String::from("level=info");
        append_request_fields(&mut line, &request).unwrap();
        assert_eq!(line, "level=info request_id=plain transport=grpc");
    }

    #[test]
    fn value_len_finds_the_end_of_the_value() {
        assert_eq!(value_len("abc def"), 3);
        assert_eq!(value_len("abc\n"), 3);
        assert_eq!(value_len("abc"), 3);
        assert_eq!(value_len(" next=1"), 0);
        assert_eq!(value_len(r#""a b" c=d"#), 5);
        assert_eq!(value_len(r#""a\" b" c=d"#), 7);
        assert_eq!(value_len(r#""a\\" b=" c=d"#), 5);
        assert_eq!(value_len(r#""unterminated"#), 13);
    }

    #[test]
    fn filter_prefers_non_blank_env() {
        assert!(build_filter(Some("debug"), "info").is_ok());
        let err = build_filter(Some("kit=notalevel"), "info").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("RUST_LOG"), "{text}");
        assert!(text.contains("kit=notalevel"), "{text}");
        assert!(err.source().is_some());
        // Blank or unset: the default applies, and its errors name it.
        assert!(build_filter(Some("  "), "info").is_ok());
        let err = build_filter(None, "kit=notalevel").unwrap_err();
        assert!(err.to_string().contains("default directive"), "{err}");
    }
}
