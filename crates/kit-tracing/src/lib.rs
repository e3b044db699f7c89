//! Logging setup for kit services, in [logfmt].
//!
//! Go kit services log one `key=value` line per event, and the tooling around
//! kit (scripts, integration tests, people reading a terminal) expects the Rust
//! services to do the same: a test that starts a service reads its standard
//! error until it sees a line such as
//!
//! ```text
//! ts=2026-01-02T03:04:05.678901Z level=info msg=listening transport=http addr=127.0.0.1:41234
//! ```
//!
//! This crate provides the pieces for that on top of [`tracing_subscriber`]:
//!
//! * [`Logfmt`], an event formatter ([`FormatEvent`]) writing `ts`, `level`,
//!   `msg`, the event's fields and then the fields of the spans the event is in;
//! * [`LogfmtFields`], a field formatter ([`FormatFields`]) so that span fields
//!   are recorded in the same syntax;
//! * [`init`] / [`try_init`], which install both as the global subscriber,
//!   writing to standard error without colours and filtering with `RUST_LOG`
//!   (or a default directive when `RUST_LOG` is unset).
//!
//! Values are written bare when that is unambiguous and in double quotes
//! otherwise: an empty value, or one with a space, `=`, `"` or a control
//! character, is quoted with `"` and `\` escaped and control characters
//! written as `\n`, `\r`, `\t` or `\u00XX`.
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
//! To compose the formatter with other layers, plug it into a
//! `tracing_subscriber::fmt` builder yourself:
//!
//! ```
//! use kit_tracing::{Logfmt, LogfmtFields};
//!
//! let subscriber = tracing_subscriber::fmt()
//!     .with_ansi(false)
//!     .with_writer(std::io::stderr)
//!     .fmt_fields(LogfmtFields::new())
//!     .event_format(Logfmt::new().with_target(true))
//!     .finish();
//! tracing::subscriber::with_default(subscriber, || tracing::warn!(retries = 3, "slow backend"));
//! ```
//!
//! [logfmt]: https://brandur.org/logfmt

use std::error::Error;
use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Name of the environment variable read by [`init`] and [`try_init`].
pub const FILTER_ENV: &str = "RUST_LOG";

/// Field name under which `tracing` stores an event's message.
const MESSAGE_FIELD: &str = "message";

/// Key the message is written under.
const MESSAGE_KEY: &str = "msg";

/// Installs the kit logfmt subscriber as the global default, or panics.
///
/// Events go to standard error, one logfmt line each, without ANSI colours.
/// They are filtered by the directives in `RUST_LOG` when that variable is set
/// and not empty, otherwise by `default_directive` (for example `"info"` or
/// `"info,kit_http=debug"`).
///
/// # Panics
///
/// When the directives do not parse or a global subscriber is already set;
/// use [`try_init`] to handle those cases.
pub fn init(default_directive: &str) {
    if let Err(err) = try_init(default_directive) {
        panic!("kit_tracing::init failed: {err}");
    }
}

/// Installs the kit logfmt subscriber as the global default.
///
/// Same as [`init`] but returns an error instead of panicking when `RUST_LOG`
/// (or, if it is unset, `default_directive`) is not a valid filter, or when a
/// global subscriber has already been installed.
pub fn try_init(default_directive: &str) -> Result<(), InitError> {
    let from_env = std::env::var(FILTER_ENV).ok();
    let filter = build_filter(from_env.as_deref(), default_directive)?;
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .fmt_fields(LogfmtFields::new())
        .event_format(Logfmt::new())
        .with_env_filter(filter)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|err| InitError(InitErrorKind::AlreadySet(err)))
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

/// Event formatter writing one logfmt line per event.
///
/// The line is `ts=<time> level=<level> msg=<message> <event fields...>
/// <span fields...>` followed by `\n`:
///
/// * `ts` is written by the timer, by default [`SystemTime`], an RFC 3339 UTC
///   timestamp with microseconds (`2026-01-02T03:04:05.678901Z`). A timer that
///   writes nothing (such as `()`) leaves `ts` out.
/// * `level` is lowercase: `trace`, `debug`, `info`, `warn` or `error`.
/// * `target=<module path>` follows `level` when enabled with
///   [`with_target`](Logfmt::with_target) (off by default).
/// * `msg` is left out when the event has no message.
/// * The fields of the spans the event is in follow the event's own fields,
///   outermost span first. They are copied as recorded by the subscriber's
///   field formatter, so pair this with [`LogfmtFields`] to keep them logfmt.
#[derive(Debug, Clone)]
pub struct Logfmt<T = SystemTime> {
    timer: T,
    display_target: bool,
}

impl Logfmt {
    /// A formatter with the [`SystemTime`] timer and no `target` field.
    pub fn new() -> Self {
        Logfmt {
            timer: SystemTime,
            display_target: false,
        }
    }
}

impl Default for Logfmt {
    fn default() -> Self {
        Logfmt::new()
    }
}

impl<T> Logfmt<T> {
    /// Whether to write a `target=<module path>` field after `level`.
    pub fn with_target(self, display_target: bool) -> Self {
        Logfmt {
            display_target,
            ..self
        }
    }

    /// Uses `timer` for the `ts` field; `()` leaves the field out.
    pub fn with_timer<T2: FormatTime>(self, timer: T2) -> Logfmt<T2> {
        Logfmt {
            timer,
            display_target: self.display_target,
        }
    }
}

impl<S, N, T> FormatEvent<S, N> for Logfmt<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut scratch = String::new();

        self.timer.format_time(&mut Writer::new(&mut scratch))?;
        if !scratch.is_empty() {
            writer.write_str("ts=")?;
            write_value(&mut writer, &scratch)?;
            writer.write_char(' ')?;
        }

        writer.write_str("level=")?;
        writer.write_str(level_str(meta.level()))?;

        if self.display_target {
            writer.write_str(" target=")?;
            write_value(&mut writer, meta.target())?;
        }

        scratch.clear();
        let mut message = MessageVisitor {
            message: &mut scratch,
            found: false,
        };
        event.record(&mut message);
        if message.found {
            writer.write_char(' ')?;
            writer.write_str(MESSAGE_KEY)?;
            writer.write_char('=')?;
            write_value(&mut writer, &scratch)?;
        }

        let mut fields = FieldVisitor::new(&mut writer, true, true);
        event.record(&mut fields);
        fields.finish()?;

        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(formatted) = extensions.get::<FormattedFields<N>>()
                    && !formatted.fields.is_empty()
                {
                    writer.write_char(' ')?;
                    writer.write_str(&formatted.fields)?;
                }
            }
        }

        writer.write_char('\n')
    }
}

/// Field formatter recording fields as space-separated logfmt `key=value`
/// pairs, quoted like [`Logfmt`] quotes them.
///
/// A field named `message` is written as `msg`. Use it as the subscriber's
/// field formatter (`fmt_fields`) so that span fields, which [`Logfmt`] copies
/// into each line, use the same syntax as event fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogfmtFields {
    _private: (),
}

impl LogfmtFields {
    /// Creates the field formatter.
    pub const fn new() -> Self {
        LogfmtFields { _private: () }
    }
}

impl<'writer> FormatFields<'writer> for LogfmtFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = FieldVisitor::new(&mut writer, false, false);
        fields.record(&mut visitor);
        visitor.finish()
    }
}

/// Lowercase level name, as Go kit's `level` package writes it.
fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Collects the `message` field of an event as text.
struct MessageVisitor<'a> {
    message: &'a mut String,
    found: bool,
}

impl Visit for MessageVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == MESSAGE_FIELD {
            self.message.push_str(value);
            self.found = true;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == MESSAGE_FIELD {
            // Writing into a String only fails if `value`'s Debug impl fails;
            // keep whatever it produced.
            let _ = write!(self.message, "{value:?}");
            self.found = true;
        }
    }
}

/// Writes visited fields as ` key=value` pairs.
struct FieldVisitor<'a, W> {
    writer: &'a mut W,
    /// Whether the next pair needs a space before it.
    need_space: bool,
    /// Whether to skip the `message` field (already written by [`Logfmt`]).
    skip_message: bool,
    /// Reused buffer for `Debug`-formatted values.
    scratch: String,
    result: fmt::Result,
}

impl<'a, W: fmt::Write> FieldVisitor<'a, W> {
    fn new(writer: &'a mut W, need_space: bool, skip_message: bool) -> Self {
        FieldVisitor {
            writer,
            need_space,
            skip_message,
            scratch: String::new(),
            result: Ok(()),
        }
    }

    fn pair(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        self.result = self.write_pair(field.name(), value);
    }

    fn write_pair(&mut self, name: &str, value: &str) -> fmt::Result {
        if self.need_space {
            self.writer.write_char(' ')?;
        }
        self.need_space = true;
        if name == MESSAGE_FIELD {
            self.writer.write_str(MESSAGE_KEY)?;
        } else {
            write_key(self.writer, name)?;
        }
        self.writer.write_char('=')?;
        write_value(self.writer, value)
    }

    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl<W: fmt::Write> Visit for FieldVisitor<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.skip_message && field.name() == MESSAGE_FIELD {
            return;
        }
        self.pair(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.skip_message && field.name() == MESSAGE_FIELD {
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        if write!(scratch, "{value:?}").is_err() {
            self.result = Err(fmt::Error);
        } else {
            self.pair(field, &scratch);
        }
        self.scratch = scratch;
    }
}

/// Whether `value` must be quoted to read back as one logfmt value.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c == '=' || c == '"' || c.is_whitespace() || c.is_control())
}

/// Writes `value` bare when possible, else quoted and escaped.
fn write_value<W: fmt::Write + ?Sized>(w: &mut W, value: &str) -> fmt::Result {
    if !needs_quotes(value) {
        return w.write_str(value);
    }
    w.write_char('"')?;
    let mut rest = value;
    // Copy runs of plain characters in one go, escaping the rest.
    while let Some(pos) = rest.find(|c: char| c == '"' || c == '\\' || c.is_control()) {
        w.write_str(&rest[..pos])?;
        let c = rest[pos..].chars().next().unwrap_or_default();
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            other => write!(w, "\\u{:04x}", u32::from(other))?,
        }
        rest = &rest[pos + c.len_utf8()..];
    }
    w.write_str(rest)?;
    w.write_char('"')
}

/// Writes a field name as a logfmt key, replacing characters that would make
/// the pair ambiguous with `_`.
fn write_key<W: fmt::Write + ?Sized>(w: &mut W, name: &str) -> fmt::Result {
    if name.is_empty() {
        return w.write_char('_');
    }
    if !needs_quotes(name) {
        return w.write_str(name);
    }
    for c in name.chars() {
        if c == '=' || c == '"' || c.is_whitespace() || c.is_control() {
            w.write_char('_')?;
        } else {
            w.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> String {
        let mut out = String::new();
        write_value(&mut out, v).unwrap();
        out
    }

    fn key(k: &str) -> String {
        let mut out = String::new();
        write_key(&mut out, k).unwrap();
        out
    }

    #[test]
    fn bare_values_stay_bare() {
        assert_eq!(value("listening"), "listening");
        assert_eq!(value("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(value("a\\b"), "a\\b");
        assert_eq!(value("héllo"), "héllo");
    }

    #[test]
    fn values_needing_quotes_are_quoted_and_escaped() {
        assert_eq!(value(""), r#""""#);
        assert_eq!(value("two words"), r#""two words""#);
        assert_eq!(value("a=b"), r#""a=b""#);
        assert_eq!(value(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(value("l1\nl2\tx\r"), r#""l1\nl2\tx\r""#);
        assert_eq!(value("back\\slash "), r#""back\\slash ""#);
        assert_eq!(value("esc\u{1b}[31m"), r#""esc\u001b[31m""#);
    }

    #[test]
    fn keys_are_sanitized() {
        assert_eq!(key("http.method"), "http.method");
        assert_eq!(key("a b=c\"d"), "a_b_c_d");
        assert_eq!(key(""), "_");
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
