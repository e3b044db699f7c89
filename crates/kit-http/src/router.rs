//! Routing requests to servers by exact path and method.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, Response};
use hyper::body::Incoming;
use kit::{Context, Error};
use tower_service::Service;

use crate::Body;
use crate::server::{BoxFuture, encode_error};
use crate::status::method_not_allowed;

type Route<B> =
    Arc<dyn Fn(Request<B>) -> BoxFuture<Result<Response<Body>, Infallible>> + Send + Sync>;
/// The routes of one path, by method.
type Methods<B> = Vec<(Method, Route<B>)>;
type ErrorEncoderFn = Arc<dyn Fn(&Context, &Error) -> Response<Body> + Send + Sync>;

/// Routes requests to services by exact path and method, answering an unknown path with
/// `404` and a known path with the wrong method with `405` and an `Allow` header, both with
/// the same JSON error body as every other kit error.
///
/// RPC-style services have a handful of fixed paths, so the router compares whole paths in
/// the order they were added and has no patterns (for a few routes a scan beats hashing);
/// for REST paths with parameters, mount kit [`Server`](crate::Server)s in an axum `Router`
/// instead.
///
/// ```
/// use http::Method;
/// use kit::{endpoint_fn, Context, Error};
/// use kit_http::{json, Router, Server};
///
/// let echo = endpoint_fn(|_ctx: Context, v: serde_json::Value| async move { Ok::<_, Error>(v) });
/// let router = Router::new()
///     .route(Method::POST, "/echo", Server::new(echo, json::decode_request, json::encode_response));
/// # let _ = router;
/// ```
pub struct Router<B = Incoming> {
    inner: Arc<Inner<B>>,
}

struct Inner<B> {
    routes: Vec<(Box<str>, Methods<B>)>,
    error_encoder: ErrorEncoderFn,
}

impl Router {
    /// A router with no routes, for hyper's request bodies (what [`serve`](crate::serve)
    /// hands it). For another body type, start from `Router::<B>::default()`.
    pub fn new() -> Self {
        Router::default()
    }
}

impl<B: Send + 'static> Router<B> {
    /// Sends `method` requests for exactly `path` to `service`: a kit
    /// [`Server`](crate::Server), or any service whose future is already boxed the same way
    /// (so that the router does not box it again). Other tower services go through
    /// [`route_service`](Router::route_service).
    ///
    /// # Panics
    /// If the router has been cloned already, or the same method and path are routed twice.
    pub fn route<S>(self, method: Method, path: &str, service: S) -> Self
    where
        S: Service<
                Request<B>,
                Response = Response<Body>,
                Error = Infallible,
                Future = BoxFuture<Result<Response<Body>, Infallible>>,
            > + Clone
            + Send
            + Sync
            + 'static,
    {
        self.add(
            method,
            path,
            Arc::new(move |request| service.clone().call(request)),
        )
    }

    /// Sends `method` requests for exactly `path` to any tower `service` of HTTP requests,
    /// boxing its future.
    ///
    /// # Panics
    /// As [`route`](Router::route).
    pub fn route_service<S>(self, method: Method, path: &str, service: S) -> Self
    where
        S: Service<Request<B>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.add(
            method,
            path,
            Arc::new(move |request| Box::pin(service.clone().call(request))),
        )
    }

    fn add(mut self, method: Method, path: &str, route: Route<B>) -> Self {
        let routes = &mut self.inner_mut().routes;
        let index = match routes.iter().position(|(p, _)| **p == *path) {
            Some(index) => index,
            None => {
                routes.push((path.into(), Vec::new()));
                routes.len() - 1
            }
        };
        let methods = &mut routes[index].1;
        assert!(
            !methods.iter().any(|(m, _)| *m == method),
            "{method} {path} is routed twice"
        );
        methods.push((method, route));
        self
    }

    /// Replaces the encoder of the router's own `404` and `405` answers (default:
    /// [`encode_error`]).
    pub fn error_encoder(
        mut self,
        f: impl Fn(&Context, &Error) -> Response<Body> + Send + Sync + 'static,
    ) -> Self {
        self.inner_mut().error_encoder = Arc::new(f);
        self
    }

    fn inner_mut(&mut self) -> &mut Inner<B> {
        Arc::get_mut(&mut self.inner).expect("configure a Router before cloning it")
    }

    /// Answers a request that no route takes.
    fn reject(
        &self,
        request: &Request<B>,
        allowed: Option<&[(Method, Route<B>)]>,
    ) -> Response<Body> {
        let path = request.uri().path();
        let err = match allowed {
            None => Error::not_found(format!("no route for {path}")),
            Some(_) => method_not_allowed(request.method(), path),
        };
        let mut response = (self.inner.error_encoder)(&Context::background(), &err);
        if let Some(methods) = allowed {
            let allow = methods
                .iter()
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(allow) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(ALLOW, allow);
            }
        }
        response
    }
}

impl<B: Send + 'static> Default for Router<B> {
    fn default() -> Self {
        Router {
            inner: Arc::new(Inner {
                routes: Vec::new(),
                error_encoder: Arc::new(encode_error),
            }),
        }
    }
}

impl<B: Send + 'static> Service<Request<B>> for Router<B> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        let methods = self
            .inner
            .routes
            .iter()
            .find(|(p, _)| **p == *path)
            .map(|(_, ms)| ms);
        if let Some((_, route)) =
            methods.and_then(|ms| ms.iter().find(|(m, _)| m == request.method()))
        {
            return route(request);
        }
        let response = self.reject(&request, methods.map(Vec::as_slice));
        Box::pin(std::future::ready(Ok(response)))
    }
}

impl<B> Clone for Router<B> {
    fn clone(&self) -> Self {
        Router {
            inner: self.inner.clone(),
        }
    }
}

impl<B> std::fmt::Debug for Router<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut routes: Vec<String> = self
            .inner
            .routes
            .iter()
            .flat_map(|(path, ms)| ms.iter().map(move |(m, _)| format!("{m} {path}")))
            .collect();
        routes.sort();
        f.debug_struct("Router").field("routes", &routes).finish()
    }
}
