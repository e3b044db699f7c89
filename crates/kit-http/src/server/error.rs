//! How a server writes errors.

use http::header::CONTENT_TYPE;
use kit::{Context, Error};
use serde::Serialize;

use crate::json::CONTENT_TYPE_JSON;
use crate::{Body, status_of};

/// The JSON body of an error answer: Go kit's `{"error": "<message>"}`, plus the code by
/// name and the error's details when it has any. Go kit clients read `error` and ignore the
/// rest; kit clients read all three back.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl<'a> ErrorBody<'a> {
    fn of(err: &'a Error) -> ErrorBody<'a> {
        ErrorBody {
            error: err.message_for_caller(),
            code: err.code().as_str(),
            details: err.details(),
        }
    }
}

/// The default error encoder: status from [`status_of`] (the error's
/// [`HttpStatus`](crate::HttpStatus) hint, else its code's status), body
/// `{"error":"<message>","code":"<CODE>"}` with `"details"` when the error has some,
/// `Content-Type: application/json`. The message is
/// [the one for callers](kit::Error::message_for_caller), so a redacted error shows only its
/// code's description.
pub fn encode_error(_ctx: &Context, err: &Error) -> http::Response<Body> {
    let body = serde_json::to_vec(&ErrorBody::of(err)).unwrap_or_else(|_| {
        // Details that do not serialise (a map with non-string keys cannot occur in a
        // `Value`; this is for safety only) are dropped rather than losing the answer.
        let plain = ErrorBody {
            details: None,
            ..ErrorBody::of(err)
        };
        serde_json::to_vec(&plain).expect("strings always serialise")
    });
    let mut response = http::Response::new(Body::from(body));
    *response.status_mut() = status_of(err);
    let headers = response.headers_mut();
    *headers = crate::spare::header_map();
    headers.insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
    response
}
