//! How a server writes errors.

use http::header::CONTENT_TYPE;
use kit::{Context, Error};
use serde::Serialize;

use crate::json::CONTENT_TYPE_JSON;
use crate::{Body, status_of};

/// The JSON body of an error answer: `{"error": "<message>"}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// The default error encoder: status from [`status_of`] (the error's code through the
/// classification table), body `{"error":"<message>"}`, `Content-Type: application/json`.
pub fn encode_error(_ctx: &Context, err: &Error) -> http::Response<Body> {
    let body = serde_json::to_vec(&ErrorBody {
        error: err.message(),
    })
    .expect("a struct of one string always serialises");
    let mut response = http::Response::new(Body::from(body));
    *response.status_mut() = status_of(err);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, CONTENT_TYPE_JSON);
    response
}
