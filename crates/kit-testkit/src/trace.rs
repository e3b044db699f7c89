//! The spans a trace receiver ([`zipkin`](crate::zipkin), [`otlp`](crate::otlp)) has
//! received, in one simple model whatever the wire format, and the requests it refused.
//!
//! Ids are lowercase hex: a trace id has 32 digits (a 64-bit Zipkin trace id is padded on
//! the left with zeros), a span id 16. Attributes are kept by key in a sorted map, so that a
//! test compares a whole span with `assert_eq!`. [`Received::wait_for_spans`] waits, bounded,
//! for spans exported in the background; [`children_of`] and [`tree`] assemble a trace.
//!
//! ```
//! use std::collections::BTreeMap;
//! use kit_testkit::trace::{Span, SpanKind, Status, children_of, tree};
//!
//! let span = |id: &str, parent: Option<&str>, name: &str, start| Span {
//!     trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
//!     span_id: id.into(),
//!     parent_span_id: parent.map(Into::into),
//!     name: name.into(),
//!     kind: SpanKind::Server,
//!     start_unix_nanos: Some(start),
//!     duration_nanos: Some(10),
//!     attributes: BTreeMap::new(),
//!     events: Vec::new(),
//!     status: Status::Unset,
//!     service_name: Some("addsvc".into()),
//! };
//! let spans = [
//!     span("00f067aa0ba902b7", None, "POST /sum", 1),
//!     span("00f067aa0ba902b8", Some("00f067aa0ba902b7"), "Sum", 2),
//! ];
//! assert_eq!(children_of(&spans, "00f067aa0ba902b7")[0].name, "Sum");
//! assert_eq!(tree(&spans), "addsvc: POST /sum (Server)\n  addsvc: Sum (Server)\n");
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One span as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace id: 32 lowercase hex digits.
    pub trace_id: String,
    /// The span id: 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id; `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The span's name (Zipkin's `name`, empty when absent; OTLP's `name`).
    pub name: String,
    /// What the span stands for.
    pub kind: SpanKind,
    /// When it started, in nanoseconds since the Unix epoch (Zipkin's microseconds times
    /// 1000); `None` when a Zipkin span has no `timestamp`.
    pub start_unix_nanos: Option<u64>,
    /// How long it lasted in nanoseconds (Zipkin's microseconds times 1000; OTLP's end
    /// minus start); `None` when a Zipkin span has no `duration`.
    pub duration_nanos: Option<u64>,
    /// Its attributes: Zipkin's tags (all strings, `error` included), OTLP's attributes.
    pub attributes: BTreeMap<String, AttrValue>,
    /// Its events: Zipkin's annotations, OTLP's span events, in the order received.
    pub events: Vec<Event>,
    /// Its status: an error when a Zipkin span has an `error` tag or an OTLP status says so.
    pub status: Status,
    /// The service that recorded it: Zipkin's `localEndpoint.serviceName`, OTLP's resource
    /// attribute `service.name`.
    pub service_name: Option<String>,
}

/// What a span stands for: OTLP's kinds; a Zipkin span without `kind` is a local span,
/// [`SpanKind::Internal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// The server side of a remote call.
    Server,
    /// The client side of a remote call.
    Client,
    /// Work inside one process.
    Internal,
    /// The sending side of an asynchronous message.
    Producer,
    /// The receiving side of an asynchronous message.
    Consumer,
    /// OTLP's `SPAN_KIND_UNSPECIFIED`.
    Unspecified,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string (every Zipkin tag).
    String(String),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A double.
    Double(f64),
    /// OTLP bytes.
    Bytes(Vec<u8>),
    /// An OTLP array.
    Array(Vec<AttrValue>),
    /// An OTLP key-value list.
    Map(BTreeMap<String, AttrValue>),
    /// An OTLP `AnyValue` without a value.
    Empty,
}

impl From<&str> for AttrValue {
    fn from(value: &str) -> AttrValue {
        AttrValue::String(value.to_owned())
    }
}

/// An event inside a span: a Zipkin annotation (its value is the name) or an OTLP event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When, in nanoseconds since the Unix epoch.
    pub time_unix_nanos: u64,
    /// What happened.
    pub name: String,
    /// Its attributes (none for a Zipkin annotation).
    pub attributes: BTreeMap<String, AttrValue>,
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No status set (every Zipkin span without an `error` tag).
    Unset,
    /// OTLP's `STATUS_CODE_OK`.
    Ok,
    /// An error, with its message (a Zipkin `error` tag's value, empty or not).
    Error(String),
}

/// A request a receiver refused, kept so that a test can assert that nothing bad was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// How it came: `POST /api/v2/spans`, `POST /v1/traces`, `gRPC Export`, and so on.
    pub request: String,
    /// Why it was refused: the answer's reason.
    pub reason: String,
}

/// What a receiver has received so far: its spans and its refused requests. Cloning it
/// shares the same record.
#[derive(Debug, Clone, Default)]
pub struct Received {
    inner: Arc<Mutex<Record>>,
}

#[derive(Debug, Default)]
struct Record {
    spans: Vec<Span>,
    rejections: Vec<Rejection>,
}

/// How often [`Received::wait_for_spans`] looks again.
const POLL: Duration = Duration::from_millis(10);

impl Received {
    fn lock(&self) -> MutexGuard<'_, Record> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every span received so far, in the order received.
    pub fn spans(&self) -> Vec<Span> {
        self.lock().spans.clone()
    }

    /// Every request refused so far, in the order received.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.lock().rejections.clone()
    }

    /// Waits until at least `n` spans have been received and returns every span received
    /// (more than `n` if more came), polling every 10 ms.
    ///
    /// # Panics
    ///
    /// When `timeout` passes first, with the spans and rejections received so far.
    pub async fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<Span> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let record = self.lock();
                if record.spans.len() >= n {
                    return record.spans.clone();
                }
                if Instant::now() >= deadline {
                    panic!(
                        "timed out after {timeout:?} waiting for {n} spans; received {}:\n{}\
                         spans: {:#?}\nrejected requests: {:#?}",
                        record.spans.len(),
                        tree(&record.spans),
                        record.spans,
                        record.rejections
                    );
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) fn add_spans(&self, spans: impl IntoIterator<Item = Span>) {
        self.lock().spans.extend(spans);
    }

    pub(crate) fn reject(&self, request: &str, reason: &str) {
        self.lock().rejections.push(Rejection {
            request: request.to_owned(),
            reason: reason.to_owned(),
        });
    }
}

/// The spans of `spans` whose parent is `span_id`, by start time (then name).
pub fn children_of<'a>(spans: &'a [Span], span_id: &str) -> Vec<&'a Span> {
    sorted(
        spans
            .iter()
            .filter(|span| span.parent_span_id.as_deref() == Some(span_id)),
    )
}

/// The spans of `spans` whose parent is not among them (a root span, or one whose parent
/// was not received), by start time (then name).
pub fn roots(spans: &[Span]) -> Vec<&Span> {
    sorted(spans.iter().filter(|span| {
        span.parent_span_id
            .as_deref()
            .is_none_or(|parent| !spans.iter().any(|other| other.span_id == parent))
    }))
}

/// The trees of `spans` as indented text, one line per span, `service: name (Kind)`, and
/// `!` plus the error message after a span in error: a trace's shape in one string that a
/// test can compare exactly.
pub fn tree(spans: &[Span]) -> String {
    fn write_span(out: &mut String, spans: &[Span], span: &Span, depth: usize) {
        let service = span.service_name.as_deref().unwrap_or("?");
        let _ = write!(
            out,
            "{:indent$}{service}: {} ({:?})",
            "",
            span.name,
            span.kind,
            indent = depth * 2
        );
        if let Status::Error(message) = &span.status {
            let _ = write!(out, " !{message}");
        }
        out.push('\n');
        for child in children_of(spans, &span.span_id) {
            write_span(out, spans, child, depth + 1);
        }
    }
    let mut out = String::new();
    for root in roots(spans) {
        write_span(&mut out, spans, root, 0);
    }
    out
}

fn sorted<'a>(spans: impl Iterator<Item = &'a Span>) -> Vec<&'a Span> {
    let mut spans: Vec<&Span> = spans.collect();
    spans.sort_by(|a, b| (a.start_unix_nanos, &a.name).cmp(&(b.start_unix_nanos, &b.name)));
    spans
}

/// `bytes` as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}
