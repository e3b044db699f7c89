//! [`Connection`]: one TCP connection carrying requests and answers one at a time.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::answer::{Answer, Received, read_close, read_one};
use super::{DEFAULT_TIMEOUT, Talk, is_head, request_head, request_line, within};

/// A connection kept open across requests: for tests of keep-alive, of pipelining, and
/// of clients that send a request a few bytes at a time.
///
/// Requests sent with [`send`](Connection::send) are remembered until answered, so that
/// the answer to a `HEAD` is not waited on for a body and messages can name the request.
/// Each wait is bounded by the connection's timeout ([`DEFAULT_TIMEOUT`] unless set with
/// [`with_timeout`](Connection::with_timeout)) and panics like the rest of
/// [`http`](super) when it expires.
///
/// ```no_run
/// # async fn run(addr: std::net::SocketAddr) {
/// use kit_testkit::http::Connection;
///
/// let mut conn = Connection::open(addr).await;
/// // A request whose body arrives in two pieces.
/// conn.send("POST /sum HTTP/1.1\r\nContent-Length: 13", br#"{"a":1,"#).await;
/// conn.send_raw(br#""b":2}"#).await;
/// assert_eq!(conn.read_answer().await.body, r#"{"v":3}"#);
/// // The same connection serves the next request.
/// assert_eq!(conn.request("GET", "/health", "").await.status, 200);
/// # }
/// ```
#[derive(Debug)]
pub struct Connection {
    /// The socket, and what the server sent ahead of the answer being read.
    reader: BufReader<TcpStream>,
    peer: SocketAddr,
    timeout: Duration,
    /// The request lines of the requests sent and not yet answered, oldest first.
    unanswered: VecDeque<String>,
    /// The first write that failed: the server may have answered before it stopped
    /// reading, so it only shows in the message of a read that fails.
    write_error: Option<io::Error>,
}

impl Connection {
    /// Connects to `addr`.
    ///
    /// # Panics
    ///
    /// If the connection fails, or takes longer than [`DEFAULT_TIMEOUT`].
    pub async fn open(addr: SocketAddr) -> Connection {
        let talk = Talk {
            peer: addr.to_string(),
            request: None,
            timeout: DEFAULT_TIMEOUT,
        };
        let stream = talk.connect(addr, Instant::now() + DEFAULT_TIMEOUT).await;
        Connection::from_stream(stream)
    }

    /// Uses a connection the test opened itself (and may have written to already).
    ///
    /// # Panics
    ///
    /// If `stream` is not connected.
    pub fn from_stream(stream: TcpStream) -> Connection {
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|err| panic!("a Connection needs a connected stream: {err}"));
        Connection {
            reader: BufReader::new(stream),
            peer,
            timeout: DEFAULT_TIMEOUT,
            unanswered: VecDeque::new(),
            write_error: None,
        }
    }

    /// Bounds each later wait (a send, an answer, the close) by `timeout` instead of
    /// [`DEFAULT_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Connection {
        self.timeout = timeout;
        self
    }

    /// Sends `head` (the request line and any headers, without the blank line; `Host`
    /// is added) and then `body`, without waiting for the answer.
    ///
    /// A failed write is not reported here: the server may have answered before it
    /// stopped reading. It shows in the message of a read that fails afterwards.
    ///
    /// # Panics
    ///
    /// When the server does not take the request within the timeout.
    pub async fn send(&mut self, head: &str, body: &[u8]) {
        let line = request_line(head).to_owned();
        let head = format!("{head}\r\nHost: {}\r\n\r\n", self.peer);
        self.write(&[head.as_bytes(), body], Some(&line)).await;
        self.unanswered.push_back(line);
    }

    /// Sends `bytes` as they are: the rest of a request already begun, or anything at
    /// all. They are not taken as a new request (use [`send`](Connection::send) for that).
    ///
    /// # Panics
    ///
    /// When the server does not take the bytes within the timeout.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let line = self.unanswered.back().cloned();
        self.write(&[bytes], line.as_deref()).await;
    }

    /// Reads the next answer, leaving the connection open and whatever follows the answer
    /// unread.
    ///
    /// Interim (`1xx`) answers are returned as they come; read again for the final one.
    ///
    /// # Panics
    ///
    /// When the answer is not complete within the timeout, if the connection closes
    /// first, or if the answer is not HTTP.
    pub async fn read_answer(&mut self) -> Answer {
        let request = self.unanswered.front().map(String::as_str);
        let talk = Talk {
            peer: self.peer.to_string(),
            request,
            timeout: self.timeout,
        };
        let to_head = request.is_some_and(is_head);
        let mut received = Received::default();
        let deadline = Instant::now() + self.timeout;
        let result = within(deadline, read_one(&mut self.reader, &mut received, to_head)).await;
        let answer =
            result.unwrap_or_else(|stop| talk.fail(stop, &received, self.write_error.as_ref()));
        if !answer.is_interim() {
            self.unanswered.pop_front();
        }
        answer
    }

    /// Sends a request (as [`send`](Connection::send) does) and returns the next final
    /// answer, skipping interim (`1xx`) ones. With earlier requests still unanswered,
    /// that is the answer to the oldest of them.
    ///
    /// # Panics
    ///
    /// As [`send`](Connection::send) and [`read_answer`](Connection::read_answer) do.
    pub async fn exchange(&mut self, head: &str, body: &[u8]) -> Answer {
        self.send(head, body).await;
        loop {
            let answer = self.read_answer().await;
            if !answer.is_interim() {
                return answer;
            }
        }
    }

    /// Sends `method path` with `body` and a `Content-Length`, and returns the answer;
    /// see [`exchange`](Connection::exchange).
    ///
    /// # Panics
    ///
    /// As [`exchange`](Connection::exchange) does.
    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> Answer {
        let head = request_head(method, path, body);
        self.exchange(&head, body.as_bytes()).await
    }

    /// Waits until the server closes the connection.
    ///
    /// # Panics
    ///
    /// When the connection is still open after the timeout, or if the server sends
    /// anything before closing it.
    pub async fn wait_for_close(&mut self) {
        let talk = Talk {
            peer: self.peer.to_string(),
            request: None,
            timeout: self.timeout,
        };
        let mut received = Received::default();
        let deadline = Instant::now() + self.timeout;
        let result = within(deadline, read_close(&mut self.reader, &mut received)).await;
        if let Err(stop) = result {
            talk.fail(stop, &received, self.write_error.as_ref());
        }
    }

    /// The socket, for what this type does not do (a half-close with
    /// `shutdown`, socket options). Write to it freely; reading from it directly skips
    /// what the connection has already read ahead.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    async fn write(&mut self, parts: &[&[u8]], request: Option<&str>) {
        let talk = Talk {
            peer: self.peer.to_string(),
            request,
            timeout: self.timeout,
        };
        let deadline = Instant::now() + self.timeout;
        if let Err(err) = talk.send(self.reader.get_mut(), parts, deadline).await {
            self.write_error.get_or_insert(err);
        }
    }
}
