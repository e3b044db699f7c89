//! The functions a server calls around each request.

use std::sync::Arc;

use http::header::{ALLOW, HeaderValue};
use http::{HeaderMap, Method, Response, StatusCode, request, response};
use http_body::Body as _;
use kit::guard::DropGuard;
use kit::{Context, Error};

use super::{DEFAULT_BODY_LIMIT, encode_error};
use crate::Body;

type BeforeFn = Arc<dyn Fn(Context, &request::Parts) -> Context + Send + Sync>;
type AfterFn = Arc<dyn Fn(&Context, &mut response::Parts) + Send + Sync>;
type ErrorEncoderFn = Arc<dyn Fn(&Context, &Error) -> Response<Body> + Send + Sync>;
type FinalizerFn = Arc<dyn Fn(&Context, &Summary<'_>) + Send + Sync>;

/// What a finalizer learns about a request once its response is ready.
#[derive(Debug)]
#[non_exhaustive]
pub struct Summary<'a> {
    /// The request head.
    pub request: &'a request::Parts,
    /// The response status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The response body's size in bytes.
    pub size: u64,
    /// The error the request ended with, if it failed.
    pub error: Option<&'a Error>,
}

/// A server's hooks and limits; shared by its clones, copied on write while configuring.
#[derive(Clone)]
pub(crate) struct Hooks {
    pub(crate) before: Vec<BeforeFn>,
    pub(crate) after: Vec<AfterFn>,
    pub(crate) error_encoder: ErrorEncoderFn,
    pub(crate) finalizer: Vec<FinalizerFn>,
    pub(crate) body_limit: usize,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            before: Vec::new(),
            after: Vec::new(),
            error_encoder: Arc::new(encode_error),
            finalizer: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// The status finalizers see for a request that was dropped before its answer was ready
/// (nginx's "client closed request").
const CLIENT_CLOSED_REQUEST: u16 = 499;

impl Hooks {
    /// A guard that runs the finalizers with `499` and a `Cancelled` error if the request is
    /// dropped while it lives.
    pub(crate) fn finalize_if_abandoned<'a>(
        &'a self,
        ctx: &'a Context,
        request: &'a request::Parts,
    ) -> DropGuard<impl FnOnce() + 'a> {
        if self.finalizer.is_empty() {
            return DropGuard::disarmed();
        }
        DropGuard::new(move || {
            let error = Error::cancelled();
            let summary = Summary {
                request,
                status: StatusCode::from_u16(CLIENT_CLOSED_REQUEST).expect("499 is a valid status"),
                headers: &HeaderMap::new(),
                size: 0,
                error: Some(&error),
            };
            for finalizer in &self.finalizer {
                finalizer(ctx, &summary);
            }
        })
    }

    /// Turns the outcome into the response: encodes an error (with an `Allow` header naming
    /// `allow` if the request's method was refused), runs the after functions and the
    /// finalizers.
    pub(crate) fn finish(
        &self,
        ctx: &Context,
        request: &request::Parts,
        result: Result<Response<Body>, Error>,
        allow: Option<&Method>,
    ) -> Response<Body> {
        let (response, error) = match result {
            Ok(response) => (response, None),
            Err(err) => {
                let mut response = (self.error_encoder)(ctx, &err);
                if let Some(method) = allow {
                    response.headers_mut().insert(
                        ALLOW,
                        HeaderValue::from_str(method.as_str())
                            .expect("a method is a valid header value"),
                    );
                }
                (response, Some(err))
            }
        };
        if self.after.is_empty() && self.finalizer.is_empty() {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        for after in &self.after {
            after(ctx, &mut parts);
        }
        let summary = Summary {
            request,
            status: parts.status,
            headers: &parts.headers,
            size: body.size_hint().exact().unwrap_or_default(),
            error: error.as_ref(),
        };
        for finalizer in &self.finalizer {
            finalizer(ctx, &summary);
        }
        Response::from_parts(parts, body)
    }
}
