//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kit_testkit::http::read_answer;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use http::Method;
use kit::Context;
use kit_http::{Router, Server, json};
use tokio::sync::Notify;

use crate::support::{sum, sum_router};

/// A served `POST /sum` with a shutdown trigger, announcing each request it starts.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
    started: Arc<Notify>,
}

async fn run(grace: Duration) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let started = Arc::new(Notify::new());
    let announce = started.clone();
    // `before` runs once hyper has parsed a request's head: from then on it is in flight.
    let server = Server::new(sum(), json::decode_request, json::encode_response).before(
        move |ctx: Context, _: &http::request::Parts| {
            announce.notify_one();
            ctx
        },
    );
    let router = Router::new().route(Method::POST, "/sum", server);
    let server = tokio::spawn(
        kit_http::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .grace_period(grace)
            .into_future(),
    );
    Running {
        addr,
        stop,
        server,
        started,
    }
}

/// Opens a connection and sends `POST /sum` with `body` (the endpoint sleeps `-a` ms).
async fn send_sum(addr: SocketAddr, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn in_flight_requests_finish_after_the_signal() {
    let running = run(Duration::from_secs(30)).await;
    // A request whose endpoint takes 300 ms is in flight when the signal comes.
    let mut in_flight = send_sum(running.addr, r#"{"a":-300,"b":301}"#).await;
    // An idle keep-alive connection is closed at once, not waited for.
    let _idle = TcpStream::connect(running.addr).await.unwrap();
    running.started.notified().await;

    running.stop.send(()).unwrap();
    let answer = read_answer(&mut in_flight).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":1}"#));

    running.server.await.unwrap();
    assert!(
        TcpStream::connect(running.addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_request_whose_body_is_still_arriving_finishes() {
    let running = run(Duration::from_secs(30)).await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    let head = "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"7\r\n{\"a\":1,\r\n").await.unwrap();
    running.started.notified().await;

    running.stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream
        .write_all(b"6\r\n\"b\":2}\r\n0\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
    running.server.await.unwrap();
}

#[tokio::test]
async fn the_grace_period_bounds_the_wait() {
    let running = run(Duration::from_millis(100)).await;
    // This request would take an hour.
    let mut stuck = send_sum(running.addr, r#"{"a":-3600000,"b":1}"#).await;
    running.started.notified().await;

    running.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running.server)
        .await
        .expect("serve returned once the grace period was over")
        .unwrap();
    // Its connection was closed without an answer.
    let mut rest = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut stuck, &mut rest).await;
    assert!(
        read.is_err() || rest.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn http2_prior_knowledge_is_served_beside_http1() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_http::serve(listener, sum_router()).into_future());

    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<bytes::Bytes>>();
    let request = http::Request::post(format!("http://{addr}/sum"))
        .body(Full::from(r#"{"a":1,"b":2}"#))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, r#"{"v":3}"#);
}

#[tokio::test]
async fn http1_only_refuses_http2_prior_knowledge() {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        kit_http::serve(listener, sum_router())
            .http1_only()
            .into_future(),
    );

    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<bytes::Bytes>>();
    let request = http::Request::post(format!("http://{addr}/sum"))
        .body(Full::from(r#"{"a":1,"b":2}"#))
        .unwrap();
    assert!(h2.request(request).await.is_err(), "HTTP/2 was served");

    let answer = kit_testkit::http::request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
}
