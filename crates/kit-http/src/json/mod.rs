//! JSON codecs for servers and clients, with Go-compatible request decoding.
//!
//! Server side, [`decode_request`] and [`encode_response`]; client side, [`encode_request`]
//! and [`decode_response`]. Decoding matches object keys to struct fields the way Go's
//! `encoding/json` does (exactly first, then ignoring case; see [`from_slice`]), because Go
//! kit clients send `{"A":1,"B":2}` to a struct with fields `a` and `b`.

mod case_insensitive;

pub use case_insensitive::from_slice;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{request, response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Body;
use kit::Error;

/// The `Content-Type` of every JSON body kit writes.
pub const CONTENT_TYPE_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Decodes a request body as JSON. A body that is not JSON or does not fit `T` is an
/// `InvalidArgument` error (HTTP `400`) naming what is wrong. The `Content-Type` is not
/// checked: Go kit's clients send none.
pub fn decode_request<T: DeserializeOwned>(
    _parts: &request::Parts,
    body: Bytes,
) -> Result<T, Error> {
    from_slice(&body).map_err(|err| {
        Error::invalid_argument(format!("invalid request body: {err}")).with_source(err)
    })
}

/// Encodes a response as a `200 OK` JSON body.
pub fn encode_response<T: Serialize>(response: T) -> Result<http::Response<Body>, Error> {
    let body = to_bytes(&response)?;
    let mut response = http::Response::new(Body::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
    Ok(response)
}

/// Encodes a request as a JSON body with `Content-Type: application/json`.
pub fn encode_request<T: Serialize>(
    request: T,
    parts: &mut request::Parts,
) -> Result<Bytes, Error> {
    parts.headers.insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
    to_bytes(&request)
}

/// Decodes a successful response's JSON body. A body that does not decode is the server's
/// fault: an `Internal` error.
pub fn decode_response<T: DeserializeOwned>(
    _parts: response::Parts,
    body: Bytes,
) -> Result<T, Error> {
    serde_json::from_slice(&body)
        .map_err(|err| Error::internal(format!("invalid response body: {err}")).with_source(err))
}

/// Serialises `value` to JSON bytes; failing to is a bug in the caller's types: `Internal`.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, Error> {
    // Most RPC bodies are small: one allocation instead of a few growth steps.
    let mut buf = Vec::with_capacity(128);
    serde_json::to_writer(&mut buf, value)
        .map(|()| Bytes::from(buf))
        .map_err(|err| Error::internal(format!("encoding JSON: {err}")).with_source(err))
}
