//! Serving an endpoint over HTTP.
//!
//! A [`Server`] binds one [`Endpoint`] to HTTP with a request decoder and a response
//! encoder, the way Go kit's `httptransport.NewServer` does, plus Go kit's hooks:
//!
//! - [`before`](Server::before) functions derive the request's [`Context`] from the request
//!   head (headers, path, remote address in extensions), in order;
//! - [`after`](Server::after) functions adjust the response head (headers, status) once
//!   the answer is known, for successes and errors alike;
//! - an [error encoder](Server::error_encoder) writes errors (default: [`encode_error`],
//!   `{"error": message}` with the status from the error's code);
//! - [finalizers](Server::finalizer) see the outcome of every request: status, size,
//!   error; a request dropped before its answer was ready (the client went away, or the
//!   shutdown grace period ended) is reported as status `499` with a `Cancelled` error.
//!
//! The request body is read whole, up to [a limit](Server::body_limit) (1 MiB by default;
//! more is `413`), before the decoder runs. A `kit-timeout` header (see [`TIMEOUT_HEADER`])
//! becomes the context's deadline, and the endpoint runs under that deadline.
//!
//! What happens between the body and the response is the server's [`Handler`]: for
//! [`Server::new`], an [`EndpointHandler`] (decode, call the endpoint under the request's
//! context, encode); for [`Server::jsonrpc`], a [`jsonrpc::Methods`](crate::jsonrpc::Methods)
//! table. Everything around it, listed above, is the same for both, so a JSON-RPC server
//! takes the same hooks and limits as any other.
//!
//! A `Server` is a `tower::Service<http::Request<B>>` for any body type, so it can be
//! mounted in a kit [`Router`](crate::Router), served alone with [`serve`](crate::serve),
//! or mounted in an axum `Router` with `route_service`.
//!
//! ```
//! use kit::{endpoint_fn, Context, Error};
//! use kit_http::{json, Server};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct SumRequest { a: i64, b: i64 }
//! #[derive(Serialize)]
//! struct SumReply { v: i64 }
//!
//! let sum = endpoint_fn(|_ctx: Context, r: SumRequest| async move {
//!     Ok::<_, Error>(SumReply { v: r.a + r.b })
//! });
//! let server = Server::new(sum, json::decode_request, json::encode_response)
//!     .before(|ctx: Context, parts: &http::request::Parts| match parts.headers.get("x-request-id") {
//!         Some(id) => ctx.with_propagated("x-request-id", id.to_str().unwrap_or("").to_owned()),
//!         None => ctx,
//!     });
//! let router = kit_http::Router::new().route(http::Method::POST, "/sum", server);
//! # let _ = router;
//! ```

mod error;
mod handler;
mod hooks;
mod propagate;

pub use error::encode_error;
pub use handler::{EndpointHandler, Handler};
pub use hooks::Summary;
pub use propagate::propagate_headers;

pub(crate) use handler::sealed;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::header::HeaderName;
use http::{Request, Response, StatusCode, request, response};
use http_body::Body as HttpBody;
use kit::{BoxError, Context, Endpoint, Error};
use tower_service::Service;

use crate::Body;
use crate::body::{read_limited, request_too_large};
use crate::status::{HttpStatus, method_not_allowed};
use hooks::Hooks;

/// The header that carries a request's remaining time, in `grpc-timeout` syntax (see
/// [`kit::wire`]): clients set it from their context's deadline, servers install it as the
/// request context's deadline.
pub const TIMEOUT_HEADER: HeaderName = HeaderName::from_static("kit-timeout");

/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The future of every kit service (servers and routers): boxed once, so that a
/// [`Router`](crate::Router) can hold services of different types without boxing again.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A [`Handler`] served over HTTP with hooks and limits; see the [module docs](self).
///
/// `Server<EndpointHandler<..>>` serves one endpoint ([`Server::new`]);
/// `Server<jsonrpc::Methods>` serves JSON-RPC ([`Server::jsonrpc`]).
pub struct Server<H> {
    handler: Arc<H>,
    hooks: Arc<Hooks>,
}

impl<E, D, C> Server<EndpointHandler<E, D, C>> {
    /// Serves `endpoint`, decoding requests with `decode` and encoding its responses with
    /// `encode`.
    ///
    /// `decode` gets the request head and the whole body; `encode` turns the endpoint's
    /// response into an HTTP response. [`json::decode_request`](crate::json::decode_request)
    /// and [`json::encode_response`](crate::json::encode_response) do both for JSON.
    pub fn new<Req>(endpoint: E, decode: D, encode: C) -> Self
    where
        E: Endpoint<Req>,
        D: Fn(&request::Parts, Bytes) -> Result<Req, Error> + Send + Sync + 'static,
        C: Fn(E::Response) -> Result<Response<Body>, Error> + Send + Sync + 'static,
    {
        Server::with_handler(EndpointHandler::new(endpoint, decode, encode))
    }
}

impl<H> Server<H> {
    /// Serves `handler` with no hooks and the default body limit.
    pub(crate) fn with_handler(handler: H) -> Self {
        Server {
            handler: Arc::new(handler),
            hooks: Arc::new(Hooks::default()),
        }
    }

    /// Adds a function that derives the request context from the request head; they run in
    /// the order added, before the body is read.
    pub fn before(
        mut self,
        f: impl Fn(Context, &request::Parts) -> Context + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.hooks).before.push(Arc::new(f));
        self
    }

    /// Adds a function that may change the response head (add headers, change the status)
    /// before it is sent; they run in the order added, for successes and errors alike.
    pub fn after(
        mut self,
        f: impl Fn(&Context, &mut response::Parts) + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.hooks).after.push(Arc::new(f));
        self
    }

    /// Replaces the error encoder (default: [`encode_error`]).
    pub fn error_encoder(
        mut self,
        f: impl Fn(&Context, &Error) -> Response<Body> + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.hooks).error_encoder = Arc::new(f);
        self
    }

    /// Adds a function that sees the outcome of every request once its response is ready.
    pub fn finalizer(mut self, f: impl Fn(&Context, &Summary<'_>) + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.hooks).finalizer.push(Arc::new(f));
        self
    }

    /// The largest request body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`]); a
    /// larger one is answered `413` without being read whole.
    pub fn body_limit(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.hooks).body_limit = limit;
        self
    }
}

/// Reads the body and hands the request to the handler.
async fn respond<H, B>(
    handler: &H,
    ctx: &Context,
    parts: &request::Parts,
    body: B,
    limit: usize,
) -> Result<Response<Body>, Error>
where
    H: Handler,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let bytes = read_limited(body, limit, request_too_large).await?;
    handler.handle(ctx, parts, bytes).await
}

/// The context a request starts with: its `kit-timeout` header as the deadline.
fn request_context(parts: &request::Parts) -> Result<Context, Error> {
    let ctx = Context::background();
    match parts.headers.get(&TIMEOUT_HEADER) {
        None => Ok(ctx),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(kit::wire::parse_timeout)
            .map(|timeout| ctx.with_timeout(timeout))
            .ok_or_else(|| {
                Error::invalid_argument(format!("malformed {TIMEOUT_HEADER} header: {value:?}"))
                    .with_hint(HttpStatus(StatusCode::BAD_REQUEST))
            }),
    }
}

impl<H, B> Service<Request<B>> for Server<H>
where
    H: Handler,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Response<Body>, std::convert::Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let handler = self.handler.clone();
        let hooks = self.hooks.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // A handler that serves one method refuses the others before reading the body.
            let allow = H::METHOD.filter(|method| *method != parts.method);
            let (ctx, result) = match request_context(&parts) {
                Ok(ctx) => {
                    let ctx = hooks.before.iter().fold(ctx, |ctx, f| f(ctx, &parts));
                    let result = if allow.is_some() {
                        Err(method_not_allowed(&parts.method, parts.uri.path()))
                    } else {
                        let abandoned = hooks.finalize_if_abandoned(&ctx, &parts);
                        let result = respond(&*handler, &ctx, &parts, body, hooks.body_limit).await;
                        abandoned.disarm();
                        result
                    };
                    (ctx, result)
                }
                Err(err) => (Context::background(), Err(err)),
            };
            Ok(hooks.finish(&ctx, &parts, result, allow.as_ref()))
        })
    }
}

impl<H> Clone for Server<H> {
    fn clone(&self) -> Self {
        Server {
            handler: self.handler.clone(),
            hooks: self.hooks.clone(),
        }
    }
}

impl<H: fmt::Debug> fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("handler", &self.handler)
            .field("body_limit", &self.hooks.body_limit)
            .finish_non_exhaustive()
    }
}
