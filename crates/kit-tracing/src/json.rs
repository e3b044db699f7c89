//! JSON lines: one flat object per event.

use std::fmt::{self, Write as _};

use kit::request_scope::RequestScope;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::{MESSAGE_FIELD, MESSAGE_KEY};

/// Event formatter for JSON lines: `{"ts":…,"level":…,"msg":…,…}`, one object per line.
///
/// The members are those of a logfmt line, in the same order: `ts` (RFC 3339, UTC,
/// microseconds), `level` (lowercase), the event's fields (the message as `msg`), then the
/// fields of the spans the event is in, outermost first, **at the top level** (not nested
/// under `span`/`spans` as tracing-subscriber's own JSON formatter writes them), then the
/// fields of the [request being served](kit::request_scope) (`request_id`, `transport`,
/// `route`, `peer`), so that a request's `request_id` is found where the event's own fields
/// are. Strings, `Debug` and
/// `Display` values are JSON strings; integers, finite floats and booleans are JSON
/// numbers and booleans. A key given twice (by the event and a span) is written twice.
///
/// Pair it with [`JsonFields`], which formats span fields the same way; [`json_layer`]
/// does both.
///
/// [`json_layer`]: crate::json_layer
#[derive(Debug, Default, Clone, Copy)]
pub struct Json {
    _private: (),
}

impl<S> FormatEvent<S, JsonFields> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str("{\"ts\":\"")?;
        SystemTime.format_time(&mut writer)?;
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warn",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        write!(writer, "\",\"level\":\"{level}\"")?;
        let mut visitor = JsonVisitor::new(&mut writer, true);
        event.record(&mut visitor);
        visitor.result?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>()
                    && !fields.is_empty()
                {
                    writer.write_char(',')?;
                    writer.write_str(fields)?;
                }
            }
        }
        RequestScope::with_current(|request| {
            request.for_each_field(|name, value| {
                write!(writer, ",\"{name}\":")?;
                write_string(&mut writer, format_args!("{value}"))
            })
        })
        .unwrap_or(Ok(()))?;
        writer.write_str("}\n")
    }
}

/// Field formatter for [`Json`]: a span's fields as `"key":value` members separated by
/// commas, without braces, for the event formatter to copy into each line.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonFields {
    _private: (),
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = JsonVisitor::new(&mut writer, false);
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let comma = !current.fields.is_empty();
        let mut visitor = JsonVisitor::new(&mut current.fields, comma);
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field as a `"key":value` member, a comma before all but (unless `comma`)
/// the first.
struct JsonVisitor<'a, W: fmt::Write> {
    out: &'a mut W,
    comma: bool,
    result: fmt::Result,
}

impl<'a, W: fmt::Write> JsonVisitor<'a, W> {
    fn new(out: &'a mut W, comma: bool) -> Self {
        JsonVisitor {
            out,
            comma,
            result: Ok(()),
        }
    }

    /// Writes the key of `field` and then the value with `value`.
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if self.comma {
                self.out.write_char(',')?;
            }
            self.comma = true;
            let key = match field.name() {
                MESSAGE_FIELD => MESSAGE_KEY,
                name => name,
            };
            write_string(self.out, format_args!("{key}"))?;
            self.out.write_char(':')?;
            value(self.out)
        })();
    }
}

impl<W: fmt::Write> Visit for JsonVisitor<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.member(field, |out| write!(out, "{value}"));
        } else {
            self.member(field, |out| write_string(out, format_args!("{value}")));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_string(out, format_args!("{value}")));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |out| write_string(out, format_args!("{value}")));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| write_string(out, format_args!("{value:?}")));
    }
}

/// Writes `text` as a JSON string, escaping as it goes (no intermediate buffer).
fn write_string<W: fmt::Write>(out: &mut W, text: fmt::Arguments<'_>) -> fmt::Result {
    out.write_char('"')?;
    Escape(out).write_fmt(text)?;
    out.write_char('"')
}

/// Escapes what it is given for the inside of a JSON string: `"`, `\` and every control
/// character (so that no value can start a new line), the others as they are.
struct Escape<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escape<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, c) in s.char_indices() {
            let escaped = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                c if c.is_control() => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escaped.is_empty() {
                write!(self.0, "\\u{:04x}", c as u32)?;
            } else {
                self.0.write_str(escaped)?;
            }
            plain = i + c.len_utf8();
        }
        self.0.write_str(&s[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_string(text: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, format_args!("{text}")).unwrap();
        out
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_string("plain"), r#""plain""#);
        assert_eq!(
            json_string("a\"b\\c\nd\re\tf\u{1b}g\u{7f}h\u{85}é"),
            r#""a\"b\\c\nd\re\tf\u001bg\u007fh\u0085é""#
        );
    }
}
