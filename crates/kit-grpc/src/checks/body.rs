//! The request body, with its gRPC messages counted as they pass.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use kit::BoxError;
use pin_project_lite::pin_project;

/// What a unary call's second message is answered with (`INTERNAL`, as gRPC's clients
/// call the same violation from a server).
pub(super) const SECOND_MESSAGE: &str =
    "cardinality violation: received more than one request message for a method that takes one";

pin_project! {
    /// The request body a [`RequestChecks`](super::RequestChecks) service hands on: the
    /// original body, unchanged, that fails with an `INTERNAL` status as soon as a second
    /// message begins on a method that takes one.
    pub struct CheckedBody<B> {
        #[pin]
        inner: B,
        counter: Option<MessageCounter>,
    }
}

impl<B> CheckedBody<B> {
    /// `inner`, counted if `single_message`.
    pub(super) fn new(inner: B, single_message: bool) -> Self {
        CheckedBody {
            inner,
            counter: single_message.then(MessageCounter::default),
        }
    }
}

impl<B> Body for CheckedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let frame = match ready!(this.inner.poll_frame(cx)) {
            None => return Poll::Ready(None),
            Some(Err(err)) => return Poll::Ready(Some(Err(err.into()))),
            Some(Ok(frame)) => frame,
        };
        if let (Some(counter), Some(data)) = (this.counter.as_mut(), frame.data_ref())
            && counter.feed(data).is_err()
        {
            // tonic finds a `Status` in a body error and answers with it.
            *this.counter = None;
            return Poll::Ready(Some(Err(tonic::Status::internal(SECOND_MESSAGE).into())));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Where the body is in gRPC's framing: each message is a 1-byte compression flag, a 4-byte
/// big-endian length, then that many bytes.
#[derive(Debug, Default)]
struct MessageCounter {
    /// The bytes of the current prefix read so far (0 to 5), when in a prefix.
    prefix: [u8; 5],
    prefix_len: u8,
    /// The bytes of the current message still to come, when in a message.
    remaining: u32,
    /// Whether a whole message has been seen.
    one_seen: bool,
}

impl MessageCounter {
    /// Follows the framing over `data`; `Err` once a second message begins.
    fn feed(&mut self, mut data: &[u8]) -> Result<(), ()> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let skip = data.len().min(self.remaining as usize);
                data = &data[skip..];
                // `skip` is at most `remaining`, a u32.
                self.remaining -= skip as u32;
                if self.remaining == 0 {
                    self.one_seen = true;
                }
                continue;
            }
            if self.prefix_len == 0 && self.one_seen {
                return Err(());
            }
            let start = usize::from(self.prefix_len);
            let take = data.len().min(5 - start);
            self.prefix[start..start + take].copy_from_slice(&data[..take]);
            data = &data[take..];
            self.prefix_len += take as u8;
            if self.prefix_len == 5 {
                self.prefix_len = 0;
                let [_, a, b, c, d] = self.prefix;
                self.remaining = u32::from_be_bytes([a, b, c, d]);
                if self.remaining == 0 {
                    self.one_seen = true;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MessageCounter;

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut framed = vec![0];
        framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        framed.extend_from_slice(message);
        framed
    }

    #[test]
    fn one_message_in_any_split_passes() {
        let body = framed(b"hello, world");
        for split in 0..body.len() {
            let mut counter = MessageCounter::default();
            counter.feed(&body[..split]).unwrap();
            counter.feed(&body[split..]).unwrap();
        }
        let mut bytewise = MessageCounter::default();
        for byte in &body {
            bytewise.feed(&[*byte]).unwrap();
        }
    }

    #[test]
    fn a_second_message_fails_at_its_first_byte() {
        let mut body = framed(b"first");
        body.extend_from_slice(&framed(b""));
        let first_len = 5 + 5;
        for split in 0..=body.len() {
            let mut counter = MessageCounter::default();
            let early = counter.feed(&body[..split]);
            assert_eq!(early.is_err(), split > first_len, "split at {split}");
            if early.is_ok() {
                assert!(counter.feed(&body[split..]).is_err(), "split at {split}");
            }
        }
    }

    #[test]
    fn an_empty_first_message_counts() {
        let mut counter = MessageCounter::default();
        counter.feed(&framed(b"")).unwrap();
        assert!(counter.feed(&[0]).is_err());
    }
}
