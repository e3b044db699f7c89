//! An OpenTelemetry Collector stand-in: the receiving side of OTLP for traces, over gRPC
//! and over HTTP with protobuf bodies, served in-process on two loopback ports and
//! recording every span it accepts in the model of [`trace`](crate::trace).
//!
//! No OpenTelemetry Collector (nor Jaeger) can be installed on the machines kit is built on,
//! so the tests of kit's OTLP export send to this instead. It implements the receiving side
//! from the official definitions: the messages and the gRPC service generated from the
//! opentelemetry-proto `.proto` files by the `opentelemetry-proto` crate 0.33.1 (OTLP 1.x,
//! `opentelemetry.proto.collector.trace.v1`), and the OTLP specification's rules for each
//! transport:
//!
//! - **gRPC**: `opentelemetry.proto.collector.trace.v1.TraceService/Export` on
//!   [`OtlpReceiver::grpc_addr`] (a real Collector's port 4317), served by tonic. A refused
//!   request gets `INVALID_ARGUMENT` with the reason.
//! - **HTTP**: `POST /v1/traces` on [`OtlpReceiver::http_addr`] (port 4318) with
//!   `Content-Type: application/x-protobuf` and an `ExportTraceServiceRequest` body; it is
//!   answered `200` with an `ExportTraceServiceResponse`, and refused with `400` and a
//!   protobuf `google.rpc.Status` body holding the reason, as the specification says. JSON
//!   bodies and compressed ones are refused with `415` (the stand-in reads neither); another
//!   path gets `404`, another method `405`.
//!
//! A request is accepted whole or refused whole (no partial success). What is checked, from
//! the comments of `trace.proto`: a trace id of 16 bytes and a span id of 8, neither all
//! zeros; a parent span id that is empty (a root span) or 8 bytes; a known span kind and
//! status code. What is recorded: ids hex-encoded, the resource's `service.name`, the kind,
//! attributes and events (every `AnyValue` kind), the status, start time and duration.
//! Links, trace state, flags, dropped counts and the instrumentation scope are not recorded.
//! Every refused request is recorded as a [`Rejection`](crate::trace::Rejection).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use kit_testkit::otlp::OtlpReceiver;
//!
//! let collector = OtlpReceiver::start().await;
//! let grpc = collector.grpc_endpoint(); // http://127.0.0.1:<port>
//! let http = collector.http_endpoint(); // http://127.0.0.1:<port>/v1/traces
//! // ... a service exports its spans to one of them, then the test waits for them:
//! // collector.received().wait_for_spans(3, Duration::from_secs(10)).await
//! # let _ = (grpc, http);
//! assert!(collector.received().spans().is_empty());
//! # }
//! ```
//!
//! For a test of spans inside one process, [`record_spans`] records them without a socket:
//! the SDK's spans converted to OTLP messages by `opentelemetry-proto`'s own conversion and
//! decoded as the receiver decodes them.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span as SpanMessage, span, status};
use prost::Message;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

use crate::free_addr;
use crate::stand_in::{Server, text, uncompressed};
use crate::trace::{AttrValue, Event, Received, Span, SpanKind, Status, hex};

/// The path OTLP/HTTP takes traces on.
pub const TRACES_PATH: &str = "/v1/traces";

/// The media type of OTLP/HTTP's protobuf bodies.
const PROTOBUF: &str = "application/x-protobuf";

/// An OTLP receiver on two loopback ports (gRPC, HTTP); stopped when dropped.
#[derive(Debug)]
pub struct OtlpReceiver {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    received: Received,
    grpc: JoinHandle<()>,
    _http: Server,
}

impl OtlpReceiver {
    /// Starts a receiver: gRPC and HTTP, each on a free loopback port.
    ///
    /// # Panics
    ///
    /// When a port cannot be bound.
    pub async fn start() -> OtlpReceiver {
        let received = Received::default();
        let grpc_addr = free_addr();
        let listener = TcpListener::bind(grpc_addr)
            .await
            .unwrap_or_else(|err| panic!("cannot bind the OTLP gRPC port {grpc_addr}: {err}"));
        let service = TraceServiceServer::new(GrpcExport {
            received: received.clone(),
        });
        let grpc = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener))
                .await;
        });
        let http_addr = free_addr();
        let record = received.clone();
        let http = Server::start(http_addr, move |request| {
            let record = record.clone();
            async move { handle_http(&record, &request) }
        })
        .await
        .unwrap_or_else(|err| panic!("cannot start the OTLP HTTP receiver on {http_addr}: {err}"));
        OtlpReceiver {
            grpc_addr,
            http_addr,
            received,
            grpc,
            _http: http,
        }
    }

    /// The address of its gRPC server.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The gRPC endpoint an OTLP exporter takes: `http://<grpc addr>`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The address of its HTTP server.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The traces URL an OTLP/HTTP exporter takes: `http://<http addr>/v1/traces`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}{TRACES_PATH}", self.http_addr)
    }

    /// The spans it accepted and the requests it refused, over both transports.
    pub fn received(&self) -> &Received {
        &self.received
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.grpc.abort();
    }
}

/// The gRPC `TraceService`.
struct GrpcExport {
    received: Received,
}

#[tonic::async_trait]
impl TraceService for GrpcExport {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match decode_request(request.into_inner()) {
            Ok(spans) => {
                self.received.add_spans(spans);
                Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
            }
            Err(reason) => {
                self.received.reject("gRPC TraceService/Export", &reason);
                Err(tonic::Status::invalid_argument(reason))
            }
        }
    }
}

/// `google.rpc.Status`, the body of a refused OTLP/HTTP request, written here from
/// `google/rpc/status.proto` (its `details` are never sent, so left out).
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    code: i32,
    /// Why.
    #[prost(string, tag = "2")]
    message: String,
}

/// `google.rpc.Code` `INVALID_ARGUMENT`.
const INVALID_ARGUMENT: i32 = 3;

fn handle_http(received: &Received, request: &Request<Bytes>) -> Response<Full<Bytes>> {
    match accept_http(request) {
        Ok(spans) => {
            received.add_spans(spans);
            protobuf(
                StatusCode::OK,
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
        }
        Err((status, reason)) => {
            let described = format!("{} {}", request.method(), request.uri().path());
            received.reject(&described, &reason);
            if status == StatusCode::BAD_REQUEST {
                let body = RpcStatus {
                    code: INVALID_ARGUMENT,
                    message: reason,
                };
                protobuf(status, body.encode_to_vec())
            } else {
                text(status, reason)
            }
        }
    }
}

fn accept_http(request: &Request<Bytes>) -> Result<Vec<Span>, (StatusCode, String)> {
    if request.uri().path() != TRACES_PATH {
        return Err((StatusCode::NOT_FOUND, "no such path".to_owned()));
    }
    if request.method() != Method::POST {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{TRACES_PATH} takes POST"),
        ));
    }
    let headers = request.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type != PROTOBUF {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the stand-in reads {PROTOBUF} bodies only, not {content_type:?}"),
        ));
    }
    uncompressed(request)?;
    let export = ExportTraceServiceRequest::decode(request.body().as_ref()).map_err(|err| {
        (
            StatusCode::BAD_REQUEST,
            format!("not an ExportTraceServiceRequest: {err}"),
        )
    })?;
    decode_request(export).map_err(|reason| (StatusCode::BAD_REQUEST, reason))
}

fn protobuf(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
    response
}

/// Installs, as the process's global `tracing` subscriber, kit-tracing's OpenTelemetry layer
/// (with kit's span bridge) on a tracer that samples every span at level INFO or above (not
/// the debug and trace spans of hyper and h2) and hands each one, as it ends, to the returned
/// record: spans of service `service_name`, decoded as the receiver
/// decodes an export. For tests of the spans kit's transports open (one test per process,
/// as nextest runs them).
///
/// # Panics
///
/// If a global subscriber is already installed.
pub fn record_spans(service_name: &'static str) -> Received {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let received = Received::default();
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name(service_name)
        .build();
    let exporter = Recorder {
        received: received.clone(),
        resource: (&resource).into(),
    };
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(resource)
        .with_simple_exporter(exporter)
        .build();
    let layer = kit_tracing::otel::layer(provider.tracer("kit-testkit"), 1.0);
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(layer);
    tracing::subscriber::set_global_default(subscriber)
        .expect("record_spans installs the global subscriber");
    received
}

/// The exporter of [`record_spans`].
#[derive(Debug)]
struct Recorder {
    received: Received,
    resource: opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema,
}

impl opentelemetry_sdk::trace::SpanExporter for Recorder {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        let resource_spans =
            opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                batch,
                &self.resource,
            );
        let request = ExportTraceServiceRequest { resource_spans };
        match decode_request(request) {
            Ok(spans) => self.received.add_spans(spans),
            Err(reason) => self.received.reject("record_spans", &reason),
        }
        Ok(())
    }
}

/// The spans of `request` in kit-testkit's model, or why it is refused.
fn decode_request(request: ExportTraceServiceRequest) -> Result<Vec<Span>, String> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service_name = resource_spans.resource.and_then(|resource| {
            resource
                .attributes
                .into_iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match attr_value(kv.value) {
                    AttrValue::String(name) => Some(name),
                    _ => None,
                })
        });
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let name = span.name.clone();
                let decoded = decode_span(span, service_name.clone())
                    .map_err(|reason| format!("span {name:?}: {reason}"))?;
                spans.push(decoded);
            }
        }
    }
    Ok(spans)
}

fn decode_span(span: SpanMessage, service_name: Option<String>) -> Result<Span, String> {
    let trace_id = id(&span.trace_id, 16, "trace id")?;
    let span_id = id(&span.span_id, 8, "span id")?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(id(&span.parent_span_id, 8, "parent span id")?)
    };
    let kind = match span::SpanKind::try_from(span.kind) {
        Ok(span::SpanKind::Unspecified) => SpanKind::Unspecified,
        Ok(span::SpanKind::Internal) => SpanKind::Internal,
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        Err(_) => return Err(format!("unknown span kind {}", span.kind)),
    };
    let status = match span.status {
        None => Status::Unset,
        Some(status) => match status::StatusCode::try_from(status.code) {
            Ok(status::StatusCode::Unset) => Status::Unset,
            Ok(status::StatusCode::Ok) => Status::Ok,
            Ok(status::StatusCode::Error) => Status::Error(status.message),
            Err(_) => return Err(format!("unknown status code {}", status.code)),
        },
    };
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name,
        kind,
        start_unix_nanos: Some(span.start_time_unix_nano),
        duration_nanos: Some(
            span.end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
        ),
        attributes: attributes(span.attributes),
        events: span
            .events
            .into_iter()
            .map(|event| Event {
                time_unix_nanos: event.time_unix_nano,
                name: event.name,
                attributes: attributes(event.attributes),
            })
            .collect(),
        status,
        service_name,
    })
}

/// `bytes` as hex when it is an id of `len` bytes that is not all zeros.
fn id(bytes: &[u8], len: usize, what: &str) -> Result<String, String> {
    if bytes.len() != len {
        return Err(format!("{what} has {} bytes, not {len}", bytes.len()));
    }
    if bytes.iter().all(|&b| b == 0) {
        return Err(format!("{what} is all zeros"));
    }
    Ok(hex(bytes))
}

fn attributes(list: Vec<KeyValue>) -> BTreeMap<String, AttrValue> {
    list.into_iter()
        .map(|kv| (kv.key, attr_value(kv.value)))
        .collect()
}

fn attr_value(value: Option<AnyValue>) -> AttrValue {
    match value.and_then(|value| value.value) {
        None => AttrValue::Empty,
        Some(any_value::Value::StringValue(s)) => AttrValue::String(s),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(b),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(i),
        Some(any_value::Value::DoubleValue(d)) => AttrValue::Double(d),
        Some(any_value::Value::BytesValue(bytes)) => AttrValue::Bytes(bytes),
        Some(any_value::Value::ArrayValue(array)) => AttrValue::Array(
            array
                .values
                .into_iter()
                .map(|value| attr_value(Some(value)))
                .collect(),
        ),
        Some(any_value::Value::KvlistValue(list)) => AttrValue::Map(attributes(list.values)),
        // A profiling-only reference into a string table: absent for other signals, as the
        // proto's comment says to treat it.
        Some(any_value::Value::StringValueStrindex(_)) => AttrValue::Empty,
    }
}
