//! Reading whole bodies under a size limit, shared by the server and the client.

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use kit::{BoxError, Error};

use crate::status::HttpStatus;

/// Reads `body` whole, failing with `ResourceExhausted` (HTTP `413`) once it passes `limit`
/// bytes. A declared `Content-Length` over the limit fails before anything is read.
pub(crate) async fn read_limited<B>(
    body: B,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(too_large(limit)),
        Err(err) => Err(body_error(err)),
    }
}

fn too_large(limit: usize) -> Error {
    Error::resource_exhausted(format!("body exceeds the limit of {limit} bytes"))
        .with_source(HttpStatus(StatusCode::PAYLOAD_TOO_LARGE))
}

/// A body that failed while being read: the peer went away or sent a broken stream.
fn body_error(err: BoxError) -> Error {
    let err = Error::from_boxed(err);
    match err.code() {
        kit::Code::Unknown => Error::unavailable(format!("reading body: {err}")).with_source(err),
        _ => err,
    }
}
