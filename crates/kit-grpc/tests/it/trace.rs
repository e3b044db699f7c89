//! Trace propagation over gRPC metadata: what a server reads, and what kit's client sends
//! (a child of the caller's trace).

use std::future::IntoFuture;
use std::net::SocketAddr;

use kit::trace::{Propagation, SpanId, TraceContext, TraceId};
use kit::{Context, Endpoint, Error, endpoint_fn};
use kit_grpc::BoxServer;
use tokio::net::TcpListener;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::{Request, Response, Status};

use crate::pb;
use crate::support::{EchoClient, channel, echo_client, echo_request};

/// `test.Echo` whose `Echo` answers with its context's trace, debug-formatted.
struct TraceEcho {
    echo: BoxServer<pb::EchoRequest, pb::EchoReply>,
}

#[tonic::async_trait]
impl pb::echo_server::Echo for TraceEcho {
    async fn echo(&self, r: Request<pb::EchoRequest>) -> Result<Response<pb::EchoReply>, Status> {
        self.echo.serve(r).await
    }

    async fn sum(&self, _: Request<pb::SumRequest>) -> Result<Response<pb::SumReply>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

/// Serves [`TraceEcho`], reading `formats`, on a free loopback port.
async fn spawn(formats: Propagation) -> SocketAddr {
    let seen = endpoint_fn(|ctx: Context, _: pb::EchoRequest| async move {
        Ok::<_, Error>(pb::EchoReply {
            message: format!("{:?}", ctx.trace()),
            ..Default::default()
        })
    });
    let service = TraceEcho {
        echo: kit_grpc::Server::new(seen, Ok, Ok)
            .trace_extraction(formats)
            .boxed(),
    };
    let routes = tonic::service::Routes::new(pb::echo_server::EchoServer::new(service));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_grpc::serve(listener, routes).into_future());
    addr
}

/// What `client` made the server see.
async fn seen(client: &EchoClient, ctx: Context) -> String {
    client.call(ctx, echo_request("")).await.unwrap().message
}

/// The span id in a debug-formatted trace.
fn span_in(seen: &str) -> SpanId {
    let at = seen.find("span_id: ").expect("a trace") + "span_id: ".len();
    SpanId::from_hex(&seen[at..at + 16]).unwrap()
}

fn caller() -> TraceContext {
    TraceContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
    )
    .unwrap()
    .with_sampled(Some(true))
    .with_trace_state("congo=t61rcWkgMzE")
}

#[tokio::test]
async fn the_client_sends_a_child_of_its_contexts_trace() {
    let ctx = Context::background().with_trace(caller());
    let parent = SpanId::from_hex("00f067aa0ba902b7");

    // Over W3C (the server's first choice): the same trace and state, a new span.
    let w3c = echo_client(channel(spawn(Propagation::DEFAULT_EXTRACT).await));
    let seen_w3c = seen(&w3c, ctx.clone()).await;
    let span = span_in(&seen_w3c);
    assert_ne!(Some(span), parent);
    let expected = TraceContext::new(caller().trace_id(), span)
        .unwrap()
        .with_sampled(Some(true))
        .with_trace_state("congo=t61rcWkgMzE");
    assert_eq!(seen_w3c, format!("{:?}", Some(expected)));

    // Over B3 multi metadata, the parent is the caller's span.
    let b3 = echo_client(channel(spawn(Propagation::B3_MULTI).await));
    let seen_b3 = seen(&b3, ctx.clone()).await;
    let b3_span = span_in(&seen_b3);
    assert_ne!(b3_span, span, "each call is a span of its own");
    let expected = TraceContext::new(caller().trace_id(), b3_span)
        .unwrap()
        .with_parent_span_id(parent)
        .with_sampled(Some(true));
    assert_eq!(seen_b3, format!("{:?}", Some(expected)));

    // Only what is selected is sent; without a trace, nothing is.
    let w3c_only = b3.clone().trace_propagation(Propagation::W3C);
    assert_eq!(seen(&w3c_only, ctx).await, "None");
    assert_eq!(seen(&w3c, Context::background()).await, "None");
}

#[tokio::test]
async fn the_server_reads_b3_metadata_by_precedence() {
    let addr = spawn(Propagation::DEFAULT_EXTRACT).await;
    // A client sending raw metadata, and no trace of its own.
    let raw = |pairs: &'static [(&'static str, &'static str)]| -> EchoClient {
        echo_client(channel(addr))
            .trace_propagation(Propagation::NONE)
            .before(move |_: &Context, metadata: &mut MetadataMap| {
                for (key, value) in pairs {
                    metadata.insert(*key, AsciiMetadataValue::from_static(value));
                }
            })
    };
    let single = raw(&[
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00000000000000000-01",
        ),
        (
            "b3",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90",
        ),
        ("x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("x-b3-spanid", "00f067aa0ba902b7"),
    ]);
    let expected = TraceContext::new(
        TraceId::from_hex("80f198ee56343ba864fe8b2a57d3eff7").unwrap(),
        SpanId::from_hex("e457b5a2e4d86bd1").unwrap(),
    )
    .unwrap()
    .with_parent_span_id(SpanId::from_hex("05e3ac9a4f6e3b90"))
    .with_debug(true);
    assert_eq!(
        seen(&single, Context::background()).await,
        format!("{:?}", Some(expected))
    );

    let multi = raw(&[
        ("x-b3-traceid", "a3ce929d0e0e4736"),
        ("x-b3-spanid", "00f067aa0ba902b7"),
        ("x-b3-sampled", "0"),
    ]);
    let expected = TraceContext::new(
        TraceId::from_hex("0000000000000000a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
    )
    .unwrap()
    .with_sampled(Some(false));
    assert_eq!(
        seen(&multi, Context::background()).await,
        format!("{:?}", Some(expected))
    );

    let malformed = raw(&[("traceparent", "00-xyz"), ("b3", "1-2-3")]);
    assert_eq!(seen(&malformed, Context::background()).await, "None");
}
