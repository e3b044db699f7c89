//! The service that checks each request.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CONTENT_TYPE, TE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tonic::Status;
use tower_service::Service;

use super::layer::Config;
use super::{CheckedBody, ResponseFuture};

/// The most of a refused `content-type` or method repeated in the answer.
const MAX_ECHOED: usize = 128;

/// A service that checks requests before `S` sees them; made by
/// [`RequestChecksLayer`](super::RequestChecksLayer), see the [module docs](super).
#[derive(Clone, Debug)]
pub struct RequestChecks<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> RequestChecks<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        RequestChecks { inner, config }
    }

    /// The answer to a request that is not gRPC, or `None` for one that is.
    fn refusal<B, R: Default>(&self, request: &Request<B>) -> Option<Response<R>> {
        let content_type = request.headers().get(CONTENT_TYPE);
        if !content_type.is_some_and(is_grpc) {
            let value = content_type
                .map(|v| echoed(v.as_bytes()))
                .unwrap_or_default();
            let message = format!("invalid gRPC request content-type {value:?}");
            return Some(answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Status::invalid_argument(message),
            ));
        }
        if request.method() != Method::POST {
            let method = echoed(request.method().as_str().as_bytes());
            let message =
                format!("Received a HEADERS frame with :method {method:?} which should be POST");
            return Some(answer(
                StatusCode::METHOD_NOT_ALLOWED,
                Status::internal(message),
            ));
        }
        if self.config.require_te && request.headers().get(TE).is_none_or(|te| te != "trailers") {
            return Some(answer(
                StatusCode::OK,
                Status::unknown("Missing :te header"),
            ));
        }
        None
    }
}

/// Whether `content_type` is gRPC's: `application/grpc`, alone or followed by `+` (a
/// subtype such as `+proto`) or `;` (parameters), compared case-insensitively.
fn is_grpc(content_type: &HeaderValue) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    let value = content_type.as_bytes();
    value.len() >= GRPC.len()
        && value[..GRPC.len()].eq_ignore_ascii_case(GRPC)
        && matches!(value.get(GRPC.len()), None | Some(b'+' | b';'))
}

/// Up to [`MAX_ECHOED`] bytes of a client's header value, as text.
fn echoed(value: &[u8]) -> String {
    String::from_utf8_lossy(&value[..value.len().min(MAX_ECHOED)]).into_owned()
}

/// A trailers-only gRPC answer with `status` and HTTP status `http`.
fn answer<R: Default>(http: StatusCode, status: Status) -> Response<R> {
    let mut response = status.into_http();
    *response.status_mut() = http;
    response
}

impl<S, B, R> Service<Request<B>> for RequestChecks<S>
where
    S: Service<Request<CheckedBody<B>>, Response = Response<R>>,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(refusal) = self.refusal(&request) {
            return ResponseFuture::refused(refusal);
        }
        let single_message = self.config.single_message.contains(request.uri().path());
        ResponseFuture::called(
            self.inner
                .call(request.map(|body| CheckedBody::new(body, single_message))),
        )
    }
}
