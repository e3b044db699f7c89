//! The spans of calls while a span bridge is installed: each test that records spans
//! installs kit-tracing's OpenTelemetry layer as the process's subscriber
//! ([`kit_testkit::otlp::record_spans`]), so these tests need a process each, as nextest
//! runs them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

use kit::request_scope::RequestScope;
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use kit_grpc::BoxServer;
use kit_testkit::trace::{AttrValue, Received, Span, SpanKind, Status, tree};
use tokio::net::TcpListener;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::{Request, Response, Status as GrpcStatus};
use tracing::Instrument as _;

use crate::pb;
use crate::support::{EchoClient, channel, echo_client, echo_request, sum_client};

/// How long the spans of a few calls may take to be recorded.
const WAIT: Duration = Duration::from_secs(10);

/// Waits until `n` spans have been recorded and returns them.
async fn wait_for_spans(received: &Received, n: usize) -> Vec<Span> {
    received.wait_for_spans(n, WAIT).await
}

/// `test.Echo` for span tests: `Echo` fails with `fail_code` and `message` when asked, calls
/// `Sum` on the same server inside a span of its own when the message is `nest`, and
/// answers with the fields of its request scope as a log line shows them (`name=value `).
struct Traced {
    echo: BoxServer<pb::EchoRequest, pb::EchoReply>,
    sum: BoxServer<pb::SumRequest, pb::SumReply>,
}

#[tonic::async_trait]
impl pb::echo_server::Echo for Traced {
    async fn echo(
        &self,
        r: Request<pb::EchoRequest>,
    ) -> Result<Response<pb::EchoReply>, GrpcStatus> {
        self.echo.serve(r).await
    }

    async fn sum(&self, r: Request<pb::SumRequest>) -> Result<Response<pb::SumReply>, GrpcStatus> {
        self.sum.serve(r).await
    }
}

/// Serves [`Traced`] with [`kit_grpc::serve`] on a free loopback port.
async fn spawn() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let nested = sum_client(channel(addr));
    let echo = endpoint_fn(move |ctx: Context, r: pb::EchoRequest| {
        let nested = nested.clone();
        async move {
            if r.fail_code != 0 {
                return Err(Error::new(
                    Code::from_number(r.fail_code).unwrap(),
                    r.message,
                ));
            }
            if r.message == "nest" {
                nested
                    .call(ctx.clone(), (1, 2))
                    .instrument(tracing::info_span!("work"))
                    .await?;
            }
            let mut fields = String::new();
            RequestScope::with_current(|scope| {
                scope.for_each_field(|name, value| write!(fields, "{name}={value} "))
            })
            .expect("served in a request scope")
            .unwrap();
            Ok(pb::EchoReply {
                message: fields,
                ..Default::default()
            })
        }
    });
    let sum = endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move { Ok::<_, Error>(a + b) });
    let service = Traced {
        echo: kit_grpc::Server::new(echo, Ok, Ok).boxed(),
        sum: kit_grpc::Server::new(
            sum,
            |r: pb::SumRequest| Ok((r.a, r.b)),
            |v| Ok(pb::SumReply { v }),
        )
        .boxed(),
    };
    let routes = tonic::service::Routes::new(pb::echo_server::EchoServer::new(service));
    tokio::spawn(kit_grpc::serve(listener, routes).into_future());
    addr
}

/// A client of `Echo` sending `pairs` as raw metadata, and no trace of its own.
fn raw_client(addr: SocketAddr, pairs: &'static [(&'static str, &'static str)]) -> EchoClient {
    echo_client(channel(addr))
        .trace_propagation(kit::trace::Propagation::NONE)
        .before(move |_: &Context, metadata: &mut MetadataMap| {
            for (key, value) in pairs {
                metadata.insert(*key, AsciiMetadataValue::from_static(value));
            }
        })
}

/// The only span of `kind` named `name` among `spans`.
fn only<'a>(spans: &'a [Span], kind: SpanKind, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|span| span.kind == kind && span.name == name)
        .collect();
    assert_eq!(found.len(), 1, "{kind:?} spans named {name}: {spans:#?}");
    found[0]
}

/// The attributes a span of `test.Echo/{method}` has with status `code`, plus `extra`.
fn rpc_attributes(
    method: &str,
    code: i64,
    extra: &[(&str, AttrValue)],
) -> BTreeMap<String, AttrValue> {
    let mut attributes = BTreeMap::from([
        ("rpc.system".to_owned(), AttrValue::from("grpc")),
        ("rpc.service".to_owned(), AttrValue::from("test.Echo")),
        ("rpc.method".to_owned(), AttrValue::from(method)),
        ("rpc.grpc.status_code".to_owned(), AttrValue::Int(code)),
    ]);
    for (key, value) in extra {
        attributes.insert((*key).to_owned(), value.clone());
    }
    attributes
}

/// The connection attributes of a server span on `addr`, called from port `client_port`.
fn server_side(addr: SocketAddr, client_port: i64) -> Vec<(&'static str, AttrValue)> {
    vec![
        ("server.address", AttrValue::from("127.0.0.1")),
        ("server.port", AttrValue::Int(i64::from(addr.port()))),
        ("client.address", AttrValue::from("127.0.0.1")),
        ("client.port", AttrValue::Int(client_port)),
        ("network.peer.address", AttrValue::from("127.0.0.1")),
        ("network.peer.port", AttrValue::Int(client_port)),
    ]
}

/// The port a server span's client called from.
fn client_port(span: &Span) -> i64 {
    match span.attributes.get("client.port") {
        Some(AttrValue::Int(port)) if *port > 0 => *port,
        other => panic!("client.port: {other:?}"),
    }
}

#[tokio::test]
async fn a_call_is_a_client_span_and_its_server_span_in_one_trace() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn().await;
    let client = echo_client(channel(addr)).server_address("127.0.0.1", addr.port());
    client
        .call(Context::background(), echo_request("hi"))
        .await
        .unwrap();

    let spans = wait_for_spans(&received, 2).await;
    assert_eq!(
        tree(&spans),
        "svc: test.Echo/Echo (Client)\n  svc: test.Echo/Echo (Server)\n"
    );
    let client = only(&spans, SpanKind::Client, "test.Echo/Echo");
    let server = only(&spans, SpanKind::Server, "test.Echo/Echo");
    assert_eq!(client.parent_span_id, None);
    assert_eq!(server.trace_id, client.trace_id);
    assert_eq!(
        server.parent_span_id.as_deref(),
        Some(client.span_id.as_str())
    );
    assert_eq!(
        client.attributes,
        rpc_attributes(
            "Echo",
            0,
            &[
                ("server.address", AttrValue::from("127.0.0.1")),
                ("server.port", AttrValue::Int(i64::from(addr.port()))),
            ]
        )
    );
    assert_eq!(
        server.attributes,
        rpc_attributes("Echo", 0, &server_side(addr, client_port(server)))
    );
    assert_eq!(client.status, Status::Unset);
    assert_eq!(server.status, Status::Unset);
}

#[tokio::test]
async fn the_server_span_continues_the_trace_in_the_metadata() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn().await;
    let w3c = raw_client(
        addr,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    );
    let logged = w3c
        .call(Context::background(), echo_request(""))
        .await
        .unwrap()
        .message;
    let spans = wait_for_spans(&received, 2).await;
    let server = only(&spans, SpanKind::Server, "test.Echo/Echo");
    assert_eq!(server.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(server.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    // A line logged in the handler carries the trace.
    assert!(
        logged.contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736 "),
        "{logged}"
    );
    // The client, sending no trace of its own, started a trace of its own.
    let client = only(&spans, SpanKind::Client, "test.Echo/Echo");
    assert_ne!(client.trace_id, server.trace_id);

    let b3 = raw_client(
        addr,
        &[("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")],
    );
    b3.call(Context::background(), echo_request(""))
        .await
        .unwrap();
    let spans = wait_for_spans(&received, 4).await;
    let server = spans
        .iter()
        .find(|span| span.kind == SpanKind::Server && span.trace_id.starts_with("80f198"))
        .expect("the B3 call's server span");
    assert_eq!(server.trace_id, "80f198ee56343ba864fe8b2a57d3eff7");
    assert_eq!(server.parent_span_id.as_deref(), Some("e457b5a2e4d86bd1"));
}

#[tokio::test]
async fn statuses_set_the_spans_status_as_the_conventions_say() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn().await;
    let client = echo_client(channel(addr));
    for (code, message) in [(3, "bad"), (13, "broken"), (14, "down")] {
        let request = pb::EchoRequest {
            message: message.to_owned(),
            fail_code: code,
            ..Default::default()
        };
        let err = client
            .call(Context::background(), request)
            .await
            .unwrap_err();
        assert_eq!(err.code().number(), code);
    }
    let unknown: EchoClient = kit_grpc::Client::new(channel(addr), "/test.Echo/Nope", |r| r, Ok);
    let err = unknown
        .call(Context::background(), echo_request(""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    let spans = wait_for_spans(&received, 7).await;
    assert_eq!(
        tree(&spans),
        "svc: test.Echo/Echo (Client) !bad\n  svc: test.Echo/Echo (Server)\n\
         svc: test.Echo/Echo (Client) !internal error\n  svc: test.Echo/Echo (Server) !internal error\n\
         svc: test.Echo/Echo (Client) !down\n  svc: test.Echo/Echo (Server) !down\n\
         svc: test.Echo/Nope (Client) !\n"
    );
    let error = |name: &str| ("error.type", AttrValue::from(name));
    let by_code = |kind: SpanKind, code: i64| -> &Span {
        spans
            .iter()
            .find(|span| {
                span.kind == kind
                    && span.attributes.get("rpc.grpc.status_code") == Some(&AttrValue::Int(code))
            })
            .unwrap()
    };
    // INVALID_ARGUMENT is the caller's fault: no error on the server's side.
    let server = by_code(SpanKind::Server, 3);
    assert_eq!(server.status, Status::Unset);
    assert_eq!(
        server.attributes,
        rpc_attributes("Echo", 3, &server_side(addr, client_port(server)))
    );
    assert_eq!(
        by_code(SpanKind::Client, 3).attributes,
        rpc_attributes("Echo", 3, &[error("INVALID_ARGUMENT")])
    );
    for (code, name) in [(13, "INTERNAL"), (14, "UNAVAILABLE")] {
        let server = by_code(SpanKind::Server, code);
        assert_eq!(
            server.attributes,
            rpc_attributes(
                "Echo",
                code,
                &[server_side(addr, client_port(server)), vec![error(name)]].concat()
            )
        );
        assert_eq!(
            by_code(SpanKind::Client, code).attributes,
            rpc_attributes("Echo", code, &[error(name)])
        );
    }
    assert_eq!(
        only(&spans, SpanKind::Client, "test.Echo/Nope").attributes,
        rpc_attributes("Nope", 12, &[error("UNIMPLEMENTED")])
    );
}

#[tokio::test]
async fn a_handlers_span_nests_under_the_server_span_and_calls_made_in_it_under_it() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn().await;
    echo_client(channel(addr))
        .call(Context::background(), echo_request("nest"))
        .await
        .unwrap();
    let spans = wait_for_spans(&received, 5).await;
    assert_eq!(
        tree(&spans),
        "svc: test.Echo/Echo (Client)\n\
         \x20 svc: test.Echo/Echo (Server)\n\
         \x20   svc: work (Internal)\n\
         \x20     svc: test.Echo/Sum (Client)\n\
         \x20       svc: test.Echo/Sum (Server)\n"
    );
    let trace = &spans[0].trace_id;
    assert!(
        spans.iter().all(|span| &span.trace_id == trace),
        "{spans:#?}"
    );
}

#[tokio::test]
async fn without_a_bridge_a_call_has_no_span_and_logs_the_trace_it_came_with() {
    assert!(kit::trace::span::bridge().is_none());
    let addr = spawn().await;
    let w3c = raw_client(
        addr,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    );
    let logged = w3c
        .call(Context::background(), echo_request(""))
        .await
        .unwrap()
        .message;
    assert!(
        logged.contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736 "),
        "{logged}"
    );
    let untraced = echo_client(channel(addr))
        .call(Context::background(), echo_request(""))
        .await
        .unwrap()
        .message;
    assert!(!untraced.contains("trace_id="), "{untraced}");
}

#[tokio::test]
async fn an_unsampled_call_exports_nothing_but_the_callers_span_and_its_handlers_span_no_root() {
    let received = kit_testkit::otlp::record_spans("svc");
    let addr = spawn().await;
    let unsampled = raw_client(
        addr,
        &[(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        )],
    );
    // `nest`: the handler calls `Sum` inside a span of its own, `work`.
    let logged = unsampled
        .call(Context::background(), echo_request("nest"))
        .await
        .unwrap()
        .message;
    assert!(
        logged.contains("trace_id=0af7651916cd43dd8448eb211c80319c "),
        "{logged}"
    );
    // A sampled call afterwards: its five spans and the unsampled call's client span (a
    // trace of its own, as the client sent none) are all there is. Had `work` started a
    // trace of its own, it and the `Sum` call's two spans would be there too.
    let sampled = raw_client(
        addr,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    );
    sampled
        .call(Context::background(), echo_request("nest"))
        .await
        .unwrap();
    let spans = wait_for_spans(&received, 6).await;
    assert_eq!(spans.len(), 6, "{spans:#?}");
    let mut in_sampled: Vec<_> = spans
        .iter()
        .filter(|span| span.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736")
        .map(|span| (span.name.as_str(), span.kind))
        .collect();
    in_sampled.sort_by_key(|(name, kind)| (*name, format!("{kind:?}")));
    assert_eq!(
        in_sampled,
        [
            ("test.Echo/Echo", SpanKind::Server),
            ("test.Echo/Sum", SpanKind::Client),
            ("test.Echo/Sum", SpanKind::Server),
            ("work", SpanKind::Internal),
        ]
    );
    let clients: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "test.Echo/Echo" && span.kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 2, "{spans:#?}");
    assert!(
        spans
            .iter()
            .all(|span| span.trace_id != "0af7651916cd43dd8448eb211c80319c"),
        "{spans:#?}"
    );
}
