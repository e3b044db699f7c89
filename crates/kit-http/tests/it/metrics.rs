//! The transport metrics against hostile clients: hundreds of distinct paths and JSON-RPC
//! method names add one `route="other"` series, never a series per name; each outcome is
//! recorded under its code. Read back from kit-metrics's Prometheus exposition.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::OnceLock;

use http::Method;
use kit::{Context, Error, endpoint_fn};
use kit_http::metrics::ServerMetrics;
use kit_http::{PathParams, Router, Server, json, jsonrpc, serve};
use kit_metrics::prometheus::Prometheus;
use kit_testkit::http::{Connection, request};
use tokio::net::TcpListener;

use crate::support::{spawn, sum, sum_server};

/// The process's recorder: installed once, shared by the tests, each with its own prefix
/// (the exposition is cumulative, so tests running at once do not disturb each other).
fn prometheus() -> &'static Prometheus {
    static PROMETHEUS: OnceLock<Prometheus> = OnceLock::new();
    PROMETHEUS.get_or_init(|| Prometheus::install().expect("the only recorder of the tests"))
}

/// The exposition's lines of metrics named `prefix...`, as `name{labels}` → value.
fn series(prefix: &str) -> BTreeMap<String, f64> {
    prometheus()
        .render()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("a sample line");
            (key.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The request counts (the histogram's `_count`) and the in-flight gauges of `prefix`.
fn counts(prefix: &str) -> BTreeMap<String, f64> {
    series(prefix)
        .into_iter()
        .filter(|(key, _)| key.contains("_count{") || key.contains("_in_flight{"))
        .collect()
}

fn expected(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// A name no service would define: `tag` and a pseudo-random number, distinct for each `i`.
fn hostile_name(tag: &str, i: u64) -> String {
    let scrambled = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    format!("{tag}-{i}-{scrambled:016x}")
}

#[tokio::test]
async fn unknown_paths_and_methods_collapse_into_other_and_each_outcome_has_its_code() {
    let names = {
        let _ = prometheus();
        ServerMetrics::new("hostile_http")
    };
    let note = endpoint_fn(|_ctx: Context, id: u64| async move { Ok::<_, Error>(id) });
    let router = Router::new()
        .route(Method::POST, "/sum", sum_server().body_limit(64))
        .metrics(&names)
        // Added after `metrics`: recorded too.
        .route(
            Method::GET,
            "/notes/{id}",
            Server::new(
                note,
                |parts: &http::request::Parts, _body| PathParams::of(parts).parse::<u64>("id"),
                json::encode_response,
            ),
        );
    let addr = spawn(router).await;

    let mut conn = Connection::open(addr).await;
    conn.stream().set_nodelay(true).unwrap();
    for i in 0..500 {
        let path = format!("/{}", hostile_name("probe", i));
        assert_eq!(conn.request("GET", &path, "").await.status, 404, "{path}");
    }
    for i in 0..20 {
        // A method the path is not routed for, and one no server knows.
        let method = if i % 2 == 0 { "DELETE" } else { "BREW" };
        assert_eq!(conn.request(method, "/sum", "").await.status, 405);
    }
    for _ in 0..3 {
        let answer = conn.request("POST", "/sum", r#"{"a":1,"b":2}"#).await;
        assert_eq!((answer.status, answer.body.trim()), (200, r#"{"v":3}"#));
    }
    // A business error, a body that does not decode: the route's, INVALID_ARGUMENT.
    assert_eq!(
        conn.request("POST", "/sum", r#"{"a":0,"b":0}"#)
            .await
            .status,
        400
    );
    assert_eq!(conn.request("POST", "/sum", r#"{"a":"#).await.status, 400);
    assert_eq!(conn.request("GET", "/notes/7", "").await.status, 200);
    // A path parameter that does not parse is the route's too.
    assert_eq!(conn.request("GET", "/notes/seven", "").await.status, 400);
    // The router's own answer to OPTIONS.
    assert_eq!(conn.request("OPTIONS", "/sum", "").await.status, 204);
    // Over the body limit: 413, INVALID_ARGUMENT (the connection is closed after it).
    let big = format!(r#"{{"a":1,"b":2,"pad":"{}"}}"#, "x".repeat(100));
    assert_eq!(request(addr, "POST", "/sum", &big).await.status, 413);

    let http = |route: &str, code: &str| {
        format!(
            r#"hostile_http_server_request_duration_seconds_count{{transport="http",route="{route}",code="{code}"}}"#
        )
    };
    assert_eq!(
        counts("hostile_http"),
        expected(&[
            (&http("other", "NOT_FOUND"), 500.0),
            (&http("other", "UNIMPLEMENTED"), 20.0),
            (&http("other", "OK"), 1.0),
            (&http("POST /sum", "OK"), 3.0),
            (&http("POST /sum", "INVALID_ARGUMENT"), 3.0),
            (&http("GET /notes/{id}", "OK"), 1.0),
            (&http("GET /notes/{id}", "INVALID_ARGUMENT"), 1.0),
            (
                r#"hostile_http_server_requests_in_flight{transport="http"}"#,
                0.0
            ),
        ])
    );
    let exposition: String = series("hostile_http").into_keys().collect();
    assert!(!exposition.contains("probe"), "{exposition}");
    assert!(!exposition.contains("BREW"), "{exposition}");

    // The server keeps serving.
    let answer = request(addr, "POST", "/sum", r#"{"a":40,"b":2}"#).await;
    assert_eq!((answer.status, answer.body.trim()), (200, r#"{"v":42}"#));
    assert_eq!(counts("hostile_http")[&http("POST /sum", "OK")], 4.0);
}

/// Serves `server` on a free loopback port until the test's runtime ends.
async fn spawn_jsonrpc(server: Server<jsonrpc::Methods>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, server).into_future());
    addr
}

#[tokio::test]
async fn unknown_jsonrpc_methods_collapse_into_other_and_each_outcome_has_its_code() {
    let names = {
        let _ = prometheus();
        ServerMetrics::new("hostile_jsonrpc")
    };
    let methods = jsonrpc::Methods::new().method(
        "sum",
        sum(),
        jsonrpc::decode_params,
        jsonrpc::encode_result,
    );
    let addr = spawn_jsonrpc(Server::jsonrpc(methods).body_limit(256).metrics(&names)).await;

    let mut conn = Connection::open(addr).await;
    // The head and the body are two writes: without this, each request waits out the
    // server's delayed ACK.
    conn.stream().set_nodelay(true).unwrap();
    for i in 0..500 {
        let method = hostile_name("probe", i);
        let call = format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":{i}}}"#);
        let answer = conn.request("POST", "/rpc", &call).await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains("-32601"), "{}", answer.body);
    }
    let ok = r#"{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":2},"id":1}"#;
    for _ in 0..2 {
        let answer = conn.request("POST", "/rpc", ok).await;
        assert_eq!(answer.body, r#"{"jsonrpc":"2.0","result":{"v":3},"id":1}"#);
    }
    // A business error: -32602, INVALID_ARGUMENT, under the method.
    let zeroes = r#"{"jsonrpc":"2.0","method":"sum","params":{"a":0,"b":0},"id":2}"#;
    assert!(
        conn.request("POST", "/rpc", zeroes)
            .await
            .body
            .contains("-32602")
    );
    // A batch: each call is recorded, a notification too.
    let batch = r#"[{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":1},"id":3},
        {"jsonrpc":"2.0","method":"nope","id":4},{"jsonrpc":"2.0","method":"nope2"}]"#;
    let answer = conn.request("POST", "/rpc", batch).await;
    assert!(
        answer.body.contains(r#""result":{"v":2}"#),
        "{}",
        answer.body
    );
    // Not JSON (-32700), not a request (-32600): the message's, INVALID_ARGUMENT.
    assert!(
        conn.request("POST", "/rpc", "{")
            .await
            .body
            .contains("-32700")
    );
    let invalid = r#"{"jsonrpc":"2.0","method":5,"id":1}"#;
    assert!(
        conn.request("POST", "/rpc", invalid)
            .await
            .body
            .contains("-32600")
    );
    // Refused before any call is read: 405 (UNIMPLEMENTED), 413 (INVALID_ARGUMENT).
    assert_eq!(conn.request("GET", "/rpc", "").await.status, 405);
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"sum","params":{{"a":1,"b":2,"pad":"{}"}},"id":1}}"#,
        "x".repeat(300)
    );
    assert_eq!(request(addr, "POST", "/rpc", &big).await.status, 413);

    let jsonrpc = |route: &str, code: &str| {
        format!(
            r#"hostile_jsonrpc_server_request_duration_seconds_count{{transport="jsonrpc",route="{route}",code="{code}"}}"#
        )
    };
    assert_eq!(
        counts("hostile_jsonrpc"),
        expected(&[
            (&jsonrpc("other", "UNIMPLEMENTED"), 500.0 + 2.0 + 1.0),
            (&jsonrpc("other", "INVALID_ARGUMENT"), 3.0),
            (&jsonrpc("other", "OK"), 0.0),
            (&jsonrpc("sum", "OK"), 3.0),
            (&jsonrpc("sum", "INVALID_ARGUMENT"), 1.0),
            (
                r#"hostile_jsonrpc_server_requests_in_flight{transport="jsonrpc"}"#,
                0.0
            ),
        ])
    );
    let exposition: String = series("hostile_jsonrpc").into_keys().collect();
    assert!(!exposition.contains("probe"), "{exposition}");
    assert!(!exposition.contains("nope"), "{exposition}");

    // The server keeps serving.
    let answer = request(addr, "POST", "/rpc", ok).await;
    assert_eq!(answer.body, r#"{"jsonrpc":"2.0","result":{"v":3},"id":1}"#);
}
