//! A bare HTTP/1.1 client over a TCP stream, so that a test controls every byte it sends:
//! chunked bodies, missing headers, bodies cut short, requests left in flight.
//!
//! ```no_run
//! # async fn run(addr: std::net::SocketAddr) {
//! let answer = kit_testkit::http::request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
//! assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
//! # }
//! ```

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP answer, parsed.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, as text (lossily decoded).
    pub body: String,
}

impl Answer {
    /// The first value of the header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (the request line and any headers, without the blank line; `Host` and
/// `Connection: close` are added) and then `body` on a fresh connection, and reads the
/// whole answer.
///
/// # Panics
/// If the connection fails or the answer is not HTTP.
pub async fn exchange(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    read_answer(&mut stream).await
}

/// Sends `method path` with `body` and a `Content-Length`, and reads the answer.
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    let head = format!("{method} {path} HTTP/1.1\r\nContent-Length: {}", body.len());
    exchange(addr, &head, body.as_bytes()).await
}

/// Reads an answer until the server closes the connection (send `Connection: close`).
pub async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    // The server may close before reading everything we sent; the answer is still there.
    let _ = stream.read_to_end(&mut raw).await;
    parse(&raw)
}

/// Parses a raw answer.
fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}
