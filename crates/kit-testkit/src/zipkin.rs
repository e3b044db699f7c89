//! A Zipkin stand-in: the span collector of Zipkin's HTTP API v2 (`POST /api/v2/spans`),
//! served in-process on a loopback port, recording every span it accepts in the model of
//! [`trace`](crate::trace).
//!
//! No Zipkin server can be installed on the machines kit is built on (it is a Java service
//! without a Debian package), so the tests of kit's Zipkin export send to this instead. It
//! implements the receiving side from the official definitions: the OpenAPI document of
//! Zipkin's API v2 (`zipkin2-api.yaml`, `ListOfSpans` of `Span`) and the rules of the
//! zipkin2 library's `Span` builder, which Zipkin's server applies when it decodes a batch.
//!
//! A batch is a JSON array of spans. It is accepted (`202 Accepted`, no body) when every span
//! is valid, and refused whole otherwise (`400 Bad Request`, the reason as text), as Zipkin
//! does. What is checked:
//!
//! - `traceId`: required, 1 to 32 lowercase hex digits, not all zeros (recorded padded on
//!   the left to 32 digits).
//! - `id`: required, 1 to 16 lowercase hex digits, not all zeros (padded to 16). `parentId`:
//!   the same when present; all zeros means none, as in zipkin2.
//! - `kind`: absent (a local span, recorded as [`SpanKind::Internal`]) or one of `CLIENT`,
//!   `SERVER`, `PRODUCER`, `CONSUMER`.
//! - `timestamp`, `duration`: absent or non-negative integers (microseconds); 0 means absent.
//! - `tags`: an object of strings (numbers are taken as their text, as Zipkin's reader does);
//!   each becomes a string attribute, and an `error` tag also makes the span's status
//!   [`Status::Error`] with the tag's value.
//! - `annotations`: an array of `{timestamp, value}`, both required; they become events.
//! - `localEndpoint.serviceName` becomes the service name (an empty one is none).
//!   `remoteEndpoint`, `debug`, `shared` and unknown fields are read past, as Zipkin does.
//!
//! Where it differs from Zipkin, on purpose: names are recorded as sent (Zipkin lowercases
//! span and service names when it stores them), so that a test sees what kit sent; only the
//! JSON encoding is read: a protobuf (`application/x-protobuf`) or gzip-encoded batch is
//! refused with `415`. Every refused request, a wrong path or method included, is recorded
//! as a [`Rejection`](crate::trace::Rejection).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use kit_testkit::zipkin::ZipkinReceiver;
//!
//! let zipkin = ZipkinReceiver::start().await;
//! let endpoint = zipkin.endpoint(); // http://127.0.0.1:<port>/api/v2/spans
//! # let _ = endpoint;
//! // ... a service exports its spans there ...
//! # let body = r#"[{"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","name":"get"}]"#;
//! # kit_testkit::http::request(zipkin.addr(), "POST", "/api/v2/spans", body).await;
//! let spans = zipkin.received().wait_for_spans(1, Duration::from_secs(5)).await;
//! assert_eq!(spans[0].name, "get");
//! assert!(zipkin.received().rejections().is_empty());
//! # }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value};

use crate::free_addr;
use crate::stand_in::{Server, text, uncompressed};
use crate::trace::{AttrValue, Event, Received, Span, SpanKind, Status};

/// The path Zipkin collects spans on.
pub const SPANS_PATH: &str = "/api/v2/spans";

/// A Zipkin stand-in on a loopback port; stopped when dropped.
#[derive(Debug)]
pub struct ZipkinReceiver {
    addr: SocketAddr,
    received: Received,
    _server: Server,
}

impl ZipkinReceiver {
    /// Starts a receiver on a free loopback port.
    ///
    /// # Panics
    ///
    /// When the port cannot be bound.
    pub async fn start() -> ZipkinReceiver {
        let addr = free_addr();
        let received = Received::default();
        let record = received.clone();
        let server = Server::start(addr, move |request| {
            let record = record.clone();
            async move { handle(&record, &request) }
        })
        .await
        .unwrap_or_else(|err| panic!("cannot start the Zipkin receiver on {addr}: {err}"));
        ZipkinReceiver {
            addr,
            received,
            _server: server,
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to send spans to: `http://<addr>/api/v2/spans`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{SPANS_PATH}", self.addr)
    }

    /// The spans it accepted and the requests it refused.
    pub fn received(&self) -> &Received {
        &self.received
    }
}

fn handle(received: &Received, request: &Request<Bytes>) -> Response<Full<Bytes>> {
    let described = format!("{} {}", request.method(), request.uri().path());
    let (status, answer) = match accept(request) {
        Ok(spans) => {
            received.add_spans(spans);
            return text(StatusCode::ACCEPTED, "");
        }
        Err(refusal) => refusal,
    };
    received.reject(&described, &answer);
    text(status, answer)
}

fn accept(request: &Request<Bytes>) -> Result<Vec<Span>, (StatusCode, String)> {
    if request.uri().path() != SPANS_PATH {
        return Err((StatusCode::NOT_FOUND, "no such path".to_owned()));
    }
    if request.method() != Method::POST {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{SPANS_PATH} takes POST"),
        ));
    }
    let headers = request.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-protobuf") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the stand-in reads JSON batches only, not protobuf".to_owned(),
        ));
    }
    uncompressed(request)?;
    let bad = |reason: String| (StatusCode::BAD_REQUEST, reason);
    let batch: Value = serde_json::from_slice(request.body())
        .map_err(|err| bad(format!("malformed JSON: {err}")))?;
    let Value::Array(spans) = batch else {
        return Err(bad("expected a JSON array of spans".to_owned()));
    };
    spans
        .iter()
        .enumerate()
        .map(|(i, span)| decode_span(span).map_err(|reason| bad(format!("span {i}: {reason}"))))
        .collect()
}

fn decode_span(value: &Value) -> Result<Span, String> {
    let Value::Object(span) = value else {
        return Err("not a JSON object".to_owned());
    };
    let trace_id = hex_id(span, "traceId", 32)?.ok_or("traceId is required")?;
    let span_id = hex_id(span, "id", 16)?.ok_or("id is required")?;
    let parent_span_id = match hex_id(span, "parentId", 16) {
        Err(reason) if reason.ends_with("all zeros") => None,
        other => other?,
    };
    let kind = match optional(span, "kind") {
        None => SpanKind::Internal,
        Some(Value::String(kind)) => match kind.as_str() {
            "CLIENT" => SpanKind::Client,
            "SERVER" => SpanKind::Server,
            "PRODUCER" => SpanKind::Producer,
            "CONSUMER" => SpanKind::Consumer,
            _ => return Err(format!("unknown kind {kind:?}")),
        },
        Some(other) => return Err(format!("kind is not a string: {other}")),
    };
    let name = match optional(span, "name") {
        None => String::new(),
        Some(Value::String(name)) => name.clone(),
        Some(other) => return Err(format!("name is not a string: {other}")),
    };
    let mut attributes = BTreeMap::new();
    let mut status = Status::Unset;
    if let Some(tags) = optional(span, "tags") {
        let Value::Object(tags) = tags else {
            return Err(format!("tags is not an object: {tags}"));
        };
        for (key, value) in tags {
            let value = match value {
                Value::String(value) => value.clone(),
                Value::Number(number) => number.to_string(),
                other => return Err(format!("tag {key:?} is not a string: {other}")),
            };
            if key == "error" {
                status = Status::Error(value.clone());
            }
            attributes.insert(key.clone(), AttrValue::String(value));
        }
    }
    let mut events = Vec::new();
    if let Some(annotations) = optional(span, "annotations") {
        let Value::Array(annotations) = annotations else {
            return Err(format!("annotations is not an array: {annotations}"));
        };
        for annotation in annotations {
            let (Some(time), Some(Value::String(value))) =
                (micros(annotation, "timestamp")?, annotation.get("value"))
            else {
                return Err(format!("incomplete annotation: {annotation}"));
            };
            events.push(Event {
                time_unix_nanos: time,
                name: value.clone(),
                attributes: BTreeMap::new(),
            });
        }
    }
    let service_name = match optional(span, "localEndpoint") {
        None => None,
        Some(Value::Object(endpoint)) => match optional(endpoint, "serviceName") {
            None => None,
            Some(Value::String(name)) => Some(name.clone()).filter(|name| !name.is_empty()),
            Some(other) => return Err(format!("localEndpoint.serviceName: {other}")),
        },
        Some(other) => return Err(format!("localEndpoint is not an object: {other}")),
    };
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        start_unix_nanos: micros(value, "timestamp")?,
        duration_nanos: micros(value, "duration")?,
        attributes,
        events,
        status,
        service_name,
    })
}

/// Member `key` of `object`, `None` when absent or null.
fn optional<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// Member `key` of `value`, an id of at most `digits` lowercase hex digits, padded on the
/// left to `digits`; `None` when absent.
fn hex_id(span: &Map<String, Value>, key: &str, digits: usize) -> Result<Option<String>, String> {
    let id = match optional(span, key) {
        None => return Ok(None),
        Some(Value::String(id)) => id,
        Some(other) => return Err(format!("{key} is not a string: {other}")),
    };
    if id.is_empty() || id.len() > digits {
        return Err(format!("{key} {id:?} is not 1 to {digits} hex digits"));
    }
    if !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("{key} {id:?} is not lowercase hex"));
    }
    if id.bytes().all(|b| b == b'0') {
        return Err(format!("{key} {id:?} is all zeros"));
    }
    Ok(Some(format!("{id:0>digits$}")))
}

/// Member `key` of `value`, microseconds as nanoseconds; `None` when absent or 0.
fn micros(value: &Value, key: &str) -> Result<Option<u64>, String> {
    match value.get(key).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(0) => Ok(None),
            Some(micros) => Ok(Some(micros.saturating_mul(1000))),
            None => Err(format!("{key} is not a non-negative integer: {number}")),
        },
        Some(other) => Err(format!("{key} is not a number: {other}")),
    }
}
