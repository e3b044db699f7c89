//! Reading whole bodies under a size limit, shared by the server and the client.

use bytes::Bytes;
use http::StatusCode;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use kit::{BoxError, Code, Error};

use crate::cause::{io_code, root_cause};

use crate::status::HttpStatus;

/// Reads `body` whole, failing with `too_large(limit)` once it passes `limit` bytes. A body
/// whose declared length (`Content-Length`, which hyper reports as the body's size hint) is
/// over the limit fails before anything is read.
pub(crate) async fn read_limited<B>(
    body: B,
    limit: usize,
    too_large: fn(usize) -> Error,
) -> Result<Bytes, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let hint = body.size_hint();
    if hint.lower() > limit as u64 {
        return Err(too_large(limit));
    }
    // A body that promises to stay within the limit needs no counting.
    let result = if hint.upper().is_some_and(|upper| upper <= limit as u64) {
        body.collect().await.map_err(Into::into)
    } else {
        Limited::new(body, limit).collect().await
    };
    match result {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(too_large(limit)),
        Err(err) => Err(body_error(err)),
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
