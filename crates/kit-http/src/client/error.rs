//! Reading error answers.

use bytes::Bytes;
use http::response;
use kit::{Code, Error};
use serde::Deserialize;

/// The longest piece of a non-JSON error body kept as the message.
const MAX_TEXT_MESSAGE: usize = 512;

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The default decoder of non-`2xx` answers: the code from the status
/// ([`Code::from_http_status`]), the message from a `{"error": "..."}` body (what kit and Go
/// kit servers send), else the body's text, else the status's reason phrase.
pub fn decode_error(parts: &response::Parts, body: &Bytes) -> Error {
    let code = Code::from_http_status(parts.status.as_u16());
    let message = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(decoded) => decoded.error,
        Err(_) => match std::str::from_utf8(body).map(str::trim) {
            Ok(text) if !text.is_empty() => text.chars().take(MAX_TEXT_MESSAGE).collect(),
            _ => parts
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_owned(),
        },
    };
    Error::new(code, message)
}
