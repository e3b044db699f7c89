//! Formats events through a real `tracing_subscriber::fmt` subscriber and
//! checks the exact lines written.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use kit_tracing::{Logfmt, LogfmtFields};
use tracing::{debug, error, info, info_span, trace, warn};
use tracing_subscriber::fmt::time::FormatTime;

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

/// Runs `f` with a logfmt subscriber (`format`) and returns the lines written.
fn capture_with<T>(format: Logfmt<T>, f: impl FnOnce()) -> Vec<String>
where
    T: FormatTime + Send + Sync + 'static,
{
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .fmt_fields(LogfmtFields::new())
        .event_format(format)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = capture.text();
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    text.lines().map(str::to_owned).collect()
}

/// Runs `f` with the default formatter and returns the lines with the
/// `ts=... ` prefix checked and removed.
fn capture(f: impl FnOnce()) -> Vec<String> {
    capture_with(Logfmt::new(), f)
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

/// Checks the shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z` and the ranges of
/// the fields.
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
            !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()),
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
            r#"level=warn msg="bad request" body="he said \"no\"\nthen left" empty="" eq="a=b" path=C:\tmp"#
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

#[test]
fn explicit_parent_span() {
    let lines = capture(|| {
        let span = info_span!("conn", peer = "a");
        info!(parent: &span, "hello");
        info!("outside");
    });
    assert_eq!(
        lines,
        ["level=info msg=hello peer=a", "level=info msg=outside"]
    );
}

#[test]
fn target_is_optional() {
    let lines = capture_with(Logfmt::new().with_timer(()).with_target(true), || {
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
fn empty_timer_leaves_ts_out() {
    let lines = capture_with(Logfmt::new().with_timer(()), || info!(k = "v", "m"));
    assert_eq!(lines, ["level=info msg=m k=v"]);
}

#[test]
fn control_characters_cannot_forge_lines() {
    let lines = capture(|| info!(user = "x\nlevel=error msg=forged", "login\u{1b}[2J"));
    assert_eq!(
        lines,
        [r#"level=info msg="login\u001b[2J" user="x\nlevel=error msg=forged""#]
    );
}
