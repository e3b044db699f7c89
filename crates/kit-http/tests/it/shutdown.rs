//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kit_testkit::http::{Connection, read_answer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use http::Method;
use kit::{Context, Endpoint, endpoint_fn};
use kit_http::{Router, Server, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::support::{SumReply, SumRequest, sum, sum_router};

/// Generous: how long an event that should come at once may take on a loaded machine.
const WITHIN: Duration = Duration::from_secs(10);

/// A served `POST /sum` with a shutdown trigger, announcing each request it starts.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
    started: Arc<Notify>,
}

async fn run(grace: Duration) -> Running {
    run_with(grace, sum()).await
}

/// Serves `POST /sum` with `endpoint`.
async fn run_with<E>(grace: Duration, endpoint: E) -> Running
where
    E: Endpoint<SumRequest, Response = SumReply> + Clone,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let started = Arc::new(Notify::new());
    let announce = started.clone();
    // `before` runs once hyper has parsed a request's head: from then on it is in flight.
    let server = Server::new(endpoint, json::decode_request, json::encode_response).before(
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

/// A sum that waits for `gate` to open first.
fn gated(gate: Arc<Notify>) -> impl Endpoint<SumRequest, Response = SumReply> + Clone {
    endpoint_fn(move |_ctx: Context, r: SumRequest| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            Ok(SumReply { v: r.a + r.b })
        }
    })
}

/// Waits until the listener refuses connections: the server has begun its drain.
async fn wait_until_refused(addr: SocketAddr) {
    let refused = async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(WITHIN, refused)
        .await
        .expect("the listener closes once shutdown begins");
}

/// Waits for `serve` to return.
async fn stopped(server: JoinHandle<()>) {
    tokio::time::timeout(WITHIN, server)
        .await
        .expect("serve returned")
        .unwrap();
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
async fn in_flight_requests_finish_after_the_signal_and_idle_connections_close_at_once() {
    let gate = Arc::new(Notify::new());
    let running = run_with(Duration::from_secs(30), gated(gate.clone())).await;
    // An idle keep-alive connection: one request answered (404, without the gate), none
    // since.
    let mut idle = Connection::open(running.addr).await.with_timeout(WITHIN);
    assert_eq!(idle.request("GET", "/nothing", "").await.status, 404);
    // A request in flight until the gate opens.
    let mut in_flight = send_sum(running.addr, r#"{"a":1,"b":2}"#).await;
    running.started.notified().await;

    running.stop.send(()).unwrap();
    // The idle connection is closed without waiting for the request in flight.
    idle.wait_for_close().await;
    assert!(
        !running.server.is_finished(),
        "the request in flight is waited for"
    );

    gate.notify_one();
    let answer = read_answer(&mut in_flight).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
    stopped(running.server).await;
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
    // The rest of the body comes once the drain has begun.
    wait_until_refused(running.addr).await;
    stream
        .write_all(b"6\r\n\"b\":2}\r\n0\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
    stopped(running.server).await;
}

#[tokio::test]
async fn an_unbounded_grace_period_waits_for_the_request() {
    let gate = Arc::new(Notify::new());
    let running = run_with(Duration::MAX, gated(gate.clone())).await;
    let mut in_flight = send_sum(running.addr, r#"{"a":1,"b":2}"#).await;
    running.started.notified().await;
    running.stop.send(()).unwrap();
    wait_until_refused(running.addr).await;
    gate.notify_one();
    let answer = read_answer(&mut in_flight).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
    stopped(running.server).await;
}

#[tokio::test]
async fn the_grace_period_bounds_the_wait() {
    let running = run(Duration::from_millis(100)).await;
    // This request would take an hour.
    let mut stuck = send_sum(running.addr, r#"{"a":-3600000,"b":1}"#).await;
    running.started.notified().await;

    running.stop.send(()).unwrap();
    stopped(running.server).await;
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

#[tokio::test]
async fn an_idle_http2_client_that_never_answers_the_goaway_does_not_hold_the_drain() {
    let running = run(Duration::from_secs(30)).await;
    let stream = TcpStream::connect(running.addr).await.unwrap();
    let (mut client, mut connection) = h2::client::handshake(stream).await.unwrap();
    // Drive the connection for one request; then stop polling it (so the client neither
    // reads nor answers pings) but keep it open.
    let (stop_polling, polling_stopped) = oneshot::channel::<()>();
    let driver = tokio::spawn(async move {
        tokio::select! {
            result = &mut connection => panic!("the connection ended early: {result:?}"),
            // Handed back unpolled, in a tuple so it is not mistaken for something to await.
            _ = polling_stopped => (connection,),
        }
    });
    let request = http::Request::post(format!("http://{}/sum", running.addr))
        .body(())
        .unwrap();
    client = client.ready().await.unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    body.send_data(r#"{"a":1,"b":2}"#.into(), true).unwrap();
    let mut response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    while response.body_mut().data().await.is_some() {}
    stop_polling.send(()).unwrap();
    let _held_open = driver.await.unwrap();

    let start = Instant::now();
    running.stop.send(()).unwrap();
    // Without the client's answer to the GOAWAY's ping, hyper would keep the connection,
    // and serve would wait for the whole grace period.
    tokio::time::timeout(Duration::from_secs(5), running.server)
        .await
        .expect("serve returned well within the 30 s grace period")
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "the client had a second to answer"
    );
}
