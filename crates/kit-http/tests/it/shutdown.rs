//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::support::sum_router;
use kit_testkit::http::read_answer;

#[tokio::test]
async fn in_flight_requests_finish_after_the_signal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        kit_http::serve(listener, sum_router())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .grace_period(Duration::from_secs(30))
            .into_future(),
    );

    // A request whose endpoint takes 300 ms is in flight when the signal comes.
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    let body = r#"{"a":-300,"b":301}"#;
    let head = format!(
        "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(body.as_bytes()).await.unwrap();
    // An idle keep-alive connection is closed at once, not waited for.
    let _idle = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    stop.send(()).unwrap();
    let answer = read_answer(&mut in_flight).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":1}"#));

    server.await.unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_request_whose_body_is_still_arriving_finishes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        kit_http::serve(listener, sum_router())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"7\r\n{\"a\":1,\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream
        .write_all(b"6\r\n\"b\":2}\r\n0\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_grace_period_bounds_the_wait() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        kit_http::serve(listener, sum_router())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .grace_period(Duration::from_millis(100))
            .into_future(),
    );
    // This request would take an hour.
    let mut stuck = TcpStream::connect(addr).await.unwrap();
    let body = r#"{"a":-3600000,"b":1}"#;
    let head = format!(
        "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    stuck.write_all(body.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve returned once the grace period was over")
        .unwrap()
        .unwrap();
}

use std::future::IntoFuture;
