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

/// `err`, a failed call, as an error that says which call it was (`call`, such as
/// `consul at http://127.0.0.1:8500: GET /v1/health/service/addsvc`) and what went wrong in
/// one line, keeping its code: the status and the server's message for an error answer
/// (the status alone when the message is only its reason phrase), "no answer within
/// `timeout`" when the deadline passed, else the innermost cause (`Connection refused (os
/// error 111)`). For clients of other systems' HTTP APIs (registries, collectors), whose
/// users read these messages in logs.
///
/// ```
/// use std::time::Duration;
/// use kit::{Code, Error};
/// use kit_http::HttpStatus;
///
/// let answer = Error::not_found("Not Found").with_hint(HttpStatus(http::StatusCode::NOT_FOUND));
/// let err = kit_http::client::call_error("eureka: GET /apps/X", &answer, Duration::from_secs(1));
/// assert_eq!((err.code(), err.message()), (Code::NotFound, "eureka: GET /apps/X: 404 Not Found"));
///
/// let late = Error::deadline_exceeded();
/// let err = kit_http::client::call_error("eureka: GET /apps/X", &late, Duration::from_secs(1));
/// assert_eq!(err.message(), "eureka: GET /apps/X: no answer within 1s");
/// ```
pub fn call_error(call: &str, err: &Error, timeout: std::time::Duration) -> Error {
    let message = match err.hint::<HttpStatus>() {
        Some(HttpStatus(status)) if err.message() == status.canonical_reason().unwrap_or("") => {
            format!("{call}: {status}")
        }
        Some(HttpStatus(status)) => format!("{call}: {status}: {}", err.message()),
        None if err.code() == Code::DeadlineExceeded => {
            format!("{call}: no answer within {timeout:?}")
        }
        None => format!("{call}: {}", root_cause(err)),
    };
    Error::new(err.code(), message)
}

/// The innermost cause of `err`, or its message.
fn root_cause(err: &Error) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
