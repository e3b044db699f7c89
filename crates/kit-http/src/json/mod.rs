//! JSON codecs for servers and clients, standard or Go-compatible.
//!
//! Server side, [`decode_request`] and [`encode_response`]; client side, [`encode_request`]
//! and [`decode_response`]; they read and write JSON exactly as serde_json does.
//!
//! [`go`] is the same set, decoding the way Go's `encoding/json` does: object keys match
//! struct fields ignoring case (exact matches first), `-0` is an integer, and an array is
//! not a struct. Go kit's clients send `{"A":1,"B":2}` to a struct with fields `a` and `b`,
//! so a service that Go kit clients call, and a client that calls Go kit services, opt in
//! by using `json::go::*` on both sides (and [`jsonrpc::go`](crate::jsonrpc::go) for
//! JSON-RPC).
//!
//! ```
//! use kit::{endpoint_fn, Context, Error};
//! use kit_http::{json, Server};
//!
//! #[derive(serde::Deserialize)]
//! struct SumRequest { a: i64, b: i64 }
//!
//! let sum = endpoint_fn(|_ctx: Context, r: SumRequest| async move { Ok::<_, Error>(r.a + r.b) });
//! // Accepts {"a":1,"b":2} and, as Go kit clients send it, {"A":1,"B":2}.
//! let server = Server::new(sum, json::go::decode_request, json::encode_response);
//! # let _ = server;
//! ```

mod case_insensitive;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{request, response};
use kit::{Context, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Body;

/// The `Content-Type` of every JSON body kit writes.
pub const CONTENT_TYPE_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Decodes a request body as JSON. A body that is not JSON or does not fit `T` is an
/// `InvalidArgument` error (HTTP `400`) naming what is wrong. The `Content-Type` is not
/// checked: Go kit's clients send none.
pub fn decode_request<T: DeserializeOwned>(
    _parts: &request::Parts,
    body: Bytes,
) -> Result<T, Error> {
    request_from(serde_json::from_slice(&body))
}

/// Encodes a response as a `200 OK` JSON body.
pub fn encode_response<T: Serialize>(
    _ctx: &Context,
    response: T,
) -> Result<http::Response<Body>, Error> {
    Ok(self::response(to_bytes(&response)?))
}

/// A `200 OK` answer with `body`, JSON already written.
pub(crate) fn response(body: Bytes) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(body));
    let headers = response.headers_mut();
    *headers = crate::spare::header_map();
    headers.insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
    response
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
    response_from(serde_json::from_slice(&body))
}

/// The error of a request body that did not decode.
fn request_from<T>(decoded: Result<T, serde_json::Error>) -> Result<T, Error> {
    decoded.map_err(|err| {
        Error::invalid_argument(format!("invalid request body: {err}")).with_source(err)
    })
}

/// The error of a response body that did not decode.
fn response_from<T>(decoded: Result<T, serde_json::Error>) -> Result<T, Error> {
    decoded.map_err(|err| Error::internal(format!("invalid response body: {err}")).with_source(err))
}

/// Serialises `value` to JSON bytes; failing to is a bug in the caller's types: `Internal`.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, Error> {
    // Most RPC bodies are small: one allocation instead of a few growth steps.
    let mut buf = Vec::with_capacity(128);
    serde_json::to_writer(&mut buf, value)
        .map(|()| Bytes::from(buf))
        .map_err(|err| Error::internal(format!("encoding JSON: {err}")).with_source(err))
}

/// The Go-compatible JSON codec: the same functions as [`json`](self), decoding as Go's
/// `encoding/json` does (see [`from_slice`](go::from_slice) for the rules and the
/// differences that remain). Encoding is the same as the standard codec's.
pub mod go {
    use bytes::Bytes;
    use http::{request, response};
    use kit::Error;
    use serde::de::DeserializeOwned;

    pub use super::case_insensitive::from_slice;
    pub use super::{encode_request, encode_response};

    /// Decodes a request body as Go's `encoding/json` would; errors as
    /// [`json::decode_request`](super::decode_request)'s.
    pub fn decode_request<T: DeserializeOwned>(
        _parts: &request::Parts,
        body: Bytes,
    ) -> Result<T, Error> {
        super::request_from(from_slice(&body))
    }

    /// Decodes a successful response's body as Go's `encoding/json` would; errors as
    /// [`json::decode_response`](super::decode_response)'s.
    pub fn decode_response<T: DeserializeOwned>(
        _parts: response::Parts,
        body: Bytes,
    ) -> Result<T, Error> {
        super::response_from(from_slice(&body))
    }
}
