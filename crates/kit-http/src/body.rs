//! Request bodies under limits, and reading whole bodies for the server and the client.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::StatusCode;
use http_body::{Body, Frame, SizeHint};
use kit::{BoxError, Code, Error};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::cause::{io_code, root_cause};
use crate::status::HttpStatus;

pin_project! {
    /// A request body as a server's [decoder](crate::server::Decoder) gets it: limited to the
    /// server's [body limit](crate::Server::body_limit) and to the time it allows for reading
    /// a body (the earlier of the request's deadline and the server's
    /// [body timeout](crate::Server::body_timeout), counted from when the body is first
    /// found not to have arrived whole).
    ///
    /// [`bytes`](RequestBody::bytes) reads it whole, the common case; as an
    /// [`http_body::Body`] it streams, with the same limits enforced frame by frame.
    /// Going past a limit is an error: over the size `InvalidArgument` answered `413`, out of
    /// time `DeadlineExceeded` (or, when the body timeout was the earlier limit,
    /// `InvalidArgument` answered `408`, since a client too slow to send its body is the
    /// caller's fault).
    pub struct RequestBody<B> {
        #[pin]
        inner: B,
        limit: usize,
        read: usize,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
        // Boxed: only a streamed body that stalls needs one, and every future that holds a
        // body would otherwise carry its size.
        timer: Option<Pin<Box<Sleep>>>,
        until: Option<Until>,
    }
}

/// When reading a body must be over, and why.
#[derive(Debug, Clone, Copy)]
struct Until {
    at: Instant,
    /// Whether `at` is the request's deadline (else the server's body timeout).
    deadline: bool,
}

impl Until {
    /// The earlier of `deadline` and `timeout` from now; `None` if neither is set.
    fn of(deadline: Option<Instant>, timeout: Option<Duration>) -> Option<Until> {
        let by_timeout = timeout.and_then(|t| Instant::now().checked_add(t));
        match (deadline, by_timeout) {
            (Some(d), Some(t)) if t < d => Some(Until {
                at: t,
                deadline: false,
            }),
            (Some(d), _) => Some(Until {
                at: d,
                deadline: true,
            }),
            (None, Some(t)) => Some(Until {
                at: t,
                deadline: false,
            }),
            (None, None) => None,
        }
    }

    /// The error for running out of time.
    fn error(self) -> Error {
        if self.deadline {
            Error::deadline_exceeded()
        } else {
            Error::invalid_argument("request body not received in time")
                .with_hint(HttpStatus(StatusCode::REQUEST_TIMEOUT))
        }
    }
}

impl<B> RequestBody<B> {
    /// `body` under `limit` bytes, to be read by `deadline` (the request's) or within
    /// `timeout`, whichever is earlier.
    pub(crate) fn new(
        body: B,
        limit: usize,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
    ) -> RequestBody<B> {
        RequestBody {
            inner: body,
            limit,
            read: 0,
            deadline,
            timeout,
            timer: None,
            until: None,
        }
    }

    /// The largest body accepted, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The body as it came, without limits.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B> RequestBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    /// Reads the whole body, within the limits.
    pub fn bytes(self) -> impl Future<Output = Result<Bytes, Error>> {
        ReadWhole {
            body: self,
            whole: Whole::Empty,
            started: false,
        }
    }
}

pin_project! {
    /// The future of [`RequestBody::bytes`]: the body's frames, gathered. Written out rather
    /// than `async`, because every future above it holds it, and an `async` one would also
    /// hold its argument, the body, beside the state it moved the body into.
    struct ReadWhole<B> {
        #[pin]
        body: RequestBody<B>,
        whole: Whole,
        started: bool,
    }
}

impl<B> Future for ReadWhole<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Bytes, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.started {
            *this.started = true;
            let limit = this.body.limit;
            if this.body.deadline.is_some_and(|d| d <= Instant::now()) {
                return Poll::Ready(Err(Error::deadline_exceeded()));
            }
            if this.body.size_hint().lower() > limit as u64 {
                return Poll::Ready(Err(request_too_large(limit)));
            }
        }
        // The body enforces the limits frame by frame; most bodies have arrived whole with
        // their head and need neither a clock nor a timer.
        while !this.body.is_end_stream() {
            match ready!(this.body.as_mut().poll_frame(cx)) {
                None => break,
                Some(Err(err)) => return Poll::Ready(Err(err)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.whole.push(data);
                    }
                }
            }
        }
        Poll::Ready(Ok(std::mem::replace(this.whole, Whole::Empty).into_bytes()))
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Error>>> {
        let this = self.project();
        let frame = match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if this.until.is_none() {
                    *this.until = Until::of(*this.deadline, *this.timeout);
                }
                if let Some(until) = *this.until {
                    let timer = this
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until.at)));
                    ready!(timer.as_mut().poll(cx));
                    return Poll::Ready(Some(Err(until.error())));
                }
                return Poll::Pending;
            }
        };
        Poll::Ready(match frame {
            None => None,
            Some(Err(err)) => Some(Err(body_error(err.into()))),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    *this.read = this.read.saturating_add(data.remaining());
                    if *this.read > *this.limit {
                        return Poll::Ready(Some(Err(request_too_large(*this.limit))));
                    }
                }
                Some(Ok(frame))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("limit", &self.limit)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

/// Reads `body` whole, failing with `too_large(limit)` once it passes `limit` bytes. A body
/// whose declared length (`Content-Length`, which hyper reports as the body's size hint) is
/// over the limit fails before anything is read.
///
/// A body that arrives in one frame (a small RPC body, the common case) is handed back as
/// that frame, with no list of frames to gather it in; reading stops as soon as the body
/// says it has ended, without polling it for the end. Trailers are dropped.
pub(crate) async fn read_limited<B>(
    body: B,
    limit: usize,
    too_large: fn(usize) -> Error,
) -> Result<Bytes, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(limit));
    }
    let mut body = std::pin::pin!(body);
    let mut whole = Whole::Empty;
    while !body.is_end_stream() {
        let frame = match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            None => break,
            Some(frame) => frame.map_err(|err| body_error(err.into()))?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.remaining() > limit.saturating_sub(whole.len()) {
            return Err(too_large(limit));
        }
        whole.push(data);
    }
    Ok(whole.into_bytes())
}

/// A body read so far.
enum Whole {
    Empty,
    /// One frame, as it came.
    One(Bytes),
    /// Frames copied together.
    Many(BytesMut),
}

impl Whole {
    fn len(&self) -> usize {
        match self {
            Whole::Empty => 0,
            Whole::One(bytes) => bytes.len(),
            Whole::Many(all) => all.len(),
        }
    }

    /// Adds a frame's data.
    fn push(&mut self, mut data: impl Buf) {
        *self = match std::mem::replace(self, Whole::Empty) {
            Whole::Empty => Whole::One(data.copy_to_bytes(data.remaining())),
            Whole::One(first) => {
                let mut all = BytesMut::with_capacity(first.len() + data.remaining());
                all.extend_from_slice(&first);
                all.put(data);
                Whole::Many(all)
            }
            Whole::Many(mut all) => {
                all.put(data);
                Whole::Many(all)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Whole::Empty => Bytes::new(),
            Whole::One(bytes) => bytes,
            Whole::Many(all) => all.freeze(),
        }
    }
}

/// A request body over the server's limit: the sender's fault, not the callee's (not retried,
/// no circuit breaker moves), answered `413`.
pub(crate) fn request_too_large(limit: usize) -> Error {
    Error::invalid_argument(format!("body exceeds the limit of {limit} bytes"))
        .with_hint(HttpStatus(StatusCode::PAYLOAD_TOO_LARGE))
}

/// A response body over the client's limit: `ResourceExhausted`, as gRPC clients report a
/// message over theirs.
pub(crate) fn response_too_large(limit: usize) -> Error {
    Error::resource_exhausted(format!("response body exceeds the limit of {limit} bytes"))
}

/// A body that failed while being read: a broken stream from the peer (bad chunking is
/// `InvalidArgument`, a `400`), or the peer going away (`Unavailable`).
fn body_error(err: BoxError) -> Error {
    let err = match err.downcast::<Error>() {
        Ok(err) => return *err,
        Err(err) => err,
    };
    let code = io_code(&*err).unwrap_or(Code::Unavailable);
    let message = format!("reading body: {}", root_cause(&*err));
    Error::new(code, message).with_source(err)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A body that hands out `frames` one per poll, with no length declared.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(Ok))
        }
    }

    fn frames(data: &[&'static str], trailers: bool) -> Frames {
        let mut frames: VecDeque<_> = data
            .iter()
            .map(|d| Frame::data(Bytes::from_static(d.as_bytes())))
            .collect();
        if trailers {
            frames.push_back(Frame::trailers(http::HeaderMap::new()));
        }
        Frames(frames)
    }

    #[tokio::test]
    async fn bodies_of_any_number_of_frames_are_read_whole_within_the_limit() {
        for (data, trailers) in [
            (&[][..], false),
            (&["{}"][..], false),
            (&["{\"a\":", "1,", "\"b\":2}"][..], true),
        ] {
            let whole = read_limited(frames(data, trailers), 13, request_too_large).await;
            assert_eq!(whole.unwrap(), data.concat(), "{data:?}");
        }
        for data in [&["0123456789abcd"][..], &["0123456789", "abcd"][..]] {
            let err = read_limited(frames(data, false), 13, request_too_large)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(),
                "body exceeds the limit of 13 bytes",
                "{data:?}"
            );
        }
    }
}
