//! addsvc's limits (CONTRACTS.md): Sum at most 1 call per second (burst 1) inside a circuit
//! breaker, Concat 100 per second; shared by every transport, answered 429 /
//! RESOURCE_EXHAUSTED / the JSON-RPC code of `ResourceExhausted`; the breaker opens on a burst
//! of refusals and closes again; the process keeps serving throughout.

use std::net::SocketAddr;
use std::time::Duration;

use kit::Code;
use kit_testkit::http::request;
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::pb;
use crate::support::start_with_async;

async fn sum_http(addr: SocketAddr) -> (u16, String) {
    let answer = request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    (answer.status, answer.body)
}

async fn sum_jsonrpc(addr: SocketAddr) -> Value {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"sum","params":{"a":1,"b":2}}"#;
    let answer = request(addr, "POST", "/rpc", body).await;
    assert_eq!(answer.status, 200);
    serde_json::from_str(&answer.body).unwrap()
}

async fn sum_grpc(addr: SocketAddr) -> Result<pb::SumReply, tonic::Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    pb::add_client::AddClient::new(channel)
        .sum(pb::SumRequest { a: 1, b: 2 })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn sums_over_the_limit_are_refused_on_every_transport_and_the_breaker_opens_and_closes() {
    let svc = start_with_async(&["--limits", "--breaker-timeout", "1s"]).await;
    let limited = json!({"error": "rate limit exceeded", "code": "RESOURCE_EXHAUSTED"});

    // The burst of one is spent by the first call; the limit is the endpoint's, so every
    // transport meets the same one.
    assert_eq!(sum_http(svc.http).await, (200, r#"{"v":3}"#.to_owned()));
    let answer = request(svc.http, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(answer.status, 429);
    assert_eq!(
        serde_json::from_str::<Value>(&answer.body).unwrap(),
        limited
    );
    // The whole seconds until the next permit: under one second has passed since the first.
    assert_eq!(answer.header("retry-after"), Some("1"), "{answer:?}");
    let status = sum_grpc(svc.grpc).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::ResourceExhausted, "rate limit exceeded")
    );
    // gRPC carries it as metadata of the refusal. JSON-RPC does not: its transport sends no
    // response metadata (one HTTP answer may hold a batch of replies).
    let retry_after = status
        .metadata()
        .get("retry-after")
        .map(|v| v.to_str().unwrap());
    assert_eq!(retry_after, Some("1"), "{:?}", status.metadata());
    let reply = sum_jsonrpc(svc.jsonrpc).await;
    assert_eq!(
        reply["error"]["code"],
        kit_http::jsonrpc::error_code(Code::ResourceExhausted)
    );
    assert_eq!(reply["error"]["message"], "rate limit exceeded");

    // Three refusals so far; three more make more than five in a row: the breaker opens and
    // refuses without asking the limiter.
    for _ in 0..3 {
        assert_eq!(sum_http(svc.http).await.0, 429);
    }
    let opened = json!({"error": "circuit breaker is open", "code": "UNAVAILABLE"});
    let answer = request(svc.http, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(answer.status, 503);
    assert_eq!(serde_json::from_str::<Value>(&answer.body).unwrap(), opened);
    let status = sum_grpc(svc.grpc).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::Unavailable, "circuit breaker is open")
    );

    // Concat has its own limit and breaker, and the process keeps serving.
    let concat = request(svc.http, "POST", "/concat", r#"{"a":"x","b":"y"}"#).await;
    assert_eq!(
        (concat.status, concat.body.as_str()),
        (200, r#"{"v":"xy"}"#)
    );

    // After the breaker's timeout (1 s here) a probe goes through; the limiter has refilled
    // by then, so it succeeds and the breaker closes. Polled, not timed.
    let mut answer = sum_http(svc.http).await;
    for _ in 0..100 {
        if answer.0 == 200 {
            break;
        }
        assert_eq!(answer.0, 503, "{answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = sum_http(svc.http).await;
    }
    assert_eq!(answer, (200, r#"{"v":3}"#.to_owned()));
    // Closed: the next refusal is the limiter's again, not the breaker's.
    assert_eq!(sum_http(svc.http).await.0, 429);
}

#[tokio::test]
async fn no_limits_turns_them_off() {
    let svc = crate::support::start_async().await; // with --no-limits
    for _ in 0..10 {
        assert_eq!(sum_http(svc.http).await, (200, r#"{"v":3}"#.to_owned()));
    }
}
