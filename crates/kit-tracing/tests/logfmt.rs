//! Formats events through a real `tracing_subscriber::fmt` subscriber and
//! checks the exact lines written.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::{debug, error, info, info_span, trace, warn};
use tracing_subscriber::layer::SubscriberExt as _;

/// Shared buffer the test subscriber writes into.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8(bytes.clone()).expect("log output is UTF-8")
    }
}

/// Runs `f` with a subscriber made of `layer` writing into a buffer and
/// returns the lines written.
fn capture_layer<L>(layer: L, capture: Capture, f: impl FnOnce()) -> Vec<String>
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f);
    let text = capture.text();
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    text.lines().map(str::to_owned).collect()
}

/// Runs `f` with a layer built from `builder` the way the crate docs show,
/// and returns the lines written.
fn capture_with(builder: tracing_logfmt::Builder, f: impl FnOnce()) -> Vec<String> {
    let capture = Capture::default();
    let writer = capture.clone();
    let layer = builder
        .layer()
        .map_event_format(kit_tracing::Logfmt::new)
        .with_writer(move || writer.clone());
    capture_layer(layer, capture, f)
}

/// Runs `f` with [`kit_tracing::layer`] and returns the lines with the
/// `ts=... ` prefix checked and removed.
fn capture(f: impl FnOnce()) -> Vec<String> {
    let capture = Capture::default();
    let writer = capture.clone();
    let layer = kit_tracing::layer().with_writer(move || writer.clone());
    capture_layer(layer, capture, f)
        .into_iter()
        .map(|line| {
            let (ts, rest) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("no space in {line:?}"));
            let ts = ts
                .strip_prefix("ts=")
                .unwrap_or_else(|| panic!("line does not start with ts=: {line:?}"));
            assert_rfc3339_utc(ts);
            rest.to_owned()
        })
        .collect()
}

/// Checks the shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the ranges of the
/// fields, and that the fraction is nanoseconds without trailing zeros.
fn assert_rfc3339_utc(ts: &str) {
    let b = ts.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> u32 {
        let part = &ts[range];
        assert!(
            part.bytes().all(|c| c.is_ascii_digit()),
            "not digits in {ts:?}"
        );
        part.parse().unwrap()
    };
    assert!(b.len() >= 20, "timestamp too short: {ts:?}");
    assert_eq!(
        (b[4], b[7], b[10], b[13], b[16]),
        (b'-', b'-', b'T', b':', b':'),
        "{ts:?}"
    );
    assert!(digits(0..4) >= 2020, "{ts:?}");
    assert!((1..=12).contains(&digits(5..7)), "{ts:?}");
    assert!((1..=31).contains(&digits(8..10)), "{ts:?}");
    assert!(digits(11..13) < 24, "{ts:?}");
    assert!(digits(14..16) < 60, "{ts:?}");
    assert!(digits(17..19) <= 60, "{ts:?}");
    let rest = &ts[19..];
    let frac = rest
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("not UTC: {ts:?}"));
    if !frac.is_empty() {
        let digits = frac.strip_prefix('.').unwrap_or_else(|| panic!("{ts:?}"));
        assert!(
            (1..=9).contains(&digits.len())
                && digits.bytes().all(|c| c.is_ascii_digit())
                && !digits.ends_with('0'),
            "bad fraction in {ts:?}"
        );
    }
}

#[test]
fn listening_line() {
    let lines = capture(|| info!(transport = "http", addr = %"127.0.0.1:1", "listening"));
    assert_eq!(
        lines,
        ["level=info msg=listening transport=http addr=127.0.0.1:1"]
    );
}

#[test]
fn levels_are_lowercase() {
    let lines = capture(|| {
        trace!("t");
        debug!("d");
        info!("i");
        warn!("w");
        error!("e");
    });
    assert_eq!(
        lines,
        [
            "level=trace msg=t",
            "level=debug msg=d",
            "level=info msg=i",
            "level=warn msg=w",
            "level=error msg=e",
        ]
    );
}

#[test]
fn message_with_spaces_is_quoted() {
    let port = 8080;
    let lines = capture(|| info!(port, "server started on port {port}"));
    assert_eq!(
        lines,
        [r#"level=info msg="server started on port 8080" port=8080"#]
    );
}

#[test]
fn values_with_quotes_and_newlines_are_escaped() {
    let lines = capture(|| {
        warn!(
            body = "he said \"no\"\nthen left",
            empty = "",
            eq = "a=b",
            path = "C:\\tmp",
            "bad request"
        )
    });
    assert_eq!(
        lines,
        [
            r#"level=warn msg="bad request" body="he said \"no\"\nthen left" empty= eq="a=b" path=C:\tmp"#
        ]
    );
}

#[derive(Debug)]
#[allow(dead_code)] // fields are read through Debug only
struct Endpoint {
    host: &'static str,
    port: u16,
}

#[test]
fn debug_and_display_fields() {
    let err = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
    let lines = capture(|| {
        error!(
            endpoint = ?Endpoint { host: "db", port: 5432 },
            name = ?"quoted",
            list = ?[1, 2],
            err = %err,
            ok = true,
            ratio = 0.5,
            delta = -3,
            "dial failed"
        )
    });
    assert_eq!(
        lines,
        [concat!(
            r#"level=error msg="dial failed" endpoint="Endpoint { host: \"db\", port: 5432 }" "#,
            r#"name="\"quoted\"" list="[1, 2]" err="connection refused" ok=true ratio=0.5 delta=-3"#
        )]
    );
}

#[test]
fn error_values_use_display() {
    let err = io::Error::other("disk full");
    let lines = capture(|| error!(error = &err as &(dyn std::error::Error + 'static)));
    assert_eq!(lines, [r#"level=error error="disk full""#]);
}

#[test]
fn event_without_message_has_no_msg() {
    let lines = capture(|| info!(requests = 10u64, errors = 0u64));
    assert_eq!(lines, ["level=info requests=10 errors=0"]);
}

#[test]
fn span_fields_follow_event_fields_outermost_first() {
    let lines = capture(|| {
        let outer = info_span!("request", method = "GET", path = "/sum");
        let _outer = outer.enter();
        let inner = info_span!("backend", peer = "127.0.0.1:9000", note = "two words");
        let _inner = inner.enter();
        info!(status = 200, "done");
    });
    assert_eq!(
        lines,
        [
            r#"level=info msg=done status=200 method=GET path=/sum peer=127.0.0.1:9000 note="two words""#
        ]
    );
}

#[test]
fn span_fields_recorded_later_and_fieldless_spans() {
    let lines = capture(|| {
        let span = info_span!("request", id = 7, user = tracing::field::Empty);
        let _span = span.enter();
        let _plain = info_span!("plain").entered();
        info!("before");
        span.record("user", "ann lee");
        info!("after");
    });
    assert_eq!(
        lines,
        [
            "level=info msg=before id=7",
            r#"level=info msg=after id=7 user="ann lee""#,
        ]
    );
}

/// tracing-logfmt takes span fields from the current span, not from the
/// event's scope (see the crate docs).
#[test]
fn span_fields_come_from_the_current_span_not_an_explicit_parent() {
    let lines = capture(|| {
        let span = info_span!("conn", peer = "a");
        info!(parent: &span, "hello");
        info!("outside");
        let _entered = span.enter();
        info!(parent: None, "root");
    });
    assert_eq!(
        lines,
        [
            "level=info msg=hello",
            "level=info msg=outside",
            "level=info msg=root peer=a",
        ]
    );
}

#[test]
fn target_is_optional() {
    let builder = kit_tracing::builder()
        .with_timestamp(false)
        .with_target(true);
    let lines = capture_with(builder, || {
        info!(target: "addsvc::http", "up");
        info!("default target");
    });
    assert_eq!(
        lines,
        [
            "level=info target=addsvc::http msg=up",
            r#"level=info target=logfmt msg="default target""#,
        ]
    );
}

#[test]
fn without_timestamp_leaves_ts_out() {
    let builder = kit_tracing::builder().with_timestamp(false);
    let lines = capture_with(builder, || info!(k = "v", "m"));
    assert_eq!(lines, ["level=info msg=m k=v"]);
}

#[test]
fn control_characters_cannot_forge_lines() {
    let lines = capture(|| info!(user = "x\nlevel=error msg=forged", "login\u{1b}[2J"));
    assert_eq!(
        lines,
        [r#"level=info msg="login\u{1b}[2J" user="x\nlevel=error msg=forged""#]
    );
}

#[test]
fn message_key_is_msg_wherever_it_is() {
    let lines = capture(|| {
        info!(a = 1, message = "late message");
        let _span = info_span!("s", message = "span message").entered();
        info!(
            note = "a message=b",
            quoted = "x\" message=y",
            msg = "kept",
            message_id = 7,
            "m"
        );
    });
    assert_eq!(
        lines,
        [
            r#"level=info a=1 msg="late message""#,
            concat!(
                r#"level=info msg=m note="a message=b" quoted="x\" message=y" msg=kept "#,
                r#"message_id=7 msg="span message""#
            ),
        ]
    );
}

/// Quoting as go-logfmt does it (ASCII controls, space, `=`, `"`), escaping
/// as Rust's `str::escape_debug` does.
#[test]
fn quoting_and_escaping_rules() {
    let lines = capture(|| {
        info!(
            empty = "",
            apostrophe = "it's",
            quoted_apostrophe = "it's here",
            nul = "a\0b",
            nbsp = "a\u{a0}b",
            del = "a\u{7f}b",
            nel = "a\u{85}b c",
            line_separator = "a\u{2028}b c",
            bell = "\u{7}",
            backslash = "a\\b c",
        )
    });
    assert_eq!(
        lines,
        [concat!(
            r#"level=info empty= apostrophe=it's quoted_apostrophe="it\'s here" nul="a\0b" "#,
            "nbsp=a\u{a0}b del=a\u{7f}b ",
            r#"nel="a\u{85}b c" line_separator="a\u{2028}b c" bell="\u{7}" backslash="a\\b c""#
        )]
    );
}

#[test]
fn keys_lose_characters_they_cannot_hold() {
    let lines = capture(|| info!("a b" = 1, "x=y\"z" = 2, "m"));
    assert_eq!(lines, ["level=info msg=m ab=1 xyz=2"]);
}

/// A key with nothing left makes tracing-logfmt fail the event, and
/// tracing-subscriber writes its own error line in its place.
#[test]
fn an_empty_key_fails_the_event() {
    let capture = Capture::default();
    let writer = capture.clone();
    let layer = kit_tracing::layer().with_writer(move || writer.clone());
    let lines = capture_layer(layer, capture, || {
        info!(" " = 1, "m");
        info!("next");
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(concat!(
            "Unable to format the following event. Name: event ",
            file!(),
            ":"
        )),
        "{lines:?}"
    );
    assert!(lines[0].contains(r#"names: ["message", " "]"#), "{lines:?}");
    let (_, rest) = lines[1].split_once(' ').unwrap();
    assert_eq!(rest, "level=info msg=next");
}
