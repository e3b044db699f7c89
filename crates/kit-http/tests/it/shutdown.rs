//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::raw::read_answer;
use crate::support::sum_router;

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
