//! The client endpoint against real servers on loopback.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Uri};
use kit::error::Delivery;
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use kit_http::{Body, Client, Pool, Router, Server, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::{SumReply, SumRequest, spawn, sum_router};

fn uri(addr: std::net::SocketAddr, path: &str) -> Uri {
    format!("http://{addr}{path}").parse().unwrap()
}

fn sum_client(u: Uri) -> impl Endpoint<SumRequest, Response = SumReply> {
    Client::new(
        Method::POST,
        u,
        json::encode_request,
        json::decode_response::<SumReply>,
    )
}

#[tokio::test]
async fn round_trip_and_business_errors() {
    let addr = spawn(sum_router()).await;
    let pool = Pool::new();
    let client = Client::new(
        Method::POST,
        uri(addr, "/sum"),
        json::encode_request,
        json::decode_response::<SumReply>,
    )
    .pool(pool.clone());
    for _ in 0..3 {
        let reply = client
            .call(Context::background(), SumRequest { a: 1, b: 2 })
            .await
            .unwrap();
        assert_eq!(reply, SumReply { v: 3 });
    }
    let err = client
        .call(Context::background(), SumRequest { a: 0, b: 0 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "can't sum two zeroes")
    );
}

#[tokio::test]
async fn statuses_become_codes() {
    let addr = spawn(sum_router()).await;
    let err = sum_client(uri(addr, "/missing"))
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::NotFound, "no route for /missing")
    );

    // A non-JSON error body: the text is the message.
    let gateway = tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
        let mut response = http::Response::new(Body::from("upstream is down"));
        *response.status_mut() = http::StatusCode::BAD_GATEWAY;
        Ok::<_, Infallible>(response)
    });
    let addr = spawn(Router::new().route_service(Method::POST, "/sum", gateway)).await;
    let err = sum_client(uri(addr, "/sum"))
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "upstream is down")
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn unreachable_servers_are_unavailable() {
    let port = kit_testkit::free_port();
    let err = sum_client(format!("http://127.0.0.1:{port}/sum").parse().unwrap())
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!("POST http://127.0.0.1:{port}/sum: Connection refused (os error 111)")
    );
}

#[tokio::test]
async fn bad_responses_are_the_servers_fault() {
    let garbage = tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
        Ok::<_, Infallible>(http::Response::new(Body::from("not json")))
    });
    let addr = spawn(Router::new().route_service(Method::POST, "/sum", garbage)).await;
    let err = sum_client(uri(addr, "/sum"))
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "invalid response body: expected ident at line 1 column 2"
    );

    let big = Client::new(
        Method::POST,
        uri(addr, "/sum"),
        json::encode_request,
        json::decode_response::<SumReply>,
    )
    .response_limit(4);
    let err = big
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::ResourceExhausted,
            "response body exceeds the limit of 4 bytes"
        )
    );
}

/// A server whose endpoint reports what the request carried: remaining time and metadata.
async fn introspection_server() -> std::net::SocketAddr {
    let report = endpoint_fn(|ctx: Context, _: serde_json::Value| async move {
        Ok::<_, Error>(serde_json::json!({
            "remaining_ms": ctx.remaining().map(|d| d.as_millis() as u64),
            "request_id": ctx.metadata("x-request-id"),
            "tag": ctx.metadata("x-tag"),
        }))
    });
    let server = Server::new(report, json::decode_request, json::encode_response).before(
        |mut ctx: Context, parts: &http::request::Parts| {
            for name in ["x-request-id", "x-tag"] {
                if let Some(v) = parts.headers.get(name) {
                    ctx = ctx.with_metadata(name, v.to_str().unwrap().to_owned());
                }
            }
            ctx
        },
    );
    spawn(Router::new().route(Method::POST, "/report", server)).await
}

#[tokio::test]
async fn deadline_and_propagated_metadata_travel() {
    let addr = introspection_server().await;
    let seen = Arc::new(Mutex::new(None));
    let seen_by_after = seen.clone();
    let client = Client::new(
        Method::POST,
        uri(addr, "/report"),
        json::encode_request,
        json::decode_response::<serde_json::Value>,
    )
    .before(|_ctx: &Context, parts: &mut http::request::Parts| {
        parts
            .headers
            .insert("x-tag", http::HeaderValue::from_static("from-before"));
    })
    .after(move |_ctx: &Context, parts: &http::response::Parts| {
        *seen_by_after.lock().unwrap() = Some(parts.status.as_u16());
    });

    let ctx = Context::background()
        .with_timeout(Duration::from_secs(30))
        .with_propagated("x-request-id", "req-7")
        .with_metadata("x-secret", "stays here");
    let report = client.call(ctx, serde_json::json!({})).await.unwrap();
    let remaining = report["remaining_ms"]
        .as_u64()
        .expect("the server got a deadline");
    assert!(remaining > 0 && remaining <= 30_000, "{report}");
    assert_eq!(report["request_id"], "req-7");
    assert_eq!(report["tag"], "from-before");
    assert_eq!(*seen.lock().unwrap(), Some(200));

    // Without a deadline, none is sent.
    let report = client
        .call(Context::background(), serde_json::json!({}))
        .await
        .unwrap();
    assert!(report["remaining_ms"].is_null(), "{report}");
}

/// A server that accepts connections and never answers.
async fn black_hole() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn the_client_enforces_the_deadline_itself() {
    let addr = black_hole().await;
    let ctx = Context::background().with_timeout(Duration::from_millis(50));
    let err = sum_client(uri(addr, "/sum"))
        .call(ctx, SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    // A deadline that passes while waiting for the answer: the request may have run.
    assert_eq!(err.delivery(), Delivery::MaybeExecuted);
    assert!(!err.is_retryable());

    let (ctx, cancel) = Context::background().with_cancel();
    let client = sum_client(uri(addr, "/sum"));
    let call = client.call(ctx, SumRequest { a: 1, b: 1 });
    let canceller = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(call, canceller);
    assert_eq!(result.unwrap_err().code(), Code::Cancelled);
}

/// A listener that reports the first bytes of every connection it accepts, and answers
/// nothing.
async fn first_bytes_of_each_connection() -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>)
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 4];
                if stream.read_exact(&mut buf).await.is_ok() {
                    let _ = tx.send(buf);
                }
                std::future::pending::<()>().await;
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn an_expired_context_sends_nothing() {
    let (addr, mut received) = first_bytes_of_each_connection().await;
    let expired = Context::background().with_timeout(Duration::ZERO);
    let err = sum_client(uri(addr, "/sum"))
        .call(expired, SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(err.delivery(), Delivery::NotSent);
    // The first bytes the server ever gets are a marker sent afterwards.
    let mut marker = tokio::net::TcpStream::connect(addr).await.unwrap();
    marker.write_all(b"MARK").await.unwrap();
    assert_eq!(received.recv().await.unwrap(), b"MARK");
}

#[tokio::test]
async fn failures_say_whether_the_request_may_have_run() {
    // Refused: never sent, safe to retry.
    let port = kit_testkit::free_port();
    let refused = sum_client(format!("http://127.0.0.1:{port}/sum").parse().unwrap())
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), refused.delivery()),
        (Code::Unavailable, Delivery::NotSent)
    );
    assert!(refused.is_retryable());

    // Read whole, then the connection is dropped without an answer: it may have run.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    });
    let post = Client::new(
        Method::POST,
        uri(addr, "/sum"),
        json::encode_request,
        json::decode_response::<SumReply>,
    );
    let lost = post
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(
        (lost.code(), lost.delivery()),
        (Code::Unavailable, Delivery::MaybeExecuted)
    );
    assert!(
        !lost.is_retryable(),
        "a POST that may have run is not retried"
    );
    // The same call marked idempotent may be sent again.
    let lost = post
        .idempotent(true)
        .call(Context::background(), SumRequest { a: 1, b: 1 })
        .await
        .unwrap_err();
    assert!(lost.is_idempotent_call() && lost.is_retryable());
    // GET is idempotent by itself.
    let get = Client::new(
        Method::GET,
        uri(addr, "/sum"),
        |(), _: &mut http::request::Parts| Ok(Bytes::new()),
        json::decode_response::<SumReply>,
    );
    let lost = get.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(lost.delivery(), Delivery::MaybeExecuted);
    assert!(lost.is_retryable());
}

#[tokio::test]
async fn encoders_may_shape_the_request() {
    // A REST-style encoder that puts the request in the path and sends no body.
    let addr = spawn(Router::new().route_service(
        Method::GET,
        "/items/42",
        tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
            let v = req.uri().path().rsplit('/').next().unwrap().to_owned();
            Ok::<_, Infallible>(http::Response::new(Body::from(format!(r#"{{"v":{v}}}"#))))
        }),
    ))
    .await;
    let get = Client::new(
        Method::GET,
        uri(addr, "/"),
        move |id: u32, parts: &mut http::request::Parts| {
            parts.uri = format!("http://{addr}/items/{id}").parse().unwrap();
            Ok(Bytes::new())
        },
        json::decode_response::<SumReply>,
    );
    assert_eq!(
        get.call(Context::background(), 42).await.unwrap(),
        SumReply { v: 42 }
    );
}

#[tokio::test]
async fn deadline_and_propagated_headers_cross_two_hops() {
    // C reports what reached it.
    let c = introspection_server().await;
    // B forwards every call to C with its own request context.
    let to_c = Client::new(
        Method::POST,
        uri(c, "/report"),
        json::encode_request,
        json::decode_response::<serde_json::Value>,
    );
    let to_c = Arc::new(to_c);
    let forward = endpoint_fn(move |ctx: Context, body: serde_json::Value| {
        let to_c = to_c.clone();
        async move { to_c.call(ctx, body).await }
    });
    let b_server = Server::new(forward, json::decode_request, json::encode_response)
        .before(kit_http::server::propagate_headers(["x-request-id"]));
    let b = spawn(Router::new().route(Method::POST, "/forward", b_server)).await;

    // A calls B with a deadline and a propagated request id; a local entry stays behind.
    let to_b = Client::new(
        Method::POST,
        uri(b, "/forward"),
        json::encode_request,
        json::decode_response::<serde_json::Value>,
    );
    let ctx = Context::background()
        .with_timeout(Duration::from_secs(20))
        .with_propagated("x-request-id", "req-2hop")
        .with_metadata("x-tag", "local only");
    let report = to_b.call(ctx, serde_json::json!({})).await.unwrap();
    assert_eq!(report["request_id"], "req-2hop", "{report}");
    assert!(
        report["tag"].is_null(),
        "local metadata stays local: {report}"
    );
    let remaining = report["remaining_ms"]
        .as_u64()
        .expect("the deadline reached C");
    assert!(remaining > 0 && remaining <= 20_000, "{report}");
}

#[tokio::test]
async fn every_code_and_its_details_survive_the_round_trip() {
    // Fails with the code named in the request, with details; several codes share a
    // status (409 is Aborted and AlreadyExists), so the body names the code.
    let fail = endpoint_fn(|_ctx: Context, name: String| async move {
        let code: Code = name.parse().unwrap();
        Err::<(), _>(
            Error::new(code, format!("failed with {code}"))
                .with_details(serde_json::json!({ "code": name, "n": [1, 2] })),
        )
    });
    let router = Router::new().route(
        Method::POST,
        "/fail",
        Server::new(fail, json::decode_request, json::encode_response).redact_private_errors(false),
    );
    let addr = spawn(router).await;
    let client = Client::new(
        Method::POST,
        uri(addr, "/fail"),
        json::encode_request,
        json::decode_response::<()>,
    );
    for code in Code::ALL {
        let err = client
            .call(Context::background(), code.as_str().to_owned())
            .await
            .unwrap_err();
        assert_eq!(err.code(), code);
        assert_eq!(err.message(), format!("failed with {code}"));
        assert_eq!(
            err.details(),
            Some(&serde_json::json!({ "code": code.as_str(), "n": [1, 2] }))
        );
        // The status it came with is there for classifiers.
        assert_eq!(
            err.hint::<kit_http::HttpStatus>().map(|s| s.0),
            Some(kit_http::status_for(code))
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_the_callers_fault() {
    let router = Router::new().route(
        Method::POST,
        "/sum",
        Server::new(
            crate::support::sum(),
            json::decode_request,
            json::encode_response,
        )
        .body_limit(8),
    );
    let addr = spawn(router).await;
    let err = sum_client(uri(addr, "/sum"))
        .call(Context::background(), SumRequest { a: 1_000_000, b: 1 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "body exceeds the limit of 8 bytes")
    );
    assert_eq!(
        err.hint::<kit_http::HttpStatus>().map(|s| s.0.as_u16()),
        Some(413)
    );
    let class = err.code().class();
    assert!(!class.retryable && !class.failure && class.caller_fault);
}
