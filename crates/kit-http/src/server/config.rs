//! A server's hooks and limits, and what it does around every answer.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode, request, response};
use http_body::Body as _;
use kit::context::ResponseMetadata;
use kit::trace::Propagation;
use kit::{Context, Error};

use super::encode_error;
use crate::Body;
use crate::meter::Slot;

pub(crate) type BeforeFn = Arc<dyn Fn(Context, &request::Parts) -> Context + Send + Sync>;
pub(crate) type AfterFn = Arc<dyn Fn(&Context, &mut response::Parts) + Send + Sync>;
pub(crate) type ErrorEncoderFn = Arc<dyn Fn(&Context, &Error) -> Response<Body> + Send + Sync>;
pub(crate) type FinalizerFn = Arc<dyn Fn(&Context, &Summary<'_>) + Send + Sync>;

/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The default time a client has to send a request body: 30 seconds.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The error the request ended with, if it failed. Its [`message`](Error::message) is
    /// the original even when the caller was sent a redacted one.
    pub error: Option<&'a Error>,
}

/// A server's (or a router's) hooks and limits; shared by its clones, copied on write while
/// configuring.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) before: Vec<BeforeFn>,
    pub(crate) after: Vec<AfterFn>,
    pub(crate) error_encoder: ErrorEncoderFn,
    pub(crate) finalizer: Vec<FinalizerFn>,
    pub(crate) body_limit: usize,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) redact: bool,
    /// The trace header formats read from requests.
    pub(crate) trace_formats: Propagation,
    /// The transport metrics of the route this server answers, once turned on.
    pub(crate) route: Slot,
    /// The pattern of the router's route this server answers, for its spans.
    pub(crate) http_route: Option<Box<str>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            before: Vec::new(),
            after: Vec::new(),
            error_encoder: Arc::new(encode_error),
            finalizer: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            redact: true,
            trace_formats: Propagation::DEFAULT_EXTRACT,
            route: Slot::default(),
            http_route: None,
        }
    }
}

/// The status finalizers see for a request that was dropped before its answer was ready
/// (nginx's "client closed request").
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// Runs the finalizers with `499` and a `Cancelled` error if dropped while armed: a request
/// abandoned before its answer was ready (the client went away, a grace period ended).
pub(crate) struct AbandonGuard<'a> {
    config: &'a Config,
    ctx: &'a Context,
    /// The request head, lent to the handler through the guard while it runs.
    pub(crate) parts: &'a mut request::Parts,
    armed: bool,
}

impl<'a> AbandonGuard<'a> {
    pub(crate) fn new(config: &'a Config, ctx: &'a Context, parts: &'a mut request::Parts) -> Self {
        let armed = !config.finalizer.is_empty();
        AbandonGuard {
            config,
            ctx,
            parts,
            armed,
        }
    }

    /// The request has an outcome.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let error = Error::cancelled();
        let summary = Summary {
            request: self.parts,
            status: StatusCode::from_u16(CLIENT_CLOSED_REQUEST).expect("499 is a valid status"),
            headers: &HeaderMap::new(),
            size: 0,
            error: Some(&error),
        };
        for finalizer in &self.config.finalizer {
            finalizer(self.ctx, &summary);
        }
    }
}

impl Config {
    /// Whether a success with no response metadata is answered as it is: no after functions
    /// and no finalizers.
    pub(crate) fn answers_as_is(&self) -> bool {
        self.after.is_empty() && self.finalizer.is_empty()
    }

    /// The request's context once every before function has seen the request head.
    pub(crate) fn before(&self, ctx: Context, parts: &request::Parts) -> Context {
        self.before.iter().fold(ctx, |ctx, f| f(ctx, parts))
    }

    /// Turns the outcome into the response: encodes an error (redacted if so configured,
    /// with an `Allow` header if the request's method was refused), applies the response
    /// metadata the call set through its context, runs the after functions and the
    /// finalizers.
    pub(crate) fn finish(
        &self,
        ctx: &Context,
        metadata: Option<ResponseMetadata>,
        request: &request::Parts,
        result: Result<Response<Body>, Error>,
        allow: Option<HeaderValue>,
    ) -> Response<Body> {
        let (mut response, error) = match result {
            // The common case: a success with nothing more to do.
            Ok(response) if metadata.is_none() && self.answers_as_is() => return response,
            Ok(mut response) => {
                if let Some(status) = metadata.as_ref().and_then(|m| m.hint::<StatusCode>()) {
                    *response.status_mut() = *status;
                }
                (response, None)
            }
            Err(err) => {
                let err = if self.redact {
                    err.redact_private()
                } else {
                    err
                };
                let mut response = (self.error_encoder)(ctx, &err);
                if let Some(allow) = allow {
                    response.headers_mut().insert(http::header::ALLOW, allow);
                }
                (response, Some(err))
            }
        };
        if let Some(metadata) = &metadata {
            apply_metadata(response.headers_mut(), metadata);
        }
        if self.answers_as_is() {
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

/// Writes response metadata into `headers`: each key replaces what the encoder set for it,
/// repeated keys (`set-cookie`) are all sent. Entries that are not valid headers are skipped.
fn apply_metadata(headers: &mut HeaderMap, metadata: &ResponseMetadata) {
    let mut seen: Vec<HeaderName> = Vec::new();
    for (key, value) in metadata.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            tracing::debug!(
                key,
                "response metadata not sendable as an HTTP header: skipped"
            );
            continue;
        };
        if seen.contains(&name) {
            headers.append(name, value);
        } else {
            headers.insert(name.clone(), value);
            seen.push(name);
        }
    }
}
