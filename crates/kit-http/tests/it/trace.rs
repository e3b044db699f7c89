//! Trace propagation over HTTP and JSON-RPC: what a server reads from each header format,
//! and what kit's clients send (a child of the caller's trace).

use std::net::SocketAddr;

use http::Method;
use kit::trace::{Propagation, SpanId, TraceContext, TraceId};
use kit::{Context, Endpoint, Error, endpoint_fn};
use kit_http::{Client, Router, Server, json, jsonrpc};
use kit_testkit::http::exchange;
use serde_json::Value;

use crate::jsonrpc::spawn_rpc;
use crate::support::spawn;

/// `ctx`'s trace as `trace span parent sampled debug state` (`-` for none), or `none`.
fn describe(ctx: &Context) -> String {
    let Some(trace) = ctx.trace() else {
        return "none".to_owned();
    };
    format!(
        "{} {} {} {:?} {} {}",
        trace.trace_id(),
        trace.span_id(),
        trace
            .parent_span_id()
            .map_or("-".to_owned(), |p| p.to_string()),
        trace.sampled(),
        trace.debug(),
        if trace.trace_state().is_empty() {
            "-"
        } else {
            trace.trace_state()
        },
    )
}

fn seen() -> impl Endpoint<Value, Response = String> + Clone {
    endpoint_fn(|ctx: Context, _: Value| async move { Ok::<_, Error>(describe(&ctx)) })
}

/// `POST /seen` answering what the server read; `POST /b3` the same, reading B3 multi
/// headers only.
async fn spawn_seen() -> SocketAddr {
    let router = Router::new()
        .route(
            Method::POST,
            "/seen",
            Server::new(seen(), json::decode_request, json::encode_response),
        )
        .route(
            Method::POST,
            "/b3",
            Server::new(seen(), json::decode_request, json::encode_response)
                .trace_extraction(Propagation::B3_MULTI),
        );
    spawn(router).await
}

/// What the server at `addr` reads from a request with the header lines `headers`.
async fn read_by_server(addr: SocketAddr, headers: &[&str]) -> String {
    let mut head =
        String::from("POST /seen HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2");
    for line in headers {
        head.push_str("\r\n");
        head.push_str(line);
    }
    let answer = exchange(addr, &head, b"{}").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

#[tokio::test]
async fn the_server_reads_each_format_by_precedence() {
    let addr = spawn_seen().await;
    let cases: [(&[&str], &str); 7] = [
        (&[], "none"),
        (
            &[
                "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0",
            ],
            "4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 - Some(true) false \
             rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        ),
        (
            // An invalid tracestate is dropped, the traceparent kept.
            &[
                "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                "tracestate: Rojo=1",
            ],
            "4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7 - Some(false) false -",
        ),
        (
            // A malformed traceparent falls back to b3.
            &[
                "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90",
            ],
            "80f198ee56343ba864fe8b2a57d3eff7 e457b5a2e4d86bd1 05e3ac9a4f6e3b90 Some(true) true -",
        ),
        (
            &[
                "b3: a3ce929d0e0e4736-00f067aa0ba902b7-x",
                "X-B3-TraceId: a3ce929d0e0e4736",
                "X-B3-SpanId: 00f067aa0ba902b7",
                "X-B3-ParentSpanId: 05e3ac9a4f6e3b90",
                "X-B3-Sampled: true",
            ],
            "0000000000000000a3ce929d0e0e4736 00f067aa0ba902b7 05e3ac9a4f6e3b90 Some(true) false -",
        ),
        (
            &["X-B3-TraceId: a3ce929d0e0e4736", "X-B3-SpanId: 0"],
            "none",
        ),
        (&["traceparent: garbage", "b3: garbage"], "none"),
    ];
    for (headers, expected) in cases {
        assert_eq!(read_by_server(addr, headers).await, expected, "{headers:?}");
    }
    // `b3: 0`: a new trace, not sampled.
    let denied = read_by_server(addr, &["b3: 0"]).await;
    let fields: Vec<&str> = denied.split(' ').collect();
    assert_eq!(fields[2..], ["-", "Some(false)", "false", "-"]);
    assert_eq!((fields[0].len(), fields[1].len()), (32, 16));
}

fn caller() -> TraceContext {
    TraceContext::new(
        TraceId::from_bytes(*b"\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36"),
        SpanId::from_bytes(*b"\x00\xf0\x67\xaa\x0b\xa9\x02\xb7"),
    )
    .unwrap()
    .with_sampled(Some(true))
    .with_trace_state("congo=t61rcWkgMzE")
}

/// The trace id, span id and the rest of a description.
fn split(description: &str) -> (&str, &str, String) {
    let mut fields = description.splitn(3, ' ');
    let (trace, span) = (fields.next().unwrap(), fields.next().unwrap());
    (trace, span, fields.next().unwrap().to_owned())
}

#[tokio::test]
async fn the_client_sends_a_child_of_its_contexts_trace() {
    let addr = spawn_seen().await;
    let client = |path: &str| {
        Client::new(
            Method::POST,
            format!("http://{addr}{path}").parse().unwrap(),
            json::encode_request,
            json::decode_response::<String>,
        )
    };
    let ctx = Context::background().with_trace(caller());

    // Over W3C (the server's first choice): the same trace and state, a new span.
    let seen = client("/seen")
        .call(ctx.clone(), Value::Null)
        .await
        .unwrap();
    let (trace, span, rest) = split(&seen);
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(span, "00f067aa0ba902b7");
    assert_eq!(rest, "- Some(true) false congo=t61rcWkgMzE");

    // Over B3 multi headers, the parent is the caller's span.
    let seen = client("/b3").call(ctx.clone(), Value::Null).await.unwrap();
    let (trace, b3_span, rest) = split(&seen);
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(b3_span, "00f067aa0ba902b7");
    assert_ne!(b3_span, span, "each call is a span of its own");
    assert_eq!(rest, "00f067aa0ba902b7 Some(true) false -");

    // Only what is selected is sent; without a trace, nothing is.
    let w3c_only = client("/b3").trace_propagation(Propagation::W3C);
    assert_eq!(
        w3c_only.call(ctx.clone(), Value::Null).await.unwrap(),
        "none"
    );
    let seen = client("/seen")
        .call(Context::background(), Value::Null)
        .await;
    assert_eq!(seen.unwrap(), "none");
}

#[tokio::test]
async fn json_rpc_carries_the_trace_both_ways() {
    let server = Server::jsonrpc(jsonrpc::Methods::new().method(
        "seen",
        seen(),
        jsonrpc::go::decode_params,
        jsonrpc::encode_result,
    ));
    let addr = spawn_rpc(server).await;
    let client = jsonrpc::Client::new(
        format!("http://{addr}/rpc").parse().unwrap(),
        "seen",
        jsonrpc::encode_params,
        jsonrpc::decode_result::<String>,
    )
    .trace_propagation(Propagation::B3_SINGLE);
    let ctx = Context::background().with_trace(caller().with_debug(true));
    let seen = client.call(ctx, Value::Null).await.unwrap();
    let (trace, span, rest) = split(&seen);
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(span, "00f067aa0ba902b7");
    assert_eq!(rest, "00f067aa0ba902b7 Some(true) true -");
}
