//! The raw HTTP client against tiny servers that write exactly the bytes a test needs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kit_testkit::http::{self, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::async_panic_message;

/// The timeout of the tests that expect one.
const SHORT: Duration = Duration::from_millis(200);
/// A timeout the tests that expect none never come near.
const AMPLE: Duration = Duration::from_secs(5);

/// Accepts one connection on a free loopback port and hands it to `serve`.
async fn serve_one<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve(stream).await;
    });
    addr
}

/// A server that reads whatever comes and never answers, on every connection.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(until_closed(stream));
        }
    });
    addr
}

/// Reads one request head, through the blank line that ends it.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.expect("a request head"));
    }
    String::from_utf8(head).unwrap()
}

/// Keeps the connection open until the client closes it.
async fn until_closed(mut stream: TcpStream) {
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
}

#[tokio::test]
#[should_panic(
    expected = "timed out after 200ms waiting for the answer to `GET /never HTTP/1.1` from 127.0.0.1:"
)]
async fn a_server_that_never_answers_fails_the_request_within_its_timeout() {
    let addr = silent_server().await;
    http::request_timeout(addr, "GET", "/never", "", SHORT).await;
}

#[tokio::test]
async fn the_timeout_message_shows_what_came_so_far() {
    let partial = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    let addr = serve_one(move |mut stream| async move {
        read_head(&mut stream).await;
        stream.write_all(partial.as_bytes()).await.unwrap();
        until_closed(stream).await;
    })
    .await;
    let start = Instant::now();
    let message = async_panic_message(http::exchange_timeout(
        addr,
        "GET /slow HTTP/1.1",
        b"",
        SHORT,
    ))
    .await;
    let elapsed = start.elapsed();
    assert_eq!(
        message,
        format!(
            "timed out after 200ms waiting for the answer to `GET /slow HTTP/1.1` from {addr}; \
             received so far: {partial:?}"
        )
    );
    assert!(elapsed >= SHORT, "{elapsed:?}");
    assert!(elapsed < AMPLE, "{elapsed:?}");
}

#[tokio::test]
async fn read_answer_gives_up_after_its_timeout() {
    let addr = silent_server().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let message = async_panic_message(async move {
        http::read_answer_timeout(&mut stream, SHORT).await;
    })
    .await;
    assert_eq!(
        message,
        format!(
            "timed out after 200ms waiting for an answer from {addr}; received so far: nothing"
        )
    );
}

#[tokio::test]
async fn read_one_answer_gives_up_after_its_timeout() {
    let addr = silent_server().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let message = async_panic_message(async move {
        http::read_one_answer_timeout(&mut stream, SHORT).await;
    })
    .await;
    assert_eq!(
        message,
        format!(
            "timed out after 200ms waiting for an answer from {addr}; received so far: nothing"
        )
    );
}

#[tokio::test]
async fn a_connection_gives_up_after_its_timeout() {
    let addr = silent_server().await;
    let message = async_panic_message(async move {
        let mut conn = Connection::open(addr).await.with_timeout(SHORT);
        conn.request("GET", "/idle", "").await;
    })
    .await;
    assert_eq!(
        message,
        format!(
            "timed out after 200ms waiting for the answer to `GET /idle HTTP/1.1` from {addr}; \
             received so far: nothing"
        )
    );
}

#[tokio::test]
async fn exchange_waits_for_the_close_it_asked_for() {
    let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let addr = serve_one(move |mut stream| async move {
        read_head(&mut stream).await;
        stream.write_all(answer.as_bytes()).await.unwrap();
        until_closed(stream).await;
    })
    .await;
    let message =
        async_panic_message(http::exchange_timeout(addr, "GET / HTTP/1.1", b"", SHORT)).await;
    assert_eq!(
        message,
        format!(
            "timed out after 200ms waiting for {addr} to close the connection after the answer \
             to `GET / HTTP/1.1`; received: {answer:?}"
        )
    );
}

#[tokio::test]
async fn a_chunked_answer_is_decoded() {
    let addr = serve_one(|mut stream| async move {
        read_head(&mut stream).await;
        for piece in [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n",
            "5;name=value\r\nhello\r\n",
            "7\r\n, world\r\n",
            "0\r\nx-checksum: abc\r\n\r\n",
        ] {
            stream.write_all(piece.as_bytes()).await.unwrap();
        }
    })
    .await;
    let answer = http::exchange(addr, "GET /chunked HTTP/1.1", b"").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello, world"));
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    assert_eq!(answer.trailer("X-Checksum"), Some("abc"));
}

#[tokio::test]
async fn a_body_without_a_length_runs_to_the_close() {
    let addr = serve_one(|mut stream| async move {
        read_head(&mut stream).await;
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
        stream.write_all(answer.as_bytes()).await.unwrap();
    })
    .await;
    let answer = http::request(addr, "GET", "/", "").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "all of it"));
}

#[tokio::test]
async fn two_answers_are_read_one_at_a_time_on_one_connection() {
    let (done, until_done) = oneshot::channel::<()>();
    let addr = serve_one(|mut stream| async move {
        let first = read_head(&mut stream).await;
        assert!(first.starts_with("GET /first HTTP/1.1\r\n"), "{first}");
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst";
        stream.write_all(answer.as_bytes()).await.unwrap();
        let second = read_head(&mut stream).await;
        assert!(second.starts_with("GET /second HTTP/1.1\r\n"), "{second}");
        let answer =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n";
        stream.write_all(answer.as_bytes()).await.unwrap();
        // Open until the test has both answers: neither read may wait for the close.
        let _ = until_done.await;
    })
    .await;

    let mut conn = Connection::open(addr).await.with_timeout(AMPLE);
    let first = conn.request("GET", "/first", "").await;
    assert_eq!((first.status, first.body.as_str()), (200, "first"));
    let second = conn.request("GET", "/second", "").await;
    assert_eq!((second.status, second.body.as_str()), (200, "second"));
    done.send(()).unwrap();
    conn.wait_for_close().await;
}

#[tokio::test]
async fn read_one_answer_leaves_the_next_answer_unread() {
    let addr = serve_one(|mut stream| async move {
        read_head(&mut stream).await;
        read_head(&mut stream).await;
        // Both answers in one write: the first read must stop where the first ends.
        let answers = concat!(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n",
        );
        stream.write_all(answers.as_bytes()).await.unwrap();
        until_closed(stream).await;
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let a = http::read_one_answer_timeout(&mut stream, AMPLE).await;
    let b = http::read_one_answer_timeout(&mut stream, AMPLE).await;
    assert_eq!((a.status, a.body.as_str()), (200, "a"));
    assert_eq!((b.status, b.body.as_str()), (201, "b"));
}

#[tokio::test]
async fn answers_without_a_body_are_not_waited_on() {
    let addr = serve_one(|mut stream| async move {
        for _ in 0..4 {
            read_head(&mut stream).await;
        }
        // Pipelined: a body read where there is none would eat the next answer.
        let answers = concat!(
            "HTTP/1.1 100 Continue\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
        );
        stream.write_all(answers.as_bytes()).await.unwrap();
        until_closed(stream).await;
    })
    .await;

    let mut conn = Connection::open(addr).await.with_timeout(AMPLE);
    for head in [
        "GET /no-content HTTP/1.1",
        "GET /not-modified HTTP/1.1",
        "HEAD /head HTTP/1.1",
        "GET /last HTTP/1.1",
    ] {
        conn.send(head, b"").await;
    }
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(conn.read_answer().await);
    }
    let got: Vec<(u16, &str)> = answers
        .iter()
        .map(|a| (a.status, a.body.as_str()))
        .collect();
    assert_eq!(
        got,
        [(100, ""), (204, ""), (304, ""), (200, ""), (200, "done")]
    );
    assert_eq!(answers[3].header("content-length"), Some("5"));
}

#[tokio::test]
async fn the_answer_to_head_has_no_body() {
    let addr = serve_one(|mut stream| async move {
        let head = read_head(&mut stream).await;
        assert!(head.starts_with("HEAD / HTTP/1.1\r\n"), "{head}");
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        stream.write_all(answer.as_bytes()).await.unwrap();
    })
    .await;
    let answer = http::exchange_timeout(addr, "HEAD / HTTP/1.1", b"", AMPLE).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert_eq!(answer.header("content-length"), Some("5"));
}

#[tokio::test]
async fn bytes_after_the_answer_fail_the_exchange() {
    let addr = serve_one(|mut stream| async move {
        read_head(&mut stream).await;
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokjunk";
        stream.write_all(answer.as_bytes()).await.unwrap();
    })
    .await;
    let message =
        async_panic_message(http::exchange_timeout(addr, "GET / HTTP/1.1", b"", AMPLE)).await;
    assert!(
        message.starts_with(&format!(
            "{addr} sent more bytes after the answer to `GET / HTTP/1.1` instead of closing"
        )),
        "{message}"
    );
    assert!(message.contains("okjunk"), "{message}");
}

#[tokio::test]
async fn a_close_without_an_answer_is_reported() {
    let addr = serve_one(|mut stream| async move {
        read_head(&mut stream).await;
    })
    .await;
    let message =
        async_panic_message(http::exchange_timeout(addr, "GET / HTTP/1.1", b"", AMPLE)).await;
    assert_eq!(
        message,
        format!("{addr} closed the connection without sending the answer to `GET / HTTP/1.1`")
    );
}

#[tokio::test]
async fn an_answer_cut_short_is_reported() {
    let addr = serve_one(|mut stream| async move {
        read_head(&mut stream).await;
        let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        stream.write_all(answer.as_bytes()).await.unwrap();
    })
    .await;
    let message =
        async_panic_message(http::exchange_timeout(addr, "GET / HTTP/1.1", b"", AMPLE)).await;
    assert!(
        message.starts_with(&format!(
            "the connection to {addr} ended in a chunk of the answer to `GET / HTTP/1.1`"
        )),
        "{message}"
    );
}
