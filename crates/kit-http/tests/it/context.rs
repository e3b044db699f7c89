//! The request context both ways over HTTP: response metadata and hints set by endpoints,
//! the call's cancellation, redacted errors, and what decoders see.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use kit::{Code, Context, Error, endpoint_fn};
use kit_http::server::{Decoder, Summary};
use kit_http::{PathParams, RequestBody, Router, Server, json};
use kit_testkit::http::{Connection, exchange, request};
use tokio::sync::{mpsc, oneshot};

use crate::support::{SumRequest, spawn};

#[tokio::test]
async fn endpoints_set_response_headers_and_the_status_through_the_context() {
    let create = endpoint_fn(|ctx: Context, r: SumRequest| async move {
        ctx.set_response_metadata("Location", format!("/sums/{}", r.a + r.b));
        ctx.append_response_metadata("set-cookie", "a=1");
        ctx.append_response_metadata("set-cookie", "b=2");
        // Replaces what the encoder wrote.
        ctx.set_response_metadata("content-type", "application/vnd.sum+json");
        ctx.set_response_hint(StatusCode::CREATED);
        Ok::<_, Error>(r.a + r.b)
    });
    let limited = endpoint_fn(|ctx: Context, _: serde_json::Value| async move {
        ctx.set_response_metadata("retry-after", "7");
        // A status hint does not override an error's status.
        ctx.set_response_hint(StatusCode::ACCEPTED);
        Err::<(), _>(Error::resource_exhausted("rate limit exceeded"))
    });
    let router = Router::new()
        .route(
            Method::POST,
            "/sums",
            Server::new(create, json::decode_request, json::encode_response),
        )
        .route(
            Method::POST,
            "/limited",
            Server::new(limited, json::decode_request, json::encode_response),
        );
    let addr = spawn(router).await;

    let created = request(addr, "POST", "/sums", r#"{"a":1,"b":2}"#).await;
    assert_eq!((created.status, created.body.as_str()), (201, "3"));
    assert_eq!(created.header("location"), Some("/sums/3"));
    assert_eq!(
        created.header("content-type"),
        Some("application/vnd.sum+json")
    );
    let cookies: Vec<&str> = created
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);

    let limited = request(addr, "POST", "/limited", "{}").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(
        limited.body,
        r#"{"error":"rate limit exceeded","code":"RESOURCE_EXHAUSTED"}"#
    );
}

#[tokio::test]
async fn the_request_context_is_cancelled_when_the_client_goes_away() {
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let (seen_tx, seen) = oneshot::channel::<Code>();
    let seen_tx = Arc::new(Mutex::new(Some(seen_tx)));
    let slow = endpoint_fn(move |ctx: Context, _: serde_json::Value| {
        let started_tx = started_tx.clone();
        let seen_tx = seen_tx.clone();
        async move {
            // Work spawned under the request's context, outliving this future.
            let watched = ctx.clone();
            tokio::spawn(async move {
                let reason = watched.done().await;
                if let Some(tx) = seen_tx.lock().unwrap().take() {
                    let _ = tx.send(reason.code());
                }
            });
            let _ = started_tx.send(());
            std::future::pending::<Result<(), Error>>().await
        }
    });
    let (finals_tx, mut finals) = mpsc::unbounded_channel();
    let server = Server::new(slow, json::decode_request, json::encode_response).finalizer(
        move |_ctx: &Context, summary: &Summary<'_>| {
            let _ = finals_tx.send((summary.status.as_u16(), summary.error.map(|e| e.code())));
        },
    );
    let addr = spawn(Router::new().route(Method::POST, "/slow", server)).await;

    let mut connection = Connection::open(addr).await;
    connection
        .send("POST /slow HTTP/1.1\r\nContent-Length: 2", b"{}")
        .await;
    started.recv().await.expect("the endpoint started");
    drop(connection);

    assert_eq!(seen.await.unwrap(), Code::Cancelled);
    assert_eq!(finals.recv().await, Some((499, Some(Code::Cancelled))));
}

#[tokio::test]
async fn the_request_context_is_cancelled_once_the_call_is_answered() {
    let (seen_tx, seen) = oneshot::channel::<Code>();
    let seen_tx = Arc::new(Mutex::new(Some(seen_tx)));
    let quick = endpoint_fn(move |ctx: Context, _: serde_json::Value| {
        let seen_tx = seen_tx.clone();
        async move {
            tokio::spawn(async move {
                let reason = ctx.done().await;
                if let Some(tx) = seen_tx.lock().unwrap().take() {
                    let _ = tx.send(reason.code());
                }
            });
            Ok::<_, Error>(1)
        }
    });
    let addr = spawn(Router::new().route(
        Method::POST,
        "/quick",
        Server::new(quick, json::decode_request, json::encode_response),
    ))
    .await;
    assert_eq!(request(addr, "POST", "/quick", "{}").await.status, 200);
    assert_eq!(seen.await.unwrap(), Code::Cancelled);
}

#[tokio::test]
async fn private_error_messages_are_redacted_unless_turned_off() {
    let leaky = || {
        endpoint_fn(|_ctx: Context, _: serde_json::Value| async {
            Err::<(), _>(
                Error::internal("pq: password authentication failed for user \"svc\"")
                    .with_details(serde_json::json!({"retry": false})),
            )
        })
    };
    let (logged_tx, mut logged) = mpsc::unbounded_channel::<String>();
    let redacted = Server::new(leaky(), json::decode_request, json::encode_response).finalizer(
        move |_ctx: &Context, summary: &Summary<'_>| {
            let _ = logged_tx.send(summary.error.unwrap().message().to_owned());
        },
    );
    let plain = Server::new(leaky(), json::decode_request, json::encode_response)
        .redact_private_errors(false);
    let business = endpoint_fn(|_ctx: Context, _: serde_json::Value| async {
        Err::<(), _>(Error::not_found("no profile 7"))
    });
    let router = Router::new()
        .route(Method::POST, "/redacted", redacted)
        .route(Method::POST, "/plain", plain)
        .route(
            Method::POST,
            "/business",
            Server::new(business, json::decode_request, json::encode_response),
        );
    let addr = spawn(router).await;

    let answer = request(addr, "POST", "/redacted", "{}").await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.body,
        r#"{"error":"internal error","code":"INTERNAL","details":{"retry":false}}"#
    );
    // Logs still see what happened.
    assert_eq!(
        logged.recv().await.unwrap(),
        "pq: password authentication failed for user \"svc\""
    );
    let answer = request(addr, "POST", "/plain", "{}").await;
    assert!(
        answer.body.contains("password authentication failed"),
        "{}",
        answer.body
    );
    let answer = request(addr, "POST", "/business", "{}").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (404, r#"{"error":"no profile 7","code":"NOT_FOUND"}"#)
    );
}

#[tokio::test]
async fn unknown_transfer_codings_are_refused_with_501() {
    let addr = spawn(crate::support::sum_router()).await;
    let body = "{\"a\":1,\"b\":2}";
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let answer = exchange(
        addr,
        "POST /sum HTTP/1.1\r\nTransfer-Encoding: gzip, chunked",
        chunked.as_bytes(),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            501,
            r#"{"error":"transfer coding \"gzip\" is not supported","code":"UNIMPLEMENTED"}"#
        )
    );
    // Plain chunked is still served, on the same server.
    let answer = exchange(
        addr,
        "POST /sum HTTP/1.1\r\nTransfer-Encoding: chunked",
        chunked.as_bytes(),
    )
    .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_refused_and_others_are_served() {
    let server = Server::new(
        crate::support::sum(),
        json::decode_request,
        json::encode_response,
    )
    .body_timeout(Some(Duration::from_millis(200)));
    let addr = spawn(Router::new().route(Method::POST, "/sum", server)).await;

    // Promises 13 bytes, sends 5, then stalls.
    let mut slow = Connection::open(addr).await;
    slow.send_raw(b"POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"a\":")
        .await;
    // Meanwhile another client is served.
    let answer = request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!(answer.status, 200);
    let answer = slow.read_answer().await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            408,
            r#"{"error":"request body not received in time","code":"INVALID_ARGUMENT"}"#
        )
    );

    // When the request's deadline comes first, it is the deadline that ends the read.
    let mut late = Connection::open(addr).await;
    late.send_raw(
        b"POST /sum HTTP/1.1\r\nHost: x\r\nkit-timeout: 50m\r\nContent-Length: 13\r\n\r\n{\"a\":",
    )
    .await;
    let answer = late.read_answer().await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (
            504,
            r#"{"error":"deadline exceeded","code":"DEADLINE_EXCEEDED"}"#
        )
    );
}

/// A decoder that waits, and sees the context, the extensions and the path parameters.
struct Tagged;

impl Decoder<String> for Tagged {
    async fn decode<B>(
        &self,
        ctx: &Context,
        parts: &mut http::request::Parts,
        body: RequestBody<B>,
    ) -> Result<String, Error>
    where
        B: http_body::Body + Send,
        B::Data: Send,
        B::Error: Into<kit::BoxError>,
    {
        tokio::task::yield_now().await;
        let id: u64 = PathParams::of(parts).parse("id")?;
        let bytes: Bytes = body.bytes().await?;
        Ok(format!(
            "{id}:{}:{}",
            ctx.metadata("x-tenant").unwrap_or("-"),
            String::from_utf8_lossy(&bytes)
        ))
    }
}

#[tokio::test]
async fn decoders_may_be_async_and_see_the_context_and_path_parameters() {
    let echo = endpoint_fn(|_ctx: Context, s: String| async move { Ok::<_, Error>(s) });
    let server = Server::new(echo, Tagged, json::encode_response)
        .before(kit_http::server::propagate_headers(["x-tenant"]))
        .body_limit(8);
    let addr = spawn(Router::new().route(Method::PUT, "/notes/{id}", server)).await;

    let answer = exchange(
        addr,
        "PUT /notes/42 HTTP/1.1\r\nx-tenant: blue\r\nContent-Length: 5",
        b"hello",
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#""42:blue:hello""#)
    );
    let answer = request(addr, "PUT", "/notes/x", "hi").await;
    assert_eq!(
        answer.body,
        r#"{"error":"invalid path parameter id \"x\": invalid digit found in string","code":"INVALID_ARGUMENT"}"#
    );
    // The server's body limit holds for decoders of their own.
    let answer = request(addr, "PUT", "/notes/1", "123456789").await;
    assert_eq!(answer.status, 413);
}

#[tokio::test]
async fn the_timeout_header_is_found_among_few_or_many_headers() {
    let remaining = endpoint_fn(|ctx: Context, _: serde_json::Value| async move {
        Ok::<_, Error>(ctx.remaining().map(|d| d.as_secs()))
    });
    let addr = spawn(Router::new().route(
        Method::POST,
        "/remaining",
        Server::new(remaining, json::decode_request, json::encode_response),
    ))
    .await;
    for extra in [0, 3, 20] {
        let mut head = String::from("POST /remaining HTTP/1.1\r\nContent-Length: 2");
        for i in 0..extra {
            head.push_str(&format!("\r\nx-filler-{i}: {i}"));
        }
        head.push_str("\r\nkit-timeout: 100S");
        let answer = exchange(addr, &head, b"{}").await;
        assert_eq!(answer.status, 200, "{extra} headers: {answer:?}");
        let secs: u64 = answer.body.parse().unwrap();
        assert!((95..=100).contains(&secs), "{extra} headers: {secs}");
    }
    // And without one, no deadline.
    let answer = request(addr, "POST", "/remaining", "{}").await;
    assert_eq!(answer.body, "null");
}
