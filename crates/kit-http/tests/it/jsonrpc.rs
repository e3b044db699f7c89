//! JSON-RPC 2.0 over real sockets: the server driven by raw HTTP (exact bytes in and out),
//! the client against kit's server and against Go-kit-like canned answers.

use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Method, Uri};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use kit_http::{Body, Router, Server, jsonrpc, serve};
use kit_testkit::http::{Answer, exchange, request};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{SumReply, SumRequest, spawn, sum};

/// `sum` (the shared test endpoint), `unavailable` (always `Unavailable: x`), `whoami`
/// (the `x-user` metadata a before hook took from the headers) and `remaining` (the
/// context's remaining time in milliseconds, or null).
fn methods() -> jsonrpc::Methods {
    let unavailable =
        endpoint_fn(
            |_ctx: Context, _: Value| async move { Err::<Value, _>(Error::unavailable("x")) },
        );
    let whoami = endpoint_fn(|ctx: Context, _: Value| async move {
        Ok::<_, Error>(ctx.metadata("x-user").map(str::to_owned))
    });
    let remaining = endpoint_fn(|ctx: Context, _: Value| async move {
        Ok::<_, Error>(ctx.remaining().map(|d| d.as_millis() as u64))
    });
    jsonrpc::Methods::new()
        .method(
            "sum",
            sum(),
            jsonrpc::go::decode_params,
            jsonrpc::encode_result,
        )
        .method(
            "unavailable",
            unavailable,
            jsonrpc::go::decode_params,
            jsonrpc::encode_result,
        )
        .method(
            "whoami",
            whoami,
            jsonrpc::go::decode_params,
            jsonrpc::encode_result,
        )
        .method(
            "remaining",
            remaining,
            jsonrpc::go::decode_params,
            jsonrpc::encode_result,
        )
}

fn rpc_server() -> Server<jsonrpc::Methods> {
    Server::jsonrpc(methods()).before(|ctx: Context, parts: &http::request::Parts| {
        match parts.headers.get("x-user") {
            Some(user) => ctx.with_metadata("x-user", user.to_str().unwrap().to_owned()),
            None => ctx,
        }
    })
}

/// Serves `server` directly on a free loopback port (every path is the JSON-RPC route).
pub(crate) async fn spawn_rpc(server: Server<jsonrpc::Methods>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, server).into_future());
    addr
}

async fn post(addr: SocketAddr, body: &str) -> Answer {
    request(addr, "POST", "/rpc", body).await
}

/// Posts `body` and returns the JSON-RPC answer's text, checking it came as `200` JSON.
async fn call(addr: SocketAddr, body: &str) -> String {
    let answer = post(addr, body).await;
    assert_eq!(answer.status, 200, "{body} -> {answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    answer.body
}

/// The members of a batch answer, sorted so that tests do not depend on their order.
fn as_set(body: &str) -> Vec<Value> {
    let mut members: Vec<Value> = serde_json::from_str(body).unwrap();
    members.sort_by_key(|m| m.to_string());
    members
}

#[tokio::test]
async fn calls_are_answered_with_their_id_echoed_exactly() {
    let addr = spawn_rpc(rpc_server()).await;
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":1}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","result":{"v":3},"id":1}"#
    );
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":"abc"}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","result":{"v":3},"id":"abc"}"#
    );
    // Members in any order, ids as written (escapes, fractions), whitespace around them.
    assert_eq!(
        call(
            addr,
            "\n { \"id\" : \"a\\u0062\", \"params\": {\"b\":2,\"a\":1}, \"method\": \"sum\", \"jsonrpc\": \"2.0\" }\n"
        )
        .await,
        r#"{"jsonrpc":"2.0","result":{"v":3},"id":"a\u0062"}"#
    );
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":-1.50}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","result":{"v":3},"id":-1.50}"#
    );
}

#[tokio::test]
async fn the_version_may_be_2_0_empty_or_absent_and_nothing_else() {
    let addr = spawn_rpc(rpc_server()).await;
    for version in [r#""jsonrpc":"2.0","#, r#""jsonrpc":"","#, ""] {
        let body = format!(r#"{{{version}"method":"sum","params":{{"a":1,"b":2}},"id":7}}"#);
        assert_eq!(
            call(addr, &body).await,
            r#"{"jsonrpc":"2.0","result":{"v":3},"id":7}"#,
            "{body}"
        );
    }
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"1.0","method":"sum","params":{"a":1,"b":2},"id":7}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: unsupported jsonrpc version \"1.0\""},"id":7}"#
    );
    // The id could be read, so the answer names it (`null` is only for unreadable ids).
    for version in ["2", "null", r#"["2.0"]"#] {
        let body = format!(r#"{{"jsonrpc":{version},"method":"sum","id":7}}"#);
        let answer: Value = serde_json::from_str(&call(addr, &body).await).unwrap();
        assert_eq!(answer["error"]["code"], -32600, "{body}");
        assert_eq!(answer["id"], 7, "{body}");
    }
    let no_method = call(addr, r#"{"jsonrpc":"2.0","method":5,"id":"m"}"#).await;
    let answer: Value = serde_json::from_str(&no_method).unwrap();
    assert_eq!(
        (answer["error"]["code"].clone(), answer["id"].clone()),
        (Value::from(-32600), Value::from("m"))
    );
}

#[tokio::test]
async fn a_null_id_is_a_call_answered_with_null() {
    let addr = spawn_rpc(rpc_server()).await;
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"2.0","method":"sum","params":{"a":2,"b":2},"id":null}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","result":{"v":4},"id":null}"#
    );
}

#[tokio::test]
async fn ids_that_are_not_strings_numbers_or_null_are_invalid() {
    let addr = spawn_rpc(rpc_server()).await;
    for id in ["{}", "[1]", "true"] {
        let body =
            format!(r#"{{"jsonrpc":"2.0","method":"sum","params":{{"a":1,"b":2}},"id":{id}}}"#);
        assert_eq!(
            call(addr, &body).await,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: id must be a string, a number or null"},"id":null}"#,
            "{body}"
        );
    }
}

#[tokio::test]
async fn notifications_are_never_answered() {
    let addr = spawn_rpc(rpc_server()).await;
    for body in [
        r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2}}"#,
        // Failing ones neither.
        r#"{"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0}}"#,
        r#"{"jsonrpc":"2.0","method":"nope"}"#,
        r#"{"jsonrpc":"2.0","method":"sum","params":{"a":"x"}}"#,
        // A batch of notifications only.
        r#"[{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2}},{"method":"nope"}]"#,
    ] {
        let answer = post(addr, body).await;
        assert_eq!((answer.status, answer.body.as_str()), (204, ""), "{body}");
        assert_eq!(answer.header("content-type"), None, "{body}");
    }
}

#[tokio::test]
async fn batches_answer_every_call_but_the_notifications() {
    let addr = spawn_rpc(rpc_server()).await;
    let batch = r#"[
        {"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":1},
        {"jsonrpc":"2.0","method":"sum","params":{"a":5,"b":5}},
        42,
        {"jsonrpc":"2.0","method":"nope","id":"x"},
        {"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0},"id":2},
        {"foo":"bar"}
    ]"#;
    let expected = [
        r#"{"jsonrpc":"2.0","result":{"v":3},"id":1}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: not a request object"},"id":null}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"method not found: nope"},"id":"x"}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"can't sum two zeroes"},"id":2}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: method must be a string"},"id":null}"#,
    ];
    let expected = as_set(&format!("[{}]", expected.join(",")));
    assert_eq!(as_set(&call(addr, batch).await), expected);

    // One call is still answered as an array.
    assert_eq!(
        call(addr, r#"[{"method":"sum","params":{"a":1,"b":1},"id":1}]"#).await,
        r#"[{"jsonrpc":"2.0","result":{"v":2},"id":1}]"#
    );
}

#[tokio::test]
async fn the_calls_of_a_batch_run_concurrently() {
    // Each call waits until all three have arrived: one after the other, the first would
    // wait until the deadline (long, so that only a real stall can trip it).
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let meet = endpoint_fn(move |_ctx: Context, (n,): (u32,)| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            Ok::<_, Error>(n)
        }
    });
    let methods = jsonrpc::Methods::new().method(
        "meet",
        meet,
        jsonrpc::decode_params,
        jsonrpc::encode_result,
    );
    let addr = spawn_rpc(Server::jsonrpc(methods)).await;
    let batch = r#"[{"method":"meet","params":[1],"id":1},{"method":"meet","params":[2]},{"method":"meet","params":[3],"id":3}]"#;
    let head = format!(
        "POST /rpc HTTP/1.1\r\nkit-timeout: 60S\r\nContent-Length: {}",
        batch.len()
    );
    let answer = exchange(addr, &head, batch.as_bytes()).await;
    assert_eq!(
        answer.body,
        r#"[{"jsonrpc":"2.0","result":1,"id":1},{"jsonrpc":"2.0","result":3,"id":3}]"#
    );
}

#[tokio::test]
async fn an_empty_batch_is_one_invalid_request() {
    let addr = spawn_rpc(rpc_server()).await;
    assert_eq!(
        call(addr, " [ ] ").await,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: empty batch"},"id":null}"#
    );
}

#[tokio::test]
async fn bodies_that_are_not_json_are_parse_errors() {
    let addr = spawn_rpc(rpc_server()).await;
    for body in [r#"{"jsonrpc":"2.0","method":"sum","#, "", "[1,2", "nope"] {
        let answer: Value = serde_json::from_str(&call(addr, body).await).unwrap();
        assert_eq!(answer["jsonrpc"], "2.0", "{body}");
        assert_eq!(answer["error"]["code"], -32700, "{body}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("parse error: "),
            "{answer}"
        );
        assert_eq!(answer["id"], Value::Null, "{body}");
    }
    assert_eq!(
        call(addr, "{\"method\":\"sum\",").await,
        r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"parse error: EOF while parsing an object at line 1 column 16"},"id":null}"#
    );
}

#[tokio::test]
async fn params_that_do_not_decode_are_invalid_params() {
    let addr = spawn_rpc(rpc_server()).await;
    for params in [r#","params":{"a":"x","b":1}"#, r#","params":[1,2,3]"#, ""] {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"sum"{params},"id":3}}"#);
        let answer: Value = serde_json::from_str(&call(addr, &body).await).unwrap();
        assert_eq!(answer["error"]["code"], -32602, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("invalid params: "), "{message}");
        assert_eq!(answer["id"], 3);
    }
}

#[tokio::test]
async fn endpoint_errors_carry_the_code_of_the_table() {
    let addr = spawn_rpc(rpc_server()).await;
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0},"id":1}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"can't sum two zeroes"},"id":1}"#
    );
    assert_eq!(
        call(addr, r#"{"jsonrpc":"2.0","method":"unavailable","id":1}"#).await,
        r#"{"jsonrpc":"2.0","error":{"code":-32014,"message":"x"},"id":1}"#
    );
    assert_eq!(
        call(addr, r#"{"jsonrpc":"2.0","method":"nope","id":1}"#).await,
        r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"method not found: nope"},"id":1}"#
    );
}

#[tokio::test]
async fn http_level_failures_are_http_errors() {
    let addr = spawn_rpc(rpc_server().body_limit(64)).await;

    let get = request(addr, "GET", "/rpc", "").await;
    assert_eq!(
        (get.status, get.body.as_str()),
        (
            405,
            r#"{"error":"method GET not allowed for /rpc","code":"UNIMPLEMENTED"}"#
        )
    );
    assert_eq!(get.header("allow"), Some("POST"));

    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"sum","params":{{"a":1,"b":2,"pad":"{}"}},"id":1}}"#,
        "x".repeat(100)
    );
    let oversized = post(addr, &big).await;
    assert_eq!(
        (oversized.status, oversized.body.as_str()),
        (
            413,
            r#"{"error":"body exceeds the limit of 64 bytes","code":"INVALID_ARGUMENT"}"#
        )
    );

    let head = "POST /rpc HTTP/1.1\r\nkit-timeout: soon\r\nContent-Length: 2";
    let malformed = exchange(addr, head, b"{}").await;
    assert_eq!(malformed.status, 400);
}

#[tokio::test]
async fn go_kits_client_is_understood() {
    let addr = spawn_rpc(rpc_server()).await;
    // What Go kit's JSON-RPC client sends: chunked, "jsonrpc": "", capitalised params
    // keys, a trailing newline, its own Content-Type.
    let body = "{\"jsonrpc\":\"\",\"method\":\"sum\",\"params\":{\"A\":20,\"B\":22},\"id\":0}\n";
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let answer = exchange(
        addr,
        "POST /rpc HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json; charset=utf-8",
        chunked.as_bytes(),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"jsonrpc":"2.0","result":{"v":42},"id":0}"#)
    );
}

#[tokio::test]
async fn the_timeout_header_is_the_deadline_of_every_call() {
    let addr = spawn_rpc(rpc_server()).await;
    // a = -2000 sleeps 2 s; the caller gives 50 ms: only the deadline can fail it.
    let body = r#"{"jsonrpc":"2.0","method":"sum","params":{"a":-2000,"b":1},"id":9}"#;
    let head = format!(
        "POST /rpc HTTP/1.1\r\nkit-timeout: 50m\r\nContent-Length: {}",
        body.len()
    );
    let slow = exchange(addr, &head, body.as_bytes()).await;
    assert_eq!(
        (slow.status, slow.body.as_str()),
        (
            200,
            r#"{"jsonrpc":"2.0","error":{"code":-32004,"message":"deadline exceeded"},"id":9}"#
        )
    );
}

#[tokio::test]
async fn every_call_of_a_batch_shares_the_request_context() {
    let addr = spawn_rpc(rpc_server()).await;
    let batch =
        r#"[{"method":"whoami","id":1},{"method":"whoami","id":2},{"method":"remaining","id":3}]"#;
    let head = format!(
        "POST /rpc HTTP/1.1\r\nx-user: alice\r\nkit-timeout: 30S\r\nContent-Length: {}",
        batch.len()
    );
    let answer = exchange(addr, &head, batch.as_bytes()).await;
    let answers: Vec<Value> = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(answers[0], json!({"jsonrpc":"2.0","result":"alice","id":1}));
    assert_eq!(answers[1], json!({"jsonrpc":"2.0","result":"alice","id":2}));
    let remaining = answers[2]["result"].as_u64().expect("a deadline");
    assert!(remaining > 0 && remaining <= 30_000, "{remaining}");
}

#[tokio::test]
async fn the_server_keeps_serving_after_bad_requests() {
    let addr = spawn_rpc(rpc_server().body_limit(256)).await;
    let good = r#"{"jsonrpc":"2.0","method":"sum","params":{"a":2,"b":3},"id":1}"#;
    let ok = r#"{"jsonrpc":"2.0","result":{"v":5},"id":1}"#;
    let bad_bodies = [
        "{".to_owned(),
        "[]".to_owned(),
        "[1]".to_owned(),
        r#"{"method":7,"id":1}"#.to_owned(),
        r#"{"method":"sum","params":{"a":true},"id":1}"#.to_owned(),
        "x".repeat(1000),
        "\u{0}\u{ff}".to_owned(),
    ];
    for bad in &bad_bodies {
        let answer = post(addr, bad).await;
        assert_ne!(answer.status, 500, "{bad}: {answer:?}");
        assert_eq!(call(addr, good).await, ok, "after {bad}");
    }
    // A chunk longer than its declared size.
    let broken = exchange(
        addr,
        "POST /rpc HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"3\r\n{\"a\":1}\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(broken.status, 400);
    assert_eq!(call(addr, good).await, ok);
}

#[tokio::test]
async fn the_server_mounts_in_a_router() {
    let router = Router::new().route(Method::POST, "/rpc", rpc_server());
    let addr = spawn(router).await;
    assert_eq!(
        call(addr, r#"{"method":"sum","params":{"a":1,"b":2},"id":1}"#).await,
        r#"{"jsonrpc":"2.0","result":{"v":3},"id":1}"#
    );
    assert_eq!(request(addr, "POST", "/other", "{}").await.status, 404);
}

// The client.

fn uri(addr: SocketAddr) -> Uri {
    format!("http://{addr}/rpc").parse().unwrap()
}

fn sum_client(addr: SocketAddr, method: &str) -> impl Endpoint<SumRequest, Response = SumReply> {
    jsonrpc::Client::new(
        uri(addr),
        method,
        jsonrpc::encode_params,
        jsonrpc::decode_result::<SumReply>,
    )
}

#[tokio::test]
async fn the_client_round_trips_and_reads_errors_back() {
    let addr = spawn_rpc(rpc_server()).await;
    let client = sum_client(addr, "sum");
    for i in 0..3 {
        let reply = client
            .call(Context::background(), SumRequest { a: i, b: 2 })
            .await
            .unwrap();
        assert_eq!(reply, SumReply { v: i + 2 });
    }
    let err = client
        .call(Context::background(), SumRequest { a: 0, b: 0 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "can't sum two zeroes")
    );

    let err = sum_client(addr, "nope")
        .call(Context::background(), SumRequest { a: 1, b: 2 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unimplemented, "method not found: nope")
    );

    let unavailable = jsonrpc::Client::new(
        uri(addr),
        "unavailable",
        jsonrpc::encode_params,
        jsonrpc::decode_result::<Value>,
    );
    let err = unavailable
        .call(Context::background(), json!({}))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::Unavailable, "x"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn the_client_sends_the_deadline_and_runs_the_hooks() {
    let addr = spawn_rpc(rpc_server()).await;
    let remaining = jsonrpc::Client::new(
        uri(addr),
        "remaining",
        jsonrpc::encode_params,
        jsonrpc::decode_result::<Option<u64>>,
    );
    let ctx = Context::background().with_timeout(Duration::from_secs(30));
    let ms = remaining
        .call(ctx, ())
        .await
        .unwrap()
        .expect("the server got a deadline");
    assert!(ms > 0 && ms <= 30_000, "{ms}");
    assert_eq!(
        remaining.call(Context::background(), ()).await.unwrap(),
        None
    );

    let whoami = jsonrpc::Client::new(
        uri(addr),
        "whoami",
        jsonrpc::encode_params,
        jsonrpc::decode_result::<Option<String>>,
    )
    .before(|_ctx: &Context, parts: &mut http::request::Parts| {
        parts
            .headers
            .insert("x-user", http::HeaderValue::from_static("bob"));
    });
    assert_eq!(
        whoami.call(Context::background(), ()).await.unwrap(),
        Some("bob".to_owned())
    );
}

/// A server that answers every request with `body` (HTTP `200`), as a foreign JSON-RPC
/// server might.
async fn canned(body: &'static str) -> SocketAddr {
    let answer = tower::service_fn(
        move |_req: http::Request<hyper::body::Incoming>| async move {
            let mut response = http::Response::new(Body::from(body));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json; charset=utf-8"),
            );
            Ok::<_, Infallible>(response)
        },
    );
    spawn(Router::new().route_service(Method::POST, "/rpc", answer)).await
}

async fn call_canned(body: &'static str) -> Result<SumReply, Error> {
    let addr = canned(body).await;
    sum_client(addr, "sum")
        .call(Context::background(), SumRequest { a: 1, b: 2 })
        .await
}

#[tokio::test]
async fn the_client_accepts_go_kits_null_id_errors() {
    // Go kit's server answers errors without the request's id, and says "2.0" or nothing.
    let err = call_canned(
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"can't sum two zeroes\"},\"id\":null}\n",
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "can't sum two zeroes")
    );
    let err =
        call_canned(r#"{"jsonrpc":"","error":{"code":-32603,"message":"boom","data":{"x":1}}}"#)
            .await
            .unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::Internal, "boom"));
    // Codes outside the table are Unknown.
    let err = call_canned(r#"{"jsonrpc":"2.0","error":{"code":7,"message":"odd"},"id":1}"#)
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::Unknown, "odd"));
    // A successful answer with the right id, Go-style.
    let reply = call_canned("{\"jsonrpc\":\"2.0\",\"result\":{\"v\":3},\"id\":1}\n")
        .await
        .unwrap();
    assert_eq!(reply, SumReply { v: 3 });
}

#[tokio::test]
async fn the_client_rejects_answers_it_cannot_trust() {
    for (body, message) in [
        (
            r#"{"jsonrpc":"2.0","result":{"v":3},"id":2}"#,
            "JSON-RPC answer has id 2, expected 1",
        ),
        (
            r#"{"jsonrpc":"2.0","result":{"v":3},"id":null}"#,
            "JSON-RPC answer has id null, expected 1",
        ),
        (
            r#"{"jsonrpc":"2.0","result":{"v":3},"id":"1"}"#,
            "JSON-RPC answer has id \"1\", expected 1",
        ),
        (
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"no"},"id":5}"#,
            "JSON-RPC answer has id 5, expected 1",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1}"#,
            "JSON-RPC answer has neither a result nor an error",
        ),
        (
            "not json",
            "invalid JSON-RPC answer: expected ident at line 1 column 2",
        ),
        (
            r#"{"jsonrpc":"2.0","result":{"w":3},"id":1}"#,
            "invalid JSON-RPC result: missing field `v` at line 1 column 7",
        ),
    ] {
        let err = call_canned(body).await.unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (Code::Internal, message),
            "{body}"
        );
    }
}

#[tokio::test]
async fn unreachable_servers_are_unavailable() {
    let port = kit_testkit::free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let err = sum_client(addr, "sum")
        .call(Context::background(), SumRequest { a: 1, b: 2 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn params_must_be_an_array_or_an_object() {
    let addr = spawn_rpc(rpc_server()).await;
    for params in ["1", "\"a\"", "true"] {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"sum","params":{params},"id":4}}"#);
        assert_eq!(
            call(addr, &body).await,
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid params: params must be an array or an object"},"id":4}"#,
            "{params}"
        );
    }
    // Absent or null params reach the decoder as null.
    assert_eq!(
        call(addr, r#"{"jsonrpc":"2.0","method":"whoami","id":5}"#).await,
        r#"{"jsonrpc":"2.0","result":null,"id":5}"#
    );
    assert_eq!(
        call(
            addr,
            r#"{"jsonrpc":"2.0","method":"whoami","params":null,"id":6}"#
        )
        .await,
        r#"{"jsonrpc":"2.0","result":null,"id":6}"#
    );
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole() {
    let (ran_tx, mut ran) = tokio::sync::mpsc::unbounded_channel::<()>();
    let count = endpoint_fn(move |_ctx: Context, _: Value| {
        let _ = ran_tx.send(());
        async { Ok::<_, Error>(1) }
    });
    let methods = jsonrpc::Methods::new()
        .method(
            "count",
            count,
            jsonrpc::decode_params,
            jsonrpc::encode_result,
        )
        .max_batch(3);
    let addr = spawn_rpc(Server::jsonrpc(methods)).await;
    let one = r#"{"jsonrpc":"2.0","method":"count","id":1}"#;
    let full = format!("[{one},{one},{one}]");
    assert_eq!(as_set(&call(addr, &full).await).len(), 3);
    let over = format!("[{one},{one},{one},{one}]");
    assert_eq!(
        call(addr, &over).await,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: batch exceeds the limit of 3 requests"},"id":null}"#
    );
    // Only the three calls of the full batch ran.
    for _ in 0..3 {
        ran.recv().await.unwrap();
    }
    assert!(ran.try_recv().is_err());
}

/// The peak resident memory of this test process, in bytes (nextest runs each test in a
/// process of its own).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test]
async fn a_huge_batch_costs_no_more_than_a_full_one() {
    // One MiB of `[1,1,1,...]`: half a million invalid requests. Answered one by one, that
    // was a 53 MB answer and 330 MB of memory; now it is one error.
    let server = Server::jsonrpc(methods()).body_limit(2 << 20);
    let addr = spawn_rpc(server).await;
    let mut batch = String::with_capacity(1 << 20);
    batch.push('[');
    while batch.len() < (1 << 20) {
        batch.push_str("1,");
    }
    batch.push_str("1]");
    let before = peak_rss();
    let answer = call(addr, &batch).await;
    assert_eq!(
        answer,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: batch exceeds the limit of 100 requests"},"id":null}"#
    );
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 32 << 20, "peak memory grew by {grown} bytes");
}

#[tokio::test]
async fn a_batch_runs_a_bounded_number_of_calls_at_a_time() {
    let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let work = {
        let (running, peak) = (running.clone(), peak.clone());
        endpoint_fn(move |_ctx: Context, _: Value| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, SeqCst);
                Ok::<_, Error>(1)
            }
        })
    };
    let methods = jsonrpc::Methods::new()
        .method("work", work, jsonrpc::decode_params, jsonrpc::encode_result)
        .batch_concurrency(3);
    let addr = spawn_rpc(Server::jsonrpc(methods)).await;
    let one = r#"{"jsonrpc":"2.0","method":"work","id":1}"#;
    let batch = format!("[{}]", vec![one; 20].join(","));
    assert_eq!(as_set(&call(addr, &batch).await).len(), 20);
    assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn a_long_batch_lets_other_work_on_the_runtime_run() {
    // One thread runs everything: the server, the batch and a ticker.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let note = {
            let (ticks, seen) = (ticks.clone(), seen.clone());
            endpoint_fn(move |_ctx: Context, _: Value| {
                let tick = ticks.load(std::sync::atomic::Ordering::SeqCst);
                seen.lock().unwrap().push(tick);
                async { Ok::<_, Error>(()) }
            })
        };
        let methods = jsonrpc::Methods::new()
            .method("note", note, jsonrpc::decode_params, jsonrpc::encode_result)
            .max_batch(5_000);
        let addr = spawn_rpc(Server::jsonrpc(methods)).await;
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    ticks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            }
        });
        // Notifications only: every call is ready at once.
        let one = r#"{"jsonrpc":"2.0","method":"note"}"#;
        let batch = format!("[{}]", vec![one; 5_000].join(","));
        let answer = post(addr, &batch).await;
        assert_eq!(answer.status, 204);
        ticker.abort();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 5_000);
        assert!(
            seen.first() < seen.last(),
            "the ticker never ran while the batch did: {:?}..{:?}",
            seen.first(),
            seen.last()
        );
    });
}

#[tokio::test]
async fn error_details_travel_as_data_both_ways() {
    let detailed = endpoint_fn(|_ctx: Context, _: Value| async {
        Err::<(), _>(
            Error::failed_precondition("account frozen")
                .with_details(json!({"account": 7, "until": "2027-01-01"})),
        )
    });
    let methods = jsonrpc::Methods::new().method(
        "detailed",
        detailed,
        jsonrpc::decode_params,
        jsonrpc::encode_result,
    );
    let addr = spawn_rpc(Server::jsonrpc(methods)).await;
    assert_eq!(
        call(addr, r#"{"jsonrpc":"2.0","method":"detailed","id":1}"#).await,
        r#"{"jsonrpc":"2.0","error":{"code":-32009,"message":"account frozen","data":{"account":7,"until":"2027-01-01"}},"id":1}"#
    );
    let client = jsonrpc::Client::new(
        uri(addr),
        "detailed",
        jsonrpc::encode_params,
        jsonrpc::decode_result::<()>,
    );
    let err = client.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::FailedPrecondition, "account frozen")
    );
    assert_eq!(
        err.details(),
        Some(&json!({"account": 7, "until": "2027-01-01"}))
    );
}

#[test]
fn every_code_maps_to_a_jsonrpc_code_and_back() {
    for code in Code::ALL {
        assert_eq!(
            jsonrpc::code_of(jsonrpc::error_code(code).into()),
            code,
            "{code}"
        );
    }
    assert_eq!(jsonrpc::code_of(-32700), Code::InvalidArgument);
    assert_eq!(jsonrpc::code_of(-32600), Code::InvalidArgument);
    assert_eq!(jsonrpc::code_of(-32013), Code::Unknown);
    assert_eq!(jsonrpc::code_of(i64::MIN), Code::Unknown);
    assert_eq!(jsonrpc::code_of(7), Code::Unknown);
}
