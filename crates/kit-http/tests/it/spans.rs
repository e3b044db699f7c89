//! The spans kit-http opens with a span bridge installed (`kit_testkit::otlp::record_spans`
//! installs a global subscriber: one test per process, as nextest runs them).

use std::time::Duration;

use http::Method;
use kit::{Context, Endpoint, Error, endpoint_fn};
use kit_http::{Client, Router, Server, json, jsonrpc};
use kit_testkit::http::exchange;
use kit_testkit::trace::{AttrValue, Span, SpanKind, Status};
use serde_json::Value;

use crate::jsonrpc::spawn_rpc;
use crate::support::spawn;

const WAIT: Duration = Duration::from_secs(10);

fn attr(span: &Span, key: &str) -> Option<AttrValue> {
    span.attributes.get(key).cloned()
}

fn s(value: &str) -> Option<AttrValue> {
    Some(AttrValue::String(value.to_owned()))
}

fn named<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn echo_router() -> Router {
    let echo = endpoint_fn(|_ctx: Context, v: Value| async move { Ok::<_, Error>(v) });
    let fail = endpoint_fn(|_ctx: Context, _: Value| async move {
        Err::<Value, _>(Error::internal("disk on fire"))
    });
    Router::new()
        .route(
            Method::POST,
            "/echo/{id}",
            Server::new(echo, json::decode_request, json::encode_response),
        )
        .route(
            Method::POST,
            "/fail",
            Server::new(fail, json::decode_request, json::encode_response),
        )
}

#[tokio::test]
async fn a_call_makes_a_client_span_and_the_server_span_its_child() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn(echo_router()).await;
    let client = Client::new(
        Method::POST,
        format!("http://{addr}/echo/7").parse().unwrap(),
        json::encode_request,
        json::decode_response::<Value>,
    );
    let reply = client
        .call(Context::background(), serde_json::json!({"a": 1}))
        .await
        .unwrap();
    assert_eq!(reply, serde_json::json!({"a": 1}));
    let spans = received.wait_for_spans(2, WAIT).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let client = named(&spans, "POST");
    let server = named(&spans, "POST /echo/{id}");
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.trace_id, client.trace_id);
    assert_eq!(
        server.parent_span_id.as_deref(),
        Some(client.span_id.as_str())
    );
    assert_eq!(client.parent_span_id, None);
    assert_eq!(client.status, Status::Unset);
    assert_eq!(server.status, Status::Unset);
    let port = Some(AttrValue::Int(i64::from(addr.port())));
    assert_eq!(attr(client, "http.request.method"), s("POST"));
    assert_eq!(attr(client, "server.address"), s("127.0.0.1"));
    assert_eq!(attr(client, "server.port"), port);
    assert_eq!(
        attr(client, "url.full"),
        s(&format!("http://{addr}/echo/7"))
    );
    assert_eq!(
        attr(client, "http.response.status_code"),
        Some(AttrValue::Int(200))
    );
    assert_eq!(attr(server, "http.request.method"), s("POST"));
    assert_eq!(attr(server, "url.path"), s("/echo/7"));
    assert_eq!(attr(server, "url.scheme"), s("http"));
    assert_eq!(attr(server, "http.route"), s("/echo/{id}"));
    assert_eq!(
        attr(server, "http.response.status_code"),
        Some(AttrValue::Int(200))
    );
    assert_eq!(attr(server, "network.protocol.version"), s("1.1"));
    assert_eq!(attr(server, "server.address"), s("127.0.0.1"));
    assert_eq!(attr(server, "server.port"), port);
    assert_eq!(attr(server, "client.address"), s("127.0.0.1"));
    assert_eq!(attr(server, "error.type"), None);
}

#[tokio::test]
async fn a_w3c_parent_is_the_server_spans_parent_and_5xx_is_an_error() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn(echo_router()).await;
    let answer = exchange(
        addr,
        "POST /fail HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\nuser-agent: probe/1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        b"{}",
    )
    .await;
    assert_eq!(answer.status, 500);
    let spans = received.wait_for_spans(1, WAIT).await;
    let server = named(&spans, "POST /fail");
    assert_eq!(server.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(server.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(server.status, Status::Error("disk on fire".to_owned()));
    assert_eq!(attr(server, "error.type"), s("500"));
    assert_eq!(attr(server, "user_agent.original"), s("probe/1"));
    assert_eq!(
        attr(server, "http.response.status_code"),
        Some(AttrValue::Int(500))
    );
}

#[tokio::test]
async fn an_unknown_route_is_a_404_span_without_error() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn(echo_router()).await;
    let answer = exchange(
        addr,
        "GET /nowhere HTTP/1.1\r\nX-B3-TraceId: 4bf92f3577b34da6a3ce929d0e0e4736\r\nX-B3-SpanId: 00f067aa0ba902b7\r\nX-B3-Sampled: 1",
        b"",
    )
    .await;
    assert_eq!(answer.status, 404);
    let spans = received.wait_for_spans(1, WAIT).await;
    let server = named(&spans, "GET");
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(server.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(server.status, Status::Unset);
    assert_eq!(attr(server, "http.route"), None);
    assert_eq!(
        attr(server, "http.response.status_code"),
        Some(AttrValue::Int(404))
    );
    assert_eq!(attr(server, "error.type"), None);
}

#[tokio::test]
async fn each_jsonrpc_call_of_a_batch_has_its_server_span() {
    let received = kit_testkit::otlp::record_spans("svc");
    let echo = endpoint_fn(|_ctx: Context, v: Value| async move { Ok::<_, Error>(v) });
    let fail = endpoint_fn(|_ctx: Context, _: Value| async move {
        Err::<Value, _>(Error::internal("no luck"))
    });
    let methods = jsonrpc::Methods::new()
        .method("echo", echo, jsonrpc::decode_params, jsonrpc::encode_result)
        .method("fail", fail, jsonrpc::decode_params, jsonrpc::encode_result);
    let addr = spawn_rpc(Server::jsonrpc(methods)).await;
    let body = r#"[{"jsonrpc":"2.0","method":"echo","params":[1],"id":"a"},{"jsonrpc":"2.0","method":"fail","id":2},{"jsonrpc":"2.0","method":"nope","id":3}]"#;
    let head = format!(
        "POST /rpc HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        body.len()
    );
    let answer = exchange(addr, &head, body.as_bytes()).await;
    assert_eq!(answer.status, 200);
    let spans = received.wait_for_spans(3, WAIT).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.kind, SpanKind::Server);
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(attr(span, "rpc.system"), s("jsonrpc"));
        assert_eq!(attr(span, "rpc.jsonrpc.version"), s("2.0"));
        assert_eq!(attr(span, "rpc.method"), s(&span.name));
    }
    let echo = named(&spans, "echo");
    assert_eq!(echo.status, Status::Unset);
    assert_eq!(attr(echo, "rpc.jsonrpc.request_id"), s("a"));
    assert_eq!(attr(echo, "rpc.jsonrpc.error_code"), None);
    let fail = named(&spans, "fail");
    assert_eq!(fail.status, Status::Error("no luck".to_owned()));
    assert_eq!(attr(fail, "rpc.jsonrpc.request_id"), s("2"));
    assert_eq!(
        attr(fail, "rpc.jsonrpc.error_code"),
        Some(AttrValue::Int(-32603))
    );
    assert_eq!(attr(fail, "rpc.jsonrpc.error_message"), s("no luck"));
    let nope = named(&spans, "nope");
    assert_eq!(
        nope.status,
        Status::Error("method not found: nope".to_owned())
    );
    assert_eq!(
        attr(nope, "rpc.jsonrpc.error_code"),
        Some(AttrValue::Int(-32601))
    );
    assert_eq!(
        attr(nope, "rpc.jsonrpc.error_message"),
        s("method not found: nope")
    );
}

#[tokio::test]
async fn a_handlers_span_nests_under_the_server_span_and_its_calls_under_it() {
    use tracing::Instrument as _;

    let received = kit_testkit::otlp::record_spans("svc");
    let inner = spawn(echo_router()).await;
    let downstream = Client::new(
        Method::POST,
        format!("http://{inner}/echo/1").parse().unwrap(),
        json::encode_request,
        json::decode_response::<Value>,
    );
    let downstream = std::sync::Arc::new(downstream);
    let front = endpoint_fn(move |ctx: Context, v: Value| {
        let downstream = downstream.clone();
        async move {
            tracing::info!("front called");
            downstream
                .call(ctx, v)
                .instrument(tracing::info_span!("work"))
                .await
        }
    });
    let front = Router::new().route(
        Method::POST,
        "/front",
        Server::new(front, json::decode_request, json::encode_response),
    );
    let addr = spawn(front).await;
    let answer = exchange(
        addr,
        "POST /front HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        b"{}",
    )
    .await;
    assert_eq!(answer.status, 200);
    let spans = received.wait_for_spans(4, WAIT).await;
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let front = named(&spans, "POST /front");
    let work = named(&spans, "work");
    let call = named(&spans, "POST");
    let served = named(&spans, "POST /echo/{id}");
    for span in &spans {
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    assert_eq!(front.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(work.kind, SpanKind::Internal);
    assert_eq!(work.parent_span_id.as_deref(), Some(front.span_id.as_str()));
    assert_eq!(call.parent_span_id.as_deref(), Some(work.span_id.as_str()));
    assert_eq!(
        served.parent_span_id.as_deref(),
        Some(call.span_id.as_str())
    );
}

#[tokio::test]
async fn a_custom_error_decoder_leaves_the_status_as_the_error_type() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn(echo_router()).await;
    // The decoder's error carries no `HttpStatus` hint: the answer's status is still the
    // error type, recorded once.
    let client = Client::new(
        Method::POST,
        format!("http://{addr}/fail").parse().unwrap(),
        json::encode_request,
        json::decode_response::<Value>,
    )
    .error_decoder(|_parts, _body| Error::unavailable("upstream broke"));
    let err = client
        .call(Context::background(), serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.message(), "upstream broke");
    let spans = received.wait_for_spans(2, WAIT).await;
    let call = named(&spans, "POST");
    assert_eq!(call.kind, SpanKind::Client);
    assert_eq!(call.status, Status::Error("upstream broke".to_owned()));
    assert_eq!(attr(call, "error.type"), s("500"));
    assert_eq!(
        attr(call, "http.response.status_code"),
        Some(AttrValue::Int(500))
    );
}

fn rpc_methods() -> jsonrpc::Methods {
    let echo = endpoint_fn(|_ctx: Context, v: Value| async move { Ok::<_, Error>(v) });
    let fail = endpoint_fn(|_ctx: Context, _: Value| async move {
        Err::<Value, _>(Error::internal("no luck"))
    });
    jsonrpc::Methods::new()
        .method("echo", echo, jsonrpc::decode_params, jsonrpc::encode_result)
        .method("fail", fail, jsonrpc::decode_params, jsonrpc::encode_result)
}

/// The span of `kind` named `name`.
fn found<'a>(spans: &'a [Span], name: &str, kind: SpanKind) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name && span.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} span {name} in {spans:#?}"))
}

#[tokio::test]
async fn a_jsonrpc_call_makes_a_client_span_and_the_server_span_its_child() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn_rpc(Server::jsonrpc(rpc_methods())).await;
    let uri: http::Uri = format!("http://{addr}/rpc").parse().unwrap();
    let echo = jsonrpc::Client::new(
        uri.clone(),
        "echo",
        jsonrpc::encode_params::<Value>,
        jsonrpc::decode_result::<Value>,
    );
    let fail = jsonrpc::Client::new(
        uri,
        "fail",
        jsonrpc::encode_params::<Value>,
        jsonrpc::decode_result::<Value>,
    );
    let reply = echo
        .call(Context::background(), serde_json::json!([5]))
        .await
        .unwrap();
    assert_eq!(reply, serde_json::json!([5]));
    let err = fail
        .call(Context::background(), serde_json::json!([]))
        .await
        .unwrap_err();
    assert_eq!(err.message(), "no luck");
    let spans = received.wait_for_spans(4, WAIT).await;
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let port = Some(AttrValue::Int(i64::from(addr.port())));
    for name in ["echo", "fail"] {
        let client = found(&spans, name, SpanKind::Client);
        let server = found(&spans, name, SpanKind::Server);
        assert_eq!(client.parent_span_id, None);
        assert_eq!(server.trace_id, client.trace_id);
        assert_eq!(
            server.parent_span_id.as_deref(),
            Some(client.span_id.as_str())
        );
        assert_eq!(attr(client, "rpc.system"), s("jsonrpc"));
        assert_eq!(attr(client, "rpc.jsonrpc.version"), s("2.0"));
        assert_eq!(attr(client, "rpc.method"), s(name));
        assert_eq!(attr(client, "server.address"), s("127.0.0.1"));
        assert_eq!(attr(client, "server.port"), port);
        // Each client numbers its calls from 1.
        assert_eq!(attr(client, "rpc.jsonrpc.request_id"), s("1"));
        assert_eq!(attr(server, "rpc.jsonrpc.request_id"), s("1"));
        assert_eq!(attr(client, "error.type"), None);
    }
    let echo = found(&spans, "echo", SpanKind::Client);
    assert_eq!(echo.status, Status::Unset);
    assert_eq!(attr(echo, "rpc.jsonrpc.error_code"), None);
    let fail = found(&spans, "fail", SpanKind::Client);
    assert_eq!(fail.status, Status::Error("no luck".to_owned()));
    assert_eq!(
        attr(fail, "rpc.jsonrpc.error_code"),
        Some(AttrValue::Int(-32603))
    );
    assert_eq!(attr(fail, "rpc.jsonrpc.error_message"), s("no luck"));
}

/// A server on `listener` that answers one request with `200 {}` and hands its head over.
async fn raw_downstream(listener: tokio::net::TcpListener) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (mut stream, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert_ne!(n, 0, "the client closed before its head ended");
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(head).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    // The reads may have brought part of the body along with the head.
    let mut rest = vec![0u8; length - body.len()];
    stream.read_exact(&mut rest).await.unwrap();
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
    head.to_ascii_lowercase()
}

/// A `POST /front` server whose handler calls `downstream`'s `/down`.
async fn spawn_front(downstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let client = std::sync::Arc::new(Client::new(
        Method::POST,
        format!("http://{downstream}/down").parse().unwrap(),
        json::encode_request,
        json::decode_response::<Value>,
    ));
    let front = endpoint_fn(move |ctx: Context, v: Value| {
        let client = client.clone();
        async move { client.call(ctx, v).await }
    });
    spawn(Router::new().route(
        Method::POST,
        "/front",
        Server::new(front, json::decode_request, json::encode_response),
    ))
    .await
}

const B3_HEAD: &str = "POST /front HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\nX-B3-TraceId: 4bf92f3577b34da6a3ce929d0e0e4736\r\nX-B3-SpanId: 00f067aa0ba902b7\r\nX-B3-Sampled: ";

/// The value of the header `name` (lower case) in the lower-cased `head`.
fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[tokio::test]
async fn b3_multi_headers_are_the_parent_of_a_sampled_request() {
    let received = kit_testkit::otlp::record_spans("svc");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = spawn_front(listener.local_addr().unwrap()).await;
    let downstream = tokio::spawn(raw_downstream(listener));
    let answer = exchange(front, &format!("{B3_HEAD}1"), b"{}").await;
    assert_eq!(answer.status, 200);
    let sent = downstream.await.unwrap();
    let spans = received.wait_for_spans(2, WAIT).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let server = named(&spans, "POST /front");
    let call = named(&spans, "POST");
    assert_eq!(server.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(server.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(server.status, Status::Unset);
    assert_eq!(
        call.parent_span_id.as_deref(),
        Some(server.span_id.as_str())
    );
    // The downstream call carries the client span's position in both formats.
    assert_eq!(
        header(&sent, "traceparent"),
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", call.span_id)
    );
    assert_eq!(
        header(&sent, "x-b3-traceid"),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(header(&sent, "x-b3-spanid"), call.span_id);
    assert_eq!(header(&sent, "x-b3-parentspanid"), server.span_id);
    assert_eq!(header(&sent, "x-b3-sampled"), "1");
}

#[tokio::test]
async fn an_unsampled_b3_request_exports_no_span_and_passes_the_decision_on() {
    let received = kit_testkit::otlp::record_spans("svc");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = spawn_front(listener.local_addr().unwrap()).await;
    let downstream = tokio::spawn(raw_downstream(listener));
    let answer = exchange(front, &format!("{B3_HEAD}0"), b"{}").await;
    assert_eq!(answer.status, 200);
    let sent = downstream.await.unwrap();
    let traceparent = header(&sent, "traceparent");
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
            && traceparent.ends_with("-00"),
        "{traceparent}"
    );
    assert_eq!(
        header(&sent, "x-b3-traceid"),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(header(&sent, "x-b3-sampled"), "0");
    // A sampled request afterwards is exported alone: the unsampled one left nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = spawn_front(listener.local_addr().unwrap()).await;
    let downstream = tokio::spawn(raw_downstream(listener));
    let answer = exchange(front, &format!("{B3_HEAD}1"), b"{}").await;
    assert_eq!(answer.status, 200);
    downstream.await.unwrap();
    let spans = received.wait_for_spans(2, WAIT).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    let server = named(&spans, "POST /front");
    assert_eq!(server.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
}

/// A `POST /front` server whose handler opens a span of its own, `lookup`, hands its
/// position over on `seen`, and calls `downstream`'s `/down` inside it.
async fn spawn_front_with_lookup(
    downstream: std::net::SocketAddr,
    seen: tokio::sync::mpsc::UnboundedSender<Option<kit::trace::TraceContext>>,
) -> std::net::SocketAddr {
    use tracing::Instrument as _;

    let client = std::sync::Arc::new(Client::new(
        Method::POST,
        format!("http://{downstream}/down").parse().unwrap(),
        json::encode_request,
        json::decode_response::<Value>,
    ));
    let front = endpoint_fn(move |ctx: Context, v: Value| {
        let client = client.clone();
        let seen = seen.clone();
        async move {
            let lookup = tracing::info_span!("lookup");
            let bridge = kit::trace::span::bridge().expect("record_spans installs the bridge");
            seen.send(bridge.context(&lookup)).unwrap();
            client.call(ctx, v).instrument(lookup).await
        }
    });
    spawn(Router::new().route(
        Method::POST,
        "/front",
        Server::new(front, json::decode_request, json::encode_response),
    ))
    .await
}

#[tokio::test]
async fn a_handlers_span_in_an_unsampled_request_joins_its_trace_unsampled() {
    let received = kit_testkit::otlp::record_spans("svc");
    let (seen, mut positions) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = spawn_front_with_lookup(listener.local_addr().unwrap(), seen.clone()).await;
    let downstream = tokio::spawn(raw_downstream(listener));
    let answer = exchange(
        front,
        "POST /front HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        b"{}",
    )
    .await;
    assert_eq!(answer.status, 200);
    let sent = downstream.await.unwrap();
    // The handler's span is in the caller's trace, not sampled: not the root of a new one.
    let lookup = positions.recv().await.unwrap().expect("the span is traced");
    assert_eq!(
        lookup.trace_id().to_hex().as_str(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(lookup.sampled(), Some(false));
    // The call made inside it passes the trace on, not sampled, as the span's child.
    let traceparent = header(&sent, "traceparent");
    assert!(
        traceparent.starts_with("00-0af7651916cd43dd8448eb211c80319c-")
            && traceparent.ends_with("-00"),
        "{traceparent}"
    );
    assert_eq!(header(&sent, "x-b3-sampled"), "0");
    assert_eq!(
        header(&sent, "x-b3-parentspanid"),
        lookup.span_id().to_hex().as_str()
    );
    // A sampled request afterwards exports its three spans alone: the unsampled one left
    // nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = spawn_front_with_lookup(listener.local_addr().unwrap(), seen).await;
    let downstream = tokio::spawn(raw_downstream(listener));
    let answer = exchange(front, &format!("{B3_HEAD}1"), b"{}").await;
    assert_eq!(answer.status, 200);
    downstream.await.unwrap();
    let lookup = positions.recv().await.unwrap().expect("the span is traced");
    assert_eq!(lookup.sampled(), Some(true));
    let spans = received.wait_for_spans(3, WAIT).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    let server = named(&spans, "POST /front");
    let user = named(&spans, "lookup");
    assert_eq!(
        user.parent_span_id.as_deref(),
        Some(server.span_id.as_str())
    );
    assert_eq!(user.span_id, lookup.span_id().to_hex().as_str());
}

/// Counts the server spans opened (sampled or not).
struct OpenedServerSpans(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for OpenedServerSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().target() == kit::trace::span::SERVER_TARGET {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn requests_starting_traces_open_a_span_only_when_sampled_at_the_ratio() {
    use kit_tracing::otel::{OtlpProtocol, Tracing};
    use tracing_subscriber::layer::SubscriberExt as _;

    const REQUESTS: usize = 2000;
    let receiver = kit_testkit::otlp::OtlpReceiver::start().await;
    let tracing = Tracing::builder("svc")
        .otlp(receiver.grpc_endpoint(), OtlpProtocol::Grpc)
        .sample_ratio(0.5)
        .start()
        .unwrap();
    let opened = std::sync::Arc::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(tracing.layer())
        .with(OpenedServerSpans(std::sync::Arc::clone(&opened)));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let addr = spawn(crate::support::sum_router()).await;
    let mut connection = kit_testkit::http::Connection::open(addr).await;
    // The head and the body go in two writes: without this, each waits for a delayed ack.
    connection.stream().set_nodelay(true).unwrap();
    for _ in 0..REQUESTS {
        let answer = connection.request("POST", "/sum", r#"{"a":1,"b":2}"#).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    // Every request's span is opened before its answer is written.
    let opened = opened.load(std::sync::atomic::Ordering::Relaxed);
    tracing.handle().flush().await;
    let spans = receiver.received().wait_for_spans(opened, WAIT).await;
    // Every span opened was sampled and exported: no request opened one to drop it.
    assert_eq!(spans.len(), opened);
    assert!(
        spans
            .iter()
            .all(|span| span.kind == SpanKind::Server && span.parent_span_id.is_none())
    );
    // Binomial(2000, 0.5): 1000 with a standard deviation of 22; 150 off is 6.7 of them.
    assert!(
        (850..=1150).contains(&opened),
        "{opened} of {REQUESTS} sampled"
    );
}
