//! A bare HTTP/1.1 client over a TCP stream, so that a test controls every byte it sends:
//! chunked bodies, missing headers, bodies cut short, requests left in flight.
//!
//! Answers are read the way RFC 9112 frames them: status line, header fields, then a body
//! delimited by `Content-Length`, by chunked transfer coding (decoded; the trailer fields
//! are in [`Answer::trailers`]), or by the end of the connection when neither is given.
//! Answers that have no body by definition (`1xx`, `204`, `304`, and any answer to `HEAD`)
//! are not waited on for one.
//!
//! * [`request`] and [`exchange`] send one request on a fresh connection with
//!   `Connection: close` and read its answer, then wait for the server to close.
//! * [`read_answer`] does the same with a request the test wrote itself;
//!   [`read_one_answer`] reads one answer and leaves the connection open.
//! * [`Connection`] keeps a connection open for several requests (keep-alive,
//!   pipelining, requests written a few bytes at a time).
//!
//! # Timeouts
//!
//! Every function that waits is bounded: by [`DEFAULT_TIMEOUT`], or by the timeout given
//! to its `_timeout` twin ([`request_timeout`], [`exchange_timeout`],
//! [`read_answer_timeout`], [`read_one_answer_timeout`], [`Connection::with_timeout`]).
//! When it expires the test panics with what it was waiting for (the request line and
//! the server's address) and every byte received so far:
//!
//! ```text
//! timed out after 200ms waiting for the answer to `GET /slow HTTP/1.1` from
//! 127.0.0.1:41234; received so far: "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"
//! ```
//!
//! # Example
//!
//! ```no_run
//! # async fn run(addr: std::net::SocketAddr) {
//! use std::time::Duration;
//! use kit_testkit::http::{self, Connection};
//!
//! let answer = http::request(addr, "POST", "/sum", r#"{"a":1,"b":2}"#).await;
//! assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"v":3}"#));
//!
//! // Two requests on one keep-alive connection, each answer read as it comes.
//! let mut conn = Connection::open(addr).await.with_timeout(Duration::from_secs(2));
//! let first = conn.request("POST", "/sum", r#"{"a":1,"b":1}"#).await;
//! let second = conn.request("POST", "/sum", r#"{"a":2,"b":2}"#).await;
//! assert_eq!((first.body.as_str(), second.body.as_str()), (r#"{"v":2}"#, r#"{"v":4}"#));
//! # }
//! ```

mod answer;
mod connection;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

pub use answer::Answer;
pub use connection::Connection;

use answer::{Failure, Received, read_close, read_one};

/// How long a function of this module waits when no timeout is given: for the
/// connection, for the request to be taken, and for the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `head` (the request line and any headers, without the blank line; `Host` and
/// `Connection: close` are added) and then `body` on a fresh connection, reads the whole
/// answer and waits for the server to close the connection.
///
/// Interim (`1xx`) answers are skipped; the final answer is returned. The server may
/// close the connection before it has read all of `body`: the answer it sent is still
/// returned.
///
/// # Panics
///
/// After [`DEFAULT_TIMEOUT`] (see [`exchange_timeout`]), or if the connection fails or
/// the answer is not HTTP; the message has the request line, the address and what was
/// received.
pub async fn exchange(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    exchange_timeout(addr, head, body, DEFAULT_TIMEOUT).await
}

/// [`exchange`], giving up after `timeout` instead of [`DEFAULT_TIMEOUT`]; the timeout
/// covers the whole exchange, from connecting to the close of the connection.
///
/// # Panics
///
/// When `timeout` passes first, or if the connection fails or the answer is not HTTP.
pub async fn exchange_timeout(
    addr: SocketAddr,
    head: &str,
    body: &[u8],
    timeout: Duration,
) -> Answer {
    let deadline = Instant::now() + timeout;
    let talk = Talk {
        peer: addr.to_string(),
        request: Some(request_line(head)),
        timeout,
    };
    let mut stream = talk.connect(addr, deadline).await;
    let head = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let write_error = talk
        .send(&mut stream, &[head.as_bytes(), body], deadline)
        .await
        .err();
    let to_head = is_head(talk.request.unwrap_or_default());
    let mut reader = BufReader::new(stream);
    read_final_then_close(&mut reader, &talk, deadline, to_head, write_error.as_ref()).await
}

/// Sends `method path` with `body` and a `Content-Length`, and reads the answer; see
/// [`exchange`].
///
/// # Panics
///
/// As [`exchange`] does.
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    request_timeout(addr, method, path, body, DEFAULT_TIMEOUT).await
}

/// [`request`], giving up after `timeout` instead of [`DEFAULT_TIMEOUT`].
///
/// # Panics
///
/// As [`exchange_timeout`] does.
pub async fn request_timeout(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Answer {
    let head = request_head(method, path, body);
    exchange_timeout(addr, &head, body.as_bytes(), timeout).await
}

/// Reads the answer to a request the test wrote on `stream` itself, then waits for the
/// server to close the connection (send `Connection: close`, or expect the server to
/// close for reasons of its own, such as a shutdown).
///
/// Interim (`1xx`) answers are skipped; the final answer is returned. To read an answer
/// and keep using the connection, use [`read_one_answer`] or a [`Connection`].
///
/// # Panics
///
/// After [`DEFAULT_TIMEOUT`] (see [`read_answer_timeout`]), if the connection fails, if
/// the answer is not HTTP, or if more bytes follow the answer.
pub async fn read_answer(stream: &mut TcpStream) -> Answer {
    read_answer_timeout(stream, DEFAULT_TIMEOUT).await
}

/// [`read_answer`], giving up after `timeout` instead of [`DEFAULT_TIMEOUT`].
///
/// # Panics
///
/// When `timeout` passes before the server has answered and closed the connection, and
/// as [`read_answer`] does.
pub async fn read_answer_timeout(stream: &mut TcpStream, timeout: Duration) -> Answer {
    let talk = Talk {
        peer: peer_of(stream),
        request: None,
        timeout,
    };
    let mut reader = BufReader::new(stream);
    let deadline = Instant::now() + timeout;
    read_final_then_close(&mut reader, &talk, deadline, false, None).await
}

/// Reads one answer from `stream` without waiting for the connection to close, and
/// without reading a byte past the answer, so that `stream` can carry the next request
/// and answer.
///
/// Interim (`1xx`) answers are returned as they come; read again for the final one.
/// The request is taken not to be `HEAD` (a [`Connection`] tracks that).
///
/// # Panics
///
/// After [`DEFAULT_TIMEOUT`] (see [`read_one_answer_timeout`]), if the connection fails
/// or closes before the answer is complete, or if the answer is not HTTP.
pub async fn read_one_answer(stream: &mut TcpStream) -> Answer {
    read_one_answer_timeout(stream, DEFAULT_TIMEOUT).await
}

/// [`read_one_answer`], giving up after `timeout` instead of [`DEFAULT_TIMEOUT`].
///
/// # Panics
///
/// When `timeout` passes before the answer is complete, and as [`read_one_answer`] does.
pub async fn read_one_answer_timeout(stream: &mut TcpStream, timeout: Duration) -> Answer {
    let talk = Talk {
        peer: peer_of(stream),
        request: None,
        timeout,
    };
    // A one-byte buffer: header lines are read a byte at a time and bodies by their
    // exact length, so nothing of the next answer is taken off the socket.
    let mut reader = BufReader::with_capacity(1, stream);
    let mut received = Received::default();
    let deadline = Instant::now() + timeout;
    let result = within(deadline, read_one(&mut reader, &mut received, false)).await;
    result.unwrap_or_else(|stop| talk.fail(stop, &received, None))
}

/// Reads answers until a final one, then waits for the end of the connection (unless
/// the answer is `101`: what follows is no longer HTTP).
async fn read_final_then_close<R>(
    reader: &mut R,
    talk: &Talk<'_>,
    deadline: Instant,
    to_head: bool,
    write_error: Option<&io::Error>,
) -> Answer
where
    R: AsyncBufRead + Unpin,
{
    let mut received = Received::default();
    let result = within(deadline, async {
        loop {
            let answer = read_one(reader, &mut received, to_head).await?;
            if answer.is_interim() {
                continue;
            }
            if answer.status != 101 {
                read_close(reader, &mut received).await?;
            }
            return Ok(answer);
        }
    })
    .await;
    result.unwrap_or_else(|stop| talk.fail(stop, &received, write_error))
}

/// The head of a request for `method path` with a `Content-Length` for `body`.
fn request_head(method: &str, path: &str, body: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nContent-Length: {}", body.len())
}

/// The request line of a request head.
fn request_line(head: &str) -> &str {
    head.lines().next().unwrap_or_default()
}

fn is_head(request_line: &str) -> bool {
    request_line.starts_with("HEAD ")
}

/// The peer's address as text, for messages.
fn peer_of(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map_or_else(|_| "the server".to_owned(), |addr| addr.to_string())
}

/// Why a read stopped short of an answer.
#[derive(Debug)]
enum Stop {
    TimedOut,
    Failed(Failure),
}

/// Runs `read` until `deadline`.
async fn within<T>(
    deadline: Instant,
    read: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Stop> {
    match timeout_at(deadline, read).await {
        Ok(result) => result.map_err(Stop::Failed),
        Err(_) => Err(Stop::TimedOut),
    }
}

/// Whom a test is talking to and about what, for the messages of its panics.
#[derive(Debug)]
struct Talk<'a> {
    /// The server's address (or a description of it).
    peer: String,
    /// The request line of the request being answered, when known.
    request: Option<&'a str>,
    timeout: Duration,
}

impl Talk<'_> {
    /// Connects to `addr`, panicking on failure or at `deadline`.
    async fn connect(&self, addr: SocketAddr, deadline: Instant) -> TcpStream {
        let sending = match self.request {
            Some(line) => format!(" to send `{line}`"),
            None => String::new(),
        };
        match timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => panic!("cannot connect to {addr}{sending}: {err}"),
            Err(_) => panic!(
                "timed out after {:?} connecting to {addr}{sending}",
                self.timeout
            ),
        }
    }

    /// Writes `parts` to `stream`, panicking at `deadline`; a write error is returned,
    /// as the server may have answered before it stopped reading.
    async fn send(
        &self,
        stream: &mut TcpStream,
        parts: &[&[u8]],
        deadline: Instant,
    ) -> io::Result<()> {
        let write = async {
            for part in parts {
                stream.write_all(part).await?;
            }
            stream.flush().await
        };
        match timeout_at(deadline, write).await {
            Ok(result) => result,
            Err(_) => panic!(
                "timed out after {:?} sending {} to {}: the server is not reading",
                self.timeout,
                self.request
                    .map_or_else(|| "bytes".to_owned(), |line| format!("`{line}`")),
                self.peer
            ),
        }
    }

    /// What is being waited for: the answer to the request, or an answer.
    fn answer(&self) -> String {
        match self.request {
            Some(line) => format!("the answer to `{line}`"),
            None => "an answer".to_owned(),
        }
    }

    /// Panics with why `stop` ended a read, and what was received.
    fn fail(&self, stop: Stop, received: &Received, write_error: Option<&io::Error>) -> ! {
        let peer = &self.peer;
        let answer = self.answer();
        let shown = show(&received.bytes);
        let mut message = match stop {
            Stop::TimedOut if received.awaiting_close => format!(
                "timed out after {:?} waiting for {peer} to close the connection after \
                 {answer}; received: {shown}",
                self.timeout
            ),
            Stop::TimedOut => format!(
                "timed out after {:?} waiting for {answer} from {peer}; received so far: {shown}",
                self.timeout
            ),
            Stop::Failed(Failure::Closed { error, .. }) if received.bytes.is_empty() => {
                format!(
                    "{peer} closed the connection without sending {answer}{}",
                    because(error.as_ref())
                )
            }
            Stop::Failed(Failure::Closed { during, error }) => format!(
                "the connection to {peer} ended in {during} of {answer}{}; received: {shown}",
                because(error.as_ref())
            ),
            Stop::Failed(Failure::Malformed(what)) => {
                format!("{answer} from {peer} is not HTTP: {what}; received: {shown}")
            }
            Stop::Failed(Failure::MoreAfterAnswer) => format!(
                "{peer} sent more bytes after {answer} instead of closing the connection; \
                 received: {shown}"
            ),
        };
        if let Some(err) = write_error {
            message.push_str(&format!(" (sending the request had failed: {err})"));
        }
        panic!("{message}");
    }
}

fn because(error: Option<&io::Error>) -> String {
    error.map_or_else(String::new, |err| format!(" ({err})"))
}

/// Received bytes for a message: quoted and escaped, the tail cut off past 4 KiB.
fn show(bytes: &[u8]) -> String {
    const MAX: usize = 4096;
    if bytes.is_empty() {
        return "nothing".to_owned();
    }
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
    if bytes.len() > MAX {
        format!("{shown:?} and {} bytes more", bytes.len() - MAX)
    } else {
        format!("{shown:?}")
    }
}
