//! Reading error answers.

use bytes::Bytes;
use http::response;
use kit::{Code, Error};
use serde::Deserialize;

use crate::status::{HttpStatus, code_for};

/// The longest piece of a non-JSON error body kept as the message.
const MAX_TEXT_MESSAGE: usize = 512;

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    details: Option<serde_json::Value>,
}

/// The default decoder of non-`2xx` answers.
///
/// - The code: the `code` a kit server names in its `{"error": ..., "code": ...}` body, so
///   that codes sharing a status (`Aborted` and `AlreadyExists` are both `409`) come back
///   as they were; else the status's ([`code_for`](crate::status::code_for)).
/// - The message: the body's `error` (what kit and Go kit servers send), else the body's
///   text, else the status's reason phrase.
/// - The body's `details`, when present.
/// - The status itself, as an [`HttpStatus`] hint, for classifiers.
pub fn decode_error(parts: &response::Parts, body: &Bytes) -> Error {
    let from_status = code_for(parts.status);
    let err = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(decoded) => {
            let code = decoded
                .code
                .and_then(|name| name.parse::<Code>().ok())
                .unwrap_or(from_status);
            let err = Error::new(code, decoded.error);
            match decoded.details {
                Some(details) => err.with_details(details),
                None => err,
            }
        }
        Err(_) => {
            let message = match std::str::from_utf8(body).map(str::trim) {
                Ok(text) if !text.is_empty() => text.chars().take(MAX_TEXT_MESSAGE).collect(),
                _ => parts
                    .status
                    .canonical_reason()
                    .unwrap_or("error")
                    .to_owned(),
            };
            Error::new(from_status, message)
        }
    };
    err.with_hint(HttpStatus(parts.status))
}
