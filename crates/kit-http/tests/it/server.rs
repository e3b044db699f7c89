//! The server's contract: success, errors with exact statuses and bodies, hooks, deadlines,
//! and that it keeps serving after bad input.

use std::sync::{Arc, Mutex};

use http::{HeaderValue, Method};
use kit::{Context, Error, endpoint_fn};
use kit_http::{Router, Server, json};

use crate::support::{SumReply, spawn, sum, sum_router};
use kit_testkit::http::{exchange, request};

#[tokio::test]
async fn json_in_json_out() {
    let addr = spawn(sum_router()).await;
    let answer = request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, r#"{"v":3}"#);
    assert_eq!(answer.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn go_clients_chunked_capitalised_and_untyped_bodies_are_accepted() {
    let addr = spawn(sum_router()).await;
    // Go kit's client: chunked, capitalised keys, trailing newline, no Content-Type.
    let body = "{\"A\":20,\"B\":22}\n";
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let answer = exchange(
        addr,
        "POST /sum HTTP/1.1\r\nTransfer-Encoding: chunked",
        chunked.as_bytes(),
    )
    .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":42}"#));
}

#[tokio::test]
async fn business_errors_are_400_with_the_message() {
    let addr = spawn(sum_router()).await;
    let answer = request(addr, "POST", "/sum", r#"{"a":0,"b":0}"#).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        r#"{"error":"can't sum two zeroes","code":"INVALID_ARGUMENT"}"#
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn bad_input_gets_exact_errors_and_the_server_keeps_serving() {
    let addr = spawn(sum_router()).await;

    let malformed = request(addr, "POST", "/sum", "{\"a\":1,").await;
    assert_eq!(malformed.status, 400);
    assert_eq!(
        malformed.body,
        r#"{"error":"invalid request body: EOF while parsing a value at line 1 column 7","code":"INVALID_ARGUMENT"}"#
    );

    let mistyped = request(addr, "POST", "/sum", r#"{"a":"x","b":1}"#).await;
    assert_eq!(mistyped.status, 400);
    assert_eq!(
        mistyped.body,
        r#"{"error":"invalid request body: invalid type: string \"x\", expected i64 at line 1 column 8","code":"INVALID_ARGUMENT"}"#
    );

    let wrong_method = request(addr, "GET", "/sum", "").await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(
        wrong_method.body,
        r#"{"error":"method GET not allowed for /sum","code":"UNIMPLEMENTED"}"#
    );
    assert_eq!(wrong_method.header("allow"), Some("POST, OPTIONS"));

    let unknown = request(addr, "POST", "/nope", "{}").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body,
        r#"{"error":"no route for /nope","code":"NOT_FOUND"}"#
    );

    // A chunk longer than its declared size.
    let broken = exchange(
        addr,
        "POST /sum HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"3\r\n{\"a\":1}\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(
        (broken.status, broken.body.as_str()),
        (
            400,
            r#"{"error":"reading body: Invalid chunk body CR","code":"INVALID_ARGUMENT"}"#
        )
    );

    let ok = request(addr, "POST", "/sum", r#"{"a":2,"b":2}"#).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, r#"{"v":4}"#));
}

#[tokio::test]
async fn oversized_bodies_are_413_whether_declared_or_streamed() {
    let limited = Router::new().route(
        Method::POST,
        "/sum",
        Server::new(sum(), json::decode_request, json::encode_response).body_limit(64),
    );
    let addr = spawn(limited).await;
    let expected = r#"{"error":"body exceeds the limit of 64 bytes","code":"INVALID_ARGUMENT"}"#;

    // Declared too large: answered before the body is sent at all.
    let declared = exchange(addr, "POST /sum HTTP/1.1\r\nContent-Length: 1000000", b"").await;
    assert_eq!((declared.status, declared.body.as_str()), (413, expected));

    // Chunked: answered once the limit is passed.
    let chunk = "x".repeat(100);
    let chunked = format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    let streamed = exchange(
        addr,
        "POST /sum HTTP/1.1\r\nTransfer-Encoding: chunked",
        chunked.as_bytes(),
    )
    .await;
    assert_eq!((streamed.status, streamed.body.as_str()), (413, expected));

    // The default limit is 1 MiB.
    let addr = spawn(crate::support::sum_router()).await;
    let big = format!(r#"{{"a":1,"b":2,"pad":"{}"}}"#, "x".repeat(1 << 20));
    assert_eq!(request(addr, "POST", "/sum", &big).await.status, 413);
    let fits = format!(r#"{{"a":1,"b":2,"pad":"{}"}}"#, "x".repeat((1 << 20) - 100));
    assert_eq!(request(addr, "POST", "/sum", &fits).await.status, 200);
}

#[tokio::test]
async fn hooks_run_around_the_endpoint() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let finals = seen.clone();
    let whoami = endpoint_fn(|ctx: Context, _: serde_json::Value| async move {
        Ok::<_, Error>(SumReply {
            v: ctx.metadata("x-user").map_or(-1, |u| u.len() as i64),
        })
    });
    let server = Server::new(whoami, json::decode_request, json::encode_response)
        .before(
            |ctx: Context, parts: &http::request::Parts| match parts.headers.get("x-user") {
                Some(user) => ctx.with_metadata("x-user", user.to_str().unwrap().to_owned()),
                None => ctx,
            },
        )
        .after(|ctx: &Context, parts: &mut http::response::Parts| {
            let user = ctx.metadata("x-user").unwrap_or("anonymous").to_owned();
            parts
                .headers
                .insert("x-served-for", HeaderValue::try_from(user).unwrap());
        })
        .finalizer(
            move |_ctx: &Context, summary: &kit_http::server::Summary<'_>| {
                finals.lock().unwrap().push((
                    summary.request.uri.path().to_owned(),
                    summary.status.as_u16(),
                    summary.size,
                    summary.error.map(|e| e.code()),
                ));
            },
        );
    let addr = spawn(Router::new().route(Method::POST, "/who", server)).await;

    let answer = exchange(
        addr,
        "POST /who HTTP/1.1\r\nx-user: alice\r\nContent-Length: 2",
        b"{}",
    )
    .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":5}"#));
    assert_eq!(answer.header("x-served-for"), Some("alice"));

    let bad = request(addr, "POST", "/who", "nope").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.header("x-served-for"),
        Some("anonymous"),
        "after hooks also run on errors"
    );

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("/who".to_owned(), 200, 7, None),
            (
                "/who".to_owned(),
                400,
                bad.body.len() as u64,
                Some(kit::Code::InvalidArgument)
            ),
        ]
    );
}

#[tokio::test]
async fn a_custom_error_encoder_replaces_the_default() {
    let server = Server::new(sum(), json::decode_request, json::encode_response).error_encoder(
        |_ctx: &Context, err: &Error| {
            let body = format!("{}: {}", err.code(), err.message());
            let mut response = http::Response::new(kit_http::Body::from(body));
            *response.status_mut() = kit_http::status_of(err);
            response
        },
    );
    let addr = spawn(Router::new().route(Method::POST, "/sum", server)).await;
    let answer = request(addr, "POST", "/sum", r#"{"a":0,"b":0}"#).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (400, "INVALID_ARGUMENT: can't sum two zeroes")
    );
}

#[tokio::test]
async fn the_timeout_header_becomes_the_deadline() {
    let addr = spawn(sum_router()).await;
    // a = -2000 makes the endpoint sleep 2 s; the caller only gives it 50 ms, so only
    // the deadline can produce the 504 (the work itself would answer 200).
    let body = r#"{"a":-2000,"b":1}"#;
    let head = format!(
        "POST /sum HTTP/1.1\r\nkit-timeout: 50m\r\nContent-Length: {}",
        body.len()
    );
    let slow = exchange(addr, &head, body.as_bytes()).await;
    assert_eq!(
        (slow.status, slow.body.as_str()),
        (
            504,
            r#"{"error":"deadline exceeded","code":"DEADLINE_EXCEEDED"}"#
        )
    );

    let head = format!(
        "POST /sum HTTP/1.1\r\nkit-timeout: soon\r\nContent-Length: {}",
        body.len()
    );
    let malformed = exchange(addr, &head, body.as_bytes()).await;
    assert_eq!(
        (malformed.status, malformed.body.as_str()),
        (
            400,
            r#"{"error":"malformed kit-timeout header: \"soon\"","code":"INVALID_ARGUMENT"}"#
        )
    );
}
