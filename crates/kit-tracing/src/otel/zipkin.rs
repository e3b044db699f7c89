//! kit's Zipkin exporter: spans as a Zipkin API v2 JSON array (`ListOfSpans`), posted to
//! the collector with hyper's client.
//!
//! Not opentelemetry-zipkin 0.33.0: without reqwest it builds and takes any
//! opentelemetry-http client, but its spans' `localEndpoint` holds only an address and a
//! port, never `serviceName` (it ignores the resource), so Zipkin would file every span under
//! no service. The mapping below follows the Zipkin v2 model (`zipkin2-api.yaml`) and the
//! OpenTelemetry specification's Zipkin exporter section.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Map, Value, json};

/// Exports spans to a Zipkin collector's `POST /api/v2/spans`.
#[derive(Debug)]
pub(crate) struct ZipkinExporter {
    client: Client<HttpConnector, Full<Bytes>>,
    url: Uri,
    service_name: String,
}

impl ZipkinExporter {
    /// An exporter posting to `url` the spans of `service_name`.
    pub(crate) fn new(url: Uri, service_name: String) -> Self {
        ZipkinExporter {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url,
            service_name,
        }
    }
}

impl SpanExporter for ZipkinExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<Value> = batch
            .iter()
            .map(|span| zipkin_span(span, &self.service_name))
            .collect();
        let body = serde_json::to_vec(&spans)
            .map_err(|err| OTelSdkError::InternalFailure(err.to_string()))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| OTelSdkError::InternalFailure(err.to_string()))?;
        let response =
            self.client.request(request).await.map_err(|err| {
                OTelSdkError::InternalFailure(format!("POST {}: {err}", self.url))
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "POST {}: {}",
                self.url,
                response.status()
            )))
        }
    }
}

/// Microseconds since the Unix epoch (0 before it).
fn micros(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
}

/// One span in Zipkin's v2 model.
fn zipkin_span(span: &SpanData, service_name: &str) -> Value {
    let mut out = Map::new();
    out.insert(
        "traceId".into(),
        span.span_context.trace_id().to_string().into(),
    );
    out.insert("id".into(), span.span_context.span_id().to_string().into());
    if span.parent_span_id != SpanId::INVALID {
        out.insert("parentId".into(), span.parent_span_id.to_string().into());
    }
    out.insert("name".into(), span.name.as_ref().into());
    let kind = match span.span_kind {
        SpanKind::Server => Some("SERVER"),
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        // A local span: Zipkin has no kind for it.
        SpanKind::Internal => None,
    };
    if let Some(kind) = kind {
        out.insert("kind".into(), kind.into());
    }
    let start = micros(span.start_time);
    out.insert("timestamp".into(), start.into());
    // Zipkin reads 0 as "unknown": a span shorter than a microsecond lasted 1.
    out.insert(
        "duration".into(),
        micros(span.end_time).saturating_sub(start).max(1).into(),
    );
    out.insert(
        "localEndpoint".into(),
        json!({ "serviceName": service_name }),
    );
    let mut tags = Map::new();
    for kv in &span.attributes {
        tags.insert(kv.key.to_string(), kv.value.as_str().into_owned().into());
    }
    match &span.status {
        Status::Unset => {}
        Status::Ok => {
            tags.insert("otel.status_code".into(), "OK".into());
        }
        Status::Error { description } => {
            tags.insert("otel.status_code".into(), "ERROR".into());
            tags.insert("error".into(), description.as_ref().into());
        }
    }
    if !tags.is_empty() {
        out.insert("tags".into(), Value::Object(tags));
    }
    let annotations: Vec<Value> = span
        .events
        .iter()
        .map(|event| json!({ "timestamp": micros(event.timestamp), "value": event.name }))
        .collect();
    if !annotations.is_empty() {
        out.insert("annotations".into(), Value::Array(annotations));
    }
    Value::Object(out)
}
