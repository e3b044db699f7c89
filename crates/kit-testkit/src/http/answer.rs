//! [`Answer`], and reading one answer off the wire: status line, header fields, then a
//! body framed as RFC 9112 section 6.3 says.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Longest status line, header field or chunk-size line accepted: a server that sends a
/// longer one is not speaking HTTP (or is broken), and the message says so instead of
/// the test buffering without end.
const MAX_LINE: usize = 64 * 1024;

/// An HTTP answer, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, as text (lossily decoded), with any chunked framing removed.
    pub body: String,
    /// The trailer fields after a chunked body, in the order received; empty for any
    /// other body.
    pub trailers: Vec<(String, String)>,
}

impl Answer {
    /// The first value of the header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The first value of the trailer field `name` (compared case-insensitively).
    pub fn trailer(&self, name: &str) -> Option<&str> {
        find(&self.trailers, name)
    }

    /// Whether this is an interim (1xx) answer, which a final answer follows on the
    /// same connection; `101 Switching Protocols` ends HTTP on it instead.
    pub(super) fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

fn find<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What was read from a connection so far, kept outside the reading future so that a
/// timeout, which drops that future, can still show it.
#[derive(Debug, Default)]
pub(super) struct Received {
    /// Every byte taken off the connection, in order.
    pub(super) bytes: Vec<u8>,
    /// Set once a whole answer is in and only the end of the connection is awaited.
    pub(super) awaiting_close: bool,
}

/// Why an answer could not be read (a timeout aside).
#[derive(Debug)]
pub(super) enum Failure {
    /// The connection ended, or failed with `error`, in the middle of `during`.
    Closed {
        during: &'static str,
        error: Option<io::Error>,
    },
    /// What came is not an HTTP answer.
    Malformed(String),
    /// Bytes came after the answer on a connection that should have closed.
    MoreAfterAnswer,
}

impl Failure {
    fn closed(during: &'static str, error: Option<io::Error>) -> Self {
        Failure::Closed { during, error }
    }
}

/// How the body of an answer is delimited.
enum Framing {
    /// No body, whatever the headers say.
    Empty,
    Length(usize),
    Chunked,
    /// The body runs until the server closes the connection.
    UntilClose,
}

/// Reads one answer from `reader`, recording every byte in `received`.
///
/// Reads no byte past the end of the answer unless the answer's body runs to the end of
/// the connection, so an answer on a keep-alive connection leaves the next one unread
/// (in `reader`'s buffer, if it has one). `to_head` says whether the request was `HEAD`,
/// whose answer has no body.
pub(super) async fn read_one<R>(
    reader: &mut R,
    received: &mut Received,
    to_head: bool,
) -> Result<Answer, Failure>
where
    R: AsyncBufRead + Unpin,
{
    let status_line = read_line(reader, received, "the status line").await?;
    let status = parse_status(&status_line)?;
    let headers = read_fields(reader, received, "the headers").await?;
    let mut answer = Answer {
        status,
        headers,
        body: String::new(),
        trailers: Vec::new(),
    };
    let mut body = Vec::new();
    match framing(&answer, to_head)? {
        Framing::Empty => {}
        Framing::Length(len) => read_exact(reader, received, len, &mut body, "the body").await?,
        Framing::Chunked => {
            answer.trailers = read_chunked(reader, received, &mut body).await?;
        }
        Framing::UntilClose => read_to_end(reader, received, &mut body).await,
    }
    answer.body = String::from_utf8_lossy(&body).into_owned();
    Ok(answer)
}

/// Reads until the server closes the connection, which must bring no more bytes.
pub(super) async fn read_close<R>(reader: &mut R, received: &mut Received) -> Result<(), Failure>
where
    R: AsyncBufRead + Unpin,
{
    received.awaiting_close = true;
    let mut extra = Vec::new();
    read_to_end(reader, received, &mut extra).await;
    if extra.is_empty() {
        Ok(())
    } else {
        Err(Failure::MoreAfterAnswer)
    }
}

fn parse_status(line: &[u8]) -> Result<u16, Failure> {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") || code.len() != 3 {
        return Err(Failure::Malformed(format!("bad status line {text:?}")));
    }
    code.parse()
        .map_err(|_| Failure::Malformed(format!("bad status code in {text:?}")))
}

/// How RFC 9112 section 6.3 says the body of `answer` is delimited.
fn framing(answer: &Answer, to_head: bool) -> Result<Framing, Failure> {
    if to_head || (100..200).contains(&answer.status) || matches!(answer.status, 204 | 304) {
        return Ok(Framing::Empty);
    }
    let codings: Vec<&str> = answer
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        // A transfer coding other than chunked last can only end with the connection.
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    match answer.header("content-length") {
        Some(len) => len.trim().parse().map(Framing::Length).map_err(|_| {
            Failure::Malformed(format!(
                "bad Content-Length {len:?} in a {} answer",
                answer.status
            ))
        }),
        None => Ok(Framing::UntilClose),
    }
}

/// Reads a chunked body into `body` and returns the trailer fields.
async fn read_chunked<R>(
    reader: &mut R,
    received: &mut Received,
    body: &mut Vec<u8>,
) -> Result<Vec<(String, String)>, Failure>
where
    R: AsyncBufRead + Unpin,
{
    loop {
        let line = read_line(reader, received, "a chunk-size line").await?;
        let text = String::from_utf8_lossy(&line);
        // Chunk extensions (`;name=value`) are allowed and ignored.
        let size = text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| Failure::Malformed(format!("bad chunk-size line {text:?}")))?;
        if size == 0 {
            break;
        }
        read_exact(reader, received, size, body, "a chunk").await?;
        let end = read_line(reader, received, "the line end after a chunk").await?;
        if !end.is_empty() {
            return Err(Failure::Malformed(format!(
                "a chunk is longer than its declared size of {size} bytes"
            )));
        }
    }
    read_fields(reader, received, "the trailer fields").await
}

/// Reads header (or trailer) fields up to and including the empty line that ends them.
async fn read_fields<R>(
    reader: &mut R,
    received: &mut Received,
    during: &'static str,
) -> Result<Vec<(String, String)>, Failure>
where
    R: AsyncBufRead + Unpin,
{
    let mut fields = Vec::new();
    loop {
        let line = read_line(reader, received, during).await?;
        if line.is_empty() {
            return Ok(fields);
        }
        let text = String::from_utf8_lossy(&line);
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| Failure::Malformed(format!("a field line without a colon: {text:?}")))?;
        fields.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// Reads one line and returns it without its line ending (`\r\n`, or a bare `\n`).
async fn read_line<R>(
    reader: &mut R,
    received: &mut Received,
    during: &'static str,
) -> Result<Vec<u8>, Failure>
where
    R: AsyncBufRead + Unpin,
{
    let mut line = Vec::new();
    loop {
        let buf = reader
            .fill_buf()
            .await
            .map_err(|err| Failure::closed(during, Some(err)))?;
        if buf.is_empty() {
            return Err(Failure::closed(during, None));
        }
        let (take, ends) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        received.bytes.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if ends {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
        if line.len() > MAX_LINE {
            return Err(Failure::Malformed(format!(
                "{during} is longer than {MAX_LINE} bytes"
            )));
        }
    }
}

/// Reads exactly `len` bytes into `out`, asking `reader` for no more than are missing.
async fn read_exact<R>(
    reader: &mut R,
    received: &mut Received,
    len: usize,
    out: &mut Vec<u8>,
    during: &'static str,
) -> Result<(), Failure>
where
    R: AsyncBufRead + Unpin,
{
    let mut chunk = vec![0; len.min(16 * 1024)];
    let mut left = len;
    while left > 0 {
        let want = left.min(chunk.len());
        let got = match reader.read(&mut chunk[..want]).await {
            Ok(0) => return Err(Failure::closed(during, None)),
            Ok(got) => got,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Failure::closed(during, Some(err))),
        };
        out.extend_from_slice(&chunk[..got]);
        received.bytes.extend_from_slice(&chunk[..got]);
        left -= got;
    }
    Ok(())
}

/// Reads into `out` until the connection ends. A connection reset ends it too: a server
/// that closes without reading all the request makes the kernel reset the connection,
/// and what it sent before is still the whole answer.
async fn read_to_end<R>(reader: &mut R, received: &mut Received, out: &mut Vec<u8>)
where
    R: AsyncBufRead + Unpin,
{
    let mut chunk = vec![0; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) => return,
            Ok(got) => {
                out.extend_from_slice(&chunk[..got]);
                received.bytes.extend_from_slice(&chunk[..got]);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
