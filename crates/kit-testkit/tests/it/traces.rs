//! The trace receivers: a Zipkin v2 JSON batch and OTLP export requests (gRPC and HTTP)
//! recorded exactly, bad ones refused with their reasons.

use std::collections::BTreeMap;
use std::time::Duration;

use kit_testkit::http;
use kit_testkit::otlp::OtlpReceiver;
use kit_testkit::trace::{AttrValue, Event, Rejection, Span, SpanKind, Status, tree};
use kit_testkit::zipkin::ZipkinReceiver;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{self as proto, ResourceSpans, ScopeSpans};
use prost::Message;

/// How long a test waits for spans that were sent before it waits.
const WAIT: Duration = Duration::from_secs(5);

/// A batch in the shape of the Zipkin API v2 documentation's example: a server span with
/// both endpoints and tags under a 64-bit trace id, and a local child span with an
/// annotation and an `error` tag.
const ZIPKIN_BATCH: &str = r#"[
  {
    "id": "352bff9a74ca9ad2",
    "traceId": "5af7183fb1d4cf5f",
    "parentId": "6b221d5bc9e6496c",
    "name": "get /api",
    "timestamp": 1556604172355737,
    "duration": 1431,
    "kind": "SERVER",
    "localEndpoint": {"serviceName": "backend", "ipv4": "192.168.99.1", "port": 3306},
    "remoteEndpoint": {"ipv4": "172.19.0.2", "port": 58648},
    "tags": {"http.method": "GET", "http.path": "/api"},
    "shared": true
  },
  {
    "id": "b7",
    "traceId": "5af7183fb1d4cf5f",
    "parentId": "352bff9a74ca9ad2",
    "name": "query",
    "timestamp": 1556604172355800,
    "duration": 1000,
    "localEndpoint": {"serviceName": "backend"},
    "annotations": [{"timestamp": 1556604172355900, "value": "retry"}],
    "tags": {"error": "timeout", "db.rows": 3},
    "debug": false
  }
]"#;

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, AttrValue> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), AttrValue::from(*value)))
        .collect()
}

#[tokio::test]
async fn a_zipkin_batch_is_accepted_and_recorded_exactly() {
    let zipkin = ZipkinReceiver::start().await;
    let answer = http::request(zipkin.addr(), "POST", "/api/v2/spans", ZIPKIN_BATCH).await;
    assert_eq!((answer.status, answer.body.as_str()), (202, ""));

    let spans = zipkin.received().wait_for_spans(2, WAIT).await;
    let trace_id = "00000000000000005af7183fb1d4cf5f";
    assert_eq!(
        spans,
        [
            Span {
                trace_id: trace_id.to_owned(),
                span_id: "352bff9a74ca9ad2".to_owned(),
                parent_span_id: Some("6b221d5bc9e6496c".to_owned()),
                name: "get /api".to_owned(),
                kind: SpanKind::Server,
                start_unix_nanos: Some(1_556_604_172_355_737_000),
                duration_nanos: Some(1_431_000),
                attributes: strings(&[("http.method", "GET"), ("http.path", "/api")]),
                events: Vec::new(),
                status: Status::Unset,
                service_name: Some("backend".to_owned()),
            },
            Span {
                trace_id: trace_id.to_owned(),
                span_id: "00000000000000b7".to_owned(),
                parent_span_id: Some("352bff9a74ca9ad2".to_owned()),
                name: "query".to_owned(),
                kind: SpanKind::Internal,
                start_unix_nanos: Some(1_556_604_172_355_800_000),
                duration_nanos: Some(1_000_000),
                attributes: strings(&[("db.rows", "3"), ("error", "timeout")]),
                events: vec![Event {
                    time_unix_nanos: 1_556_604_172_355_900_000,
                    name: "retry".to_owned(),
                    attributes: BTreeMap::new(),
                }],
                status: Status::Error("timeout".to_owned()),
                service_name: Some("backend".to_owned()),
            },
        ]
    );
    assert_eq!(
        tree(&spans),
        "backend: get /api (Server)\n  backend: query (Internal) !timeout\n"
    );
    assert_eq!(zipkin.received().rejections(), []);
}

#[tokio::test]
async fn bad_zipkin_requests_are_refused_with_their_reasons_and_recorded() {
    let zipkin = ZipkinReceiver::start().await;
    let cases = [
        (
            "/api/v2/spans",
            r#"[{"traceId":"5af7183fb1d4cf5f","id":"b7"},{"id":"b8","name":"lost"}]"#,
            400,
            "span 1: traceId is required",
        ),
        (
            "/api/v2/spans",
            r#"[{"traceId":"5AF7183FB1D4CF5F","id":"b7"}]"#,
            400,
            "span 0: traceId \"5AF7183FB1D4CF5F\" is not lowercase hex",
        ),
        (
            "/api/v2/spans",
            r#"[{"traceId":"5af7183fb1d4cf5f","id":"0000"}]"#,
            400,
            "span 0: id \"0000\" is all zeros",
        ),
        (
            "/api/v2/spans",
            r#"[{"traceId":"5af7183fb1d4cf5f","id":"b7","kind":"LOCAL"}]"#,
            400,
            "span 0: unknown kind \"LOCAL\"",
        ),
        (
            "/api/v2/spans",
            r#"{"traceId":"5af7183fb1d4cf5f","id":"b7"}"#,
            400,
            "expected a JSON array of spans",
        ),
        ("/api/v1/spans", "[]", 404, "no such path"),
    ];
    for (path, body, status, reason) in cases {
        let answer = http::request(zipkin.addr(), "POST", path, body).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (status, reason),
            "{body}"
        );
    }
    let expected: Vec<Rejection> = cases
        .iter()
        .map(|(path, _, _, reason)| Rejection {
            request: format!("POST {path}"),
            reason: (*reason).to_owned(),
        })
        .collect();
    assert_eq!(zipkin.received().rejections(), expected);
    // A refused batch is refused whole: its valid first span was not kept.
    assert_eq!(zipkin.received().spans(), []);
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn string(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

const TRACE_ID: [u8; 16] = [
    0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c,
];

/// An export request from service `addsvc`: a server span and its client child, with
/// attributes of every kind, an event and an error status.
fn export_request() -> ExportTraceServiceRequest {
    let server = proto::Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: vec![0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
        name: "POST /sum".to_owned(),
        kind: proto::span::SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_002_500_000,
        attributes: vec![
            kv("http.response.status_code", any_value::Value::IntValue(200)),
            kv("url.path", string("/sum")),
        ],
        status: Some(proto::Status {
            message: String::new(),
            code: proto::status::StatusCode::Ok as i32,
        }),
        ..proto::Span::default()
    };
    let client = proto::Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        parent_span_id: server.span_id.clone(),
        name: "Sum".to_owned(),
        kind: proto::span::SpanKind::Client as i32,
        start_time_unix_nano: 1_700_000_000_000_100_000,
        end_time_unix_nano: 1_700_000_000_002_000_000,
        attributes: vec![
            kv("retry", any_value::Value::BoolValue(false)),
            kv("ratio", any_value::Value::DoubleValue(0.5)),
            kv(
                "peers",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(string("a")),
                    }],
                }),
            ),
            kv(
                "labels",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![kv("zone", string("z1"))],
                }),
            ),
            kv("raw", any_value::Value::BytesValue(vec![0xff])),
        ],
        events: vec![proto::span::Event {
            time_unix_nano: 1_700_000_000_001_000_000,
            name: "exception".to_owned(),
            attributes: vec![kv("exception.message", string("deadline exceeded"))],
            ..proto::span::Event::default()
        }],
        status: Some(proto::Status {
            message: "deadline exceeded".to_owned(),
            code: proto::status::StatusCode::Error as i32,
        }),
        ..proto::Span::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string("addsvc"))],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![server, client],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// What [`export_request`] is recorded as.
fn expected_spans() -> Vec<Span> {
    let trace_id = "0af7651916cd43dd8448eb211c80319c".to_owned();
    let service_name = Some("addsvc".to_owned());
    vec![
        Span {
            trace_id: trace_id.clone(),
            span_id: "00f067aa0ba902b7".to_owned(),
            parent_span_id: None,
            name: "POST /sum".to_owned(),
            kind: SpanKind::Server,
            start_unix_nanos: Some(1_700_000_000_000_000_000),
            duration_nanos: Some(2_500_000),
            attributes: BTreeMap::from([
                ("http.response.status_code".to_owned(), AttrValue::Int(200)),
                ("url.path".to_owned(), AttrValue::from("/sum")),
            ]),
            events: Vec::new(),
            status: Status::Ok,
            service_name: service_name.clone(),
        },
        Span {
            trace_id,
            span_id: "0102030405060708".to_owned(),
            parent_span_id: Some("00f067aa0ba902b7".to_owned()),
            name: "Sum".to_owned(),
            kind: SpanKind::Client,
            start_unix_nanos: Some(1_700_000_000_000_100_000),
            duration_nanos: Some(1_900_000),
            attributes: BTreeMap::from([
                (
                    "labels".to_owned(),
                    AttrValue::Map(BTreeMap::from([("zone".to_owned(), AttrValue::from("z1"))])),
                ),
                (
                    "peers".to_owned(),
                    AttrValue::Array(vec![AttrValue::from("a")]),
                ),
                ("ratio".to_owned(), AttrValue::Double(0.5)),
                ("raw".to_owned(), AttrValue::Bytes(vec![0xff])),
                ("retry".to_owned(), AttrValue::Bool(false)),
            ]),
            events: vec![Event {
                time_unix_nanos: 1_700_000_000_001_000_000,
                name: "exception".to_owned(),
                attributes: strings(&[("exception.message", "deadline exceeded")]),
            }],
            status: Status::Error("deadline exceeded".to_owned()),
            service_name,
        },
    ]
}

#[tokio::test]
async fn an_otlp_grpc_export_is_recorded_exactly() {
    let collector = OtlpReceiver::start().await;
    let mut client = TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .expect("connect to the OTLP gRPC receiver");
    let response = client.export(export_request()).await.expect("export");
    assert_eq!(response.into_inner().partial_success, None);

    let spans = collector.received().wait_for_spans(2, WAIT).await;
    assert_eq!(spans, expected_spans());
    assert_eq!(
        tree(&spans),
        "addsvc: POST /sum (Server)\n  addsvc: Sum (Client) !deadline exceeded\n"
    );
    assert_eq!(collector.received().rejections(), []);
}

#[tokio::test]
async fn a_bad_otlp_grpc_export_is_refused_as_an_invalid_argument() {
    let collector = OtlpReceiver::start().await;
    let mut client = TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .expect("connect to the OTLP gRPC receiver");
    let mut request = export_request();
    request.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![1; 15];
    let status = client.export(request).await.expect_err("refused");
    let reason = "span \"Sum\": trace id has 15 bytes, not 16";
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::InvalidArgument, reason)
    );
    assert_eq!(
        collector.received().rejections(),
        [Rejection {
            request: "gRPC TraceService/Export".to_owned(),
            reason: reason.to_owned(),
        }]
    );
    assert_eq!(collector.received().spans(), []);
}

/// `POST /v1/traces` with `body` and `content_type`, on a fresh connection.
async fn post_traces(collector: &OtlpReceiver, content_type: &str, body: &[u8]) -> http::Answer {
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {}",
        body.len()
    );
    http::exchange(collector.http_addr(), &head, body).await
}

#[tokio::test]
async fn an_otlp_http_export_is_recorded_exactly() {
    let collector = OtlpReceiver::start().await;
    let answer = post_traces(
        &collector,
        "application/x-protobuf",
        &export_request().encode_to_vec(),
    )
    .await;
    // An ExportTraceServiceResponse without partial success encodes to no bytes.
    assert_eq!(
        (
            answer.status,
            answer.header("content-type"),
            answer.body.as_str()
        ),
        (200, Some("application/x-protobuf"), "")
    );
    assert_eq!(
        collector.received().wait_for_spans(2, WAIT).await,
        expected_spans()
    );
    assert_eq!(collector.received().rejections(), []);
}

#[tokio::test]
async fn bad_otlp_http_exports_are_refused_with_their_reasons() {
    let collector = OtlpReceiver::start().await;
    let mut request = export_request();
    request.resource_spans[0].scope_spans[0].spans[0].span_id = vec![0; 8];
    let answer = post_traces(
        &collector,
        "application/x-protobuf",
        &request.encode_to_vec(),
    )
    .await;
    let reason = "span \"POST /sum\": span id is all zeros";
    // A google.rpc.Status: field 1 (code) = 3, INVALID_ARGUMENT; field 2 (message).
    let status_body = format!("\x08\x03\x12{}{reason}", char::from(reason.len() as u8));
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (400, status_body.as_str())
    );

    let answer = post_traces(&collector, "application/json", b"{}").await;
    let json_reason =
        "the stand-in reads application/x-protobuf bodies only, not \"application/json\"";
    assert_eq!((answer.status, answer.body.as_str()), (415, json_reason));

    assert_eq!(
        collector.received().rejections(),
        [
            Rejection {
                request: "POST /v1/traces".to_owned(),
                reason: reason.to_owned(),
            },
            Rejection {
                request: "POST /v1/traces".to_owned(),
                reason: json_reason.to_owned(),
            },
        ]
    );
    assert_eq!(collector.received().spans(), []);
}

#[tokio::test]
async fn waiting_for_spans_that_do_not_come_panics_with_what_was_received() {
    let zipkin = ZipkinReceiver::start().await;
    let one = r#"[{"traceId":"5af7183fb1d4cf5f","id":"b7","name":"only"}]"#;
    let answer = http::request(zipkin.addr(), "POST", "/api/v2/spans", one).await;
    assert_eq!(answer.status, 202);
    let received = zipkin.received().clone();
    let message = crate::async_panic_message(async move {
        received.wait_for_spans(2, Duration::from_millis(50)).await
    })
    .await;
    let head =
        "timed out after 50ms waiting for 2 spans; received 1:\n?: only (Internal)\nspans: [";
    assert!(message.starts_with(head), "{message}");
}

#[test]
fn record_spans_records_spans_as_they_end_with_kind_attributes_and_parents() {
    let received = kit_testkit::otlp::record_spans("recorded");
    {
        let outer = tracing::info_span!(
            "outer",
            otel.name = "GET /x",
            otel.kind = "server",
            n = 3_i64
        );
        let _inner = outer.in_scope(|| tracing::info_span!("inner"));
    }
    let spans = received.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (inner, outer) = (&spans[0], &spans[1]);
    assert_eq!(outer.name, "GET /x");
    assert_eq!(outer.kind, SpanKind::Server);
    assert_eq!(outer.service_name.as_deref(), Some("recorded"));
    assert_eq!(outer.attributes.get("n"), Some(&AttrValue::Int(3)));
    assert_eq!(outer.parent_span_id, None);
    assert_eq!(inner.name, "inner");
    assert_eq!(inner.kind, SpanKind::Internal);
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(inner.parent_span_id.as_ref(), Some(&outer.span_id));
    assert!(received.rejections().is_empty());
}

#[test]
fn record_spans_leaves_out_debug_spans_and_tracing_opentelemetrys_extra_attributes() {
    let received = kit_testkit::otlp::record_spans("recorded");
    drop(tracing::debug_span!("h2 internals"));
    drop(tracing::info_span!("kept", k = "v"));
    let spans = received.spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].name, "kept");
    assert_eq!(spans[0].attributes, strings(&[("k", "v")]));
}
