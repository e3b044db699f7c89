//! Routing requests to servers by path and method.

use std::convert::Infallible;
use std::fmt;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::header::{ALLOW, CONTENT_LENGTH, HeaderValue};
use http::{Method, Request, Response, StatusCode, request, response};
use http_body::Body as _;
use hyper::body::Incoming;
use kit::{Context, Error};
use tower_service::Service;

use crate::Body;
use crate::meter::{Slot, outcome};
use crate::server::{BoxFuture, Config, Server, Summary, sealed};
use crate::status::method_not_allowed;

type Route<B> =
    Arc<dyn Fn(Request<B>) -> BoxFuture<Result<Response<Body>, Infallible>> + Send + Sync>;

/// Routes requests to services by path and method, the way axum's `Router` does, for the
/// services of a kit HTTP listener.
///
/// - **Paths** are exact (`/sum`) or patterns with parameters (`/notes/{id}`, and a
///   catch-all last segment `/files/{*path}`), matched by `matchit` (axum's matcher): the
///   most specific route wins. A route's parameters reach its server, percent-decoded, as
///   [`PathParams`] in the request's extensions.
/// - **Methods**: a path routed for some methods answers the others `405` with an `Allow`
///   header; `HEAD` is served by the path's `GET` route (with the body left out) unless it
///   has its own; `OPTIONS` is answered `204` with `Allow` unless routed.
/// - **Unknown paths** are answered `404`, or handed to a [fallback](Router::fallback).
/// - The router's own answers (`404`, `405`, `OPTIONS`) are JSON errors written by its
///   [error encoder](Router::error_encoder) and seen by its [finalizers](Router::finalizer),
///   like every kit server's answers.
/// - **tower services**: kit [`Server`]s and routers are always ready and are called
///   directly ([`route`](Router::route)); any other tower service is mounted with
///   [`route_service`](Router::route_service), which waits for `poll_ready` before each
///   call, so `ConcurrencyLimit`, `RateLimit`, `LoadShed` and the like work in front of a
///   route. A layer meant for every route wraps the router itself (it is a tower service).
///
/// Why not axum's `Router` itself: kit servers mount in it (`route_service`), but routing
/// addsvc's `/sum` through it measured 17% more instructions per request than this router
/// (callgrind, 22,634 against 19,348), about 5% of the request's CPU, mostly in per-request
/// allocations (a boxed body, a params extension, a clone of the route). This router keeps
/// a request to a kit server at one boxed future and inserts no extension for a route
/// without parameters.
///
/// ```
/// use http::Method;
/// use kit::{endpoint_fn, Context, Error};
/// use kit_http::{json, PathParams, Router, Server};
///
/// let echo = endpoint_fn(|_ctx: Context, v: serde_json::Value| async move { Ok::<_, Error>(v) });
/// let get_note = endpoint_fn(|_ctx: Context, id: u64| async move { Ok::<_, Error>(id) });
/// let router = Router::new()
///     .route(Method::POST, "/echo", Server::new(echo, json::decode_request, json::encode_response))
///     .route(
///         Method::GET,
///         "/notes/{id}",
///         Server::new(
///             get_note,
///             |parts: &http::request::Parts, _body| PathParams::of(parts).parse::<u64>("id"),
///             json::encode_response,
///         ),
///     );
/// # let _ = router;
/// ```
pub struct Router<B = Incoming> {
    inner: Arc<Inner<B>>,
}

struct Inner<B> {
    /// Paths without parameters, compared whole: a service has a handful, and a scan of
    /// them costs less than a tree walk.
    exact: Vec<(Box<str>, usize)>,
    /// Patterns with parameters.
    matcher: matchit::Router<usize>,
    paths: Vec<PathRoutes<B>>,
    fallback: Option<Route<B>>,
    config: Config,
    /// The metrics of the requests no route answers: the router's own answers and the
    /// fallback's.
    other: Slot,
    /// The names of the transport metrics, once turned on.
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::ServerMetrics>,
}

impl<B> Inner<B> {
    /// The index of the routes of `path`, and its parameters if its pattern has any
    /// (`Some(None)` when one does not decode).
    fn find(&self, path: &str) -> Option<(usize, Option<Option<PathParams>>)> {
        if let Some((_, index)) = self.exact.iter().find(|(p, _)| **p == *path) {
            return Some((*index, None));
        }
        let matched = self.matcher.at(path).ok()?;
        let params = (!matched.params.is_empty()).then(|| decode_params(&matched.params));
        Some((*matched.value, params))
    }
}

/// The routes of one path pattern, by method.
struct PathRoutes<B> {
    pattern: Box<str>,
    methods: Vec<(Method, Route<B>, Slot)>,
    /// The `Allow` header of the path: its methods, `HEAD` if it has `GET`, and `OPTIONS`.
    allow: HeaderValue,
}

/// The parameters of the route a request matched (`{id}` in `/notes/{id}`), percent-decoded,
/// in the request's extensions. Routes without parameters carry none.
///
/// ```
/// use kit_http::PathParams;
///
/// let parts = http::Request::new(()).into_parts().0; // a request no route matched
/// let params = PathParams::of(&parts);
/// assert_eq!(params.get("id"), None);
/// let err = params.parse::<u64>("id").unwrap_err();
/// assert_eq!(err.message(), "missing path parameter id");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams {
    params: Vec<(Box<str>, String)>,
}

impl PathParams {
    /// The parameters of the request with head `parts` (empty when none were matched).
    pub fn of(parts: &request::Parts) -> &PathParams {
        static NONE: PathParams = PathParams { params: Vec::new() };
        parts.extensions.get::<PathParams>().unwrap_or(&NONE)
    }

    /// The value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| **key == *name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of the parameter `name`, parsed: an `InvalidArgument` error (HTTP `400`)
    /// naming the parameter if it is missing or does not parse.
    pub fn parse<T>(&self, name: &str) -> Result<T, Error>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        let value = self
            .get(name)
            .ok_or_else(|| Error::invalid_argument(format!("missing path parameter {name}")))?;
        value.parse().map_err(|err| {
            Error::invalid_argument(format!("invalid path parameter {name} {value:?}: {err}"))
        })
    }

    /// Every parameter, in the order of the pattern.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (&**k, v.as_str()))
    }
}

/// Services the router calls without waiting for `poll_ready`, because they are always
/// ready: kit's [`Server`] and [`Router`].
pub trait AlwaysReady: sealed::Sealed {}

impl<H> AlwaysReady for Server<H> {}
impl<B> sealed::Sealed for Router<B> {}
impl<B> AlwaysReady for Router<B> {}

impl Router {
    /// A router with no routes, for hyper's request bodies (what [`serve`](crate::serve)
    /// hands it). For another body type, start from `Router::<B>::default()`.
    pub fn new() -> Self {
        Router::default()
    }
}

impl<B: Send + 'static> Router<B> {
    /// Sends `method` requests for `path` (exact, or a pattern such as `/notes/{id}`) to
    /// `service`: a kit [`Server`] (or [`Router`]), called directly since it is always
    /// ready. Other tower services go through [`route_service`](Router::route_service).
    ///
    /// # Panics
    /// If the router has been cloned already, the same method and path are routed twice,
    /// or the pattern is invalid or conflicts with another (see `matchit`).
    pub fn route<S>(self, method: Method, path: &str, service: S) -> Self
    where
        S: Service<
                Request<B>,
                Response = Response<Body>,
                Error = Infallible,
                Future = BoxFuture<Result<Response<Body>, Infallible>>,
            > + AlwaysReady
            + Clone
            + Send
            + Sync
            + 'static,
    {
        let slot = Slot::default();
        let mut service = service;
        service.attach_metrics(slot.clone());
        service.attach_route(path);
        self.add(
            method,
            path,
            Arc::new(move |request| service.clone().call(request)),
            slot,
        )
    }

    /// Sends `method` requests for `path` to any tower `service` of HTTP requests: each
    /// call waits for the service's `poll_ready` first (on a clone, as axum does), and its
    /// future is boxed.
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
        let slot = Slot::default();
        self.add(method, path, ready_then_call(service, slot.clone()), slot)
    }

    /// Hands requests for paths no route matches to `service` (default: a `404` JSON error).
    pub fn fallback<S>(mut self, service: S) -> Self
    where
        S: Service<Request<B>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let inner = self.inner_mut();
        inner.fallback = Some(ready_then_call(service, inner.other.clone()));
        self
    }

    fn add(mut self, method: Method, path: &str, route: Route<B>, slot: Slot) -> Self {
        let inner = self.inner_mut();
        let index = match inner.paths.iter().position(|p| *p.pattern == *path) {
            Some(index) => index,
            None => {
                let index = inner.paths.len();
                if path.contains('{') {
                    if let Err(err) = inner.matcher.insert(path, index) {
                        panic!("cannot route {path}: {err}");
                    }
                } else {
                    inner.exact.push((path.into(), index));
                }
                inner.paths.push(PathRoutes {
                    pattern: path.into(),
                    methods: Vec::new(),
                    allow: HeaderValue::from_static("OPTIONS"),
                });
                index
            }
        };
        let routes = &inner.paths[index];
        assert!(
            !routes.methods.iter().any(|(m, ..)| *m == method),
            "{method} {path} is routed twice"
        );
        #[cfg(feature = "metrics")]
        if let Some(names) = &inner.metrics {
            slot.set(names.route("http", format!("{method} {path}")));
        }
        let routes = &mut inner.paths[index];
        routes.methods.push((method, route, slot));
        routes.allow = allow_header(&routes.methods);
        self
    }

    /// Replaces the encoder of the router's own `404` and `405` answers (default:
    /// [`encode_error`](crate::server::encode_error)).
    pub fn error_encoder(
        mut self,
        f: impl Fn(&Context, &Error) -> Response<Body> + Send + Sync + 'static,
    ) -> Self {
        self.inner_mut().config.error_encoder = Arc::new(f);
        self
    }

    /// Adds a function that may change the head of the router's own answers (`404`, `405`,
    /// `OPTIONS`).
    pub fn after(
        mut self,
        f: impl Fn(&Context, &mut response::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.inner_mut().config.after.push(Arc::new(f));
        self
    }

    /// Adds a function that sees the router's own answers (`404`, `405`, `OPTIONS`), as a
    /// [`Server`]'s finalizers see its answers.
    pub fn finalizer(mut self, f: impl Fn(&Context, &Summary<'_>) + Send + Sync + 'static) -> Self {
        self.inner_mut().config.finalizer.push(Arc::new(f));
        self
    }

    /// Records every request the router answers in the transport metrics `names` (feature
    /// `metrics`), as transport `http`: those of each route as its method and pattern
    /// (`route="POST /sum"`), all others (unknown paths, refused methods, `OPTIONS`, the
    /// fallback's) as `route="other"`. See [`metrics`](crate::metrics). Routes added later
    /// are recorded too; the series are registered with the recorder installed now (or
    /// when the route is added).
    ///
    /// A kit [`Server`] mounted with [`route`](Router::route) records its requests itself,
    /// at no more cost than an atomic update or two; another service (mounted with
    /// [`route_service`](Router::route_service), or the fallback) is recorded around its
    /// future, by its answer's status. A nested router records nothing for the outer one.
    ///
    /// # Panics
    /// If the router has been cloned already.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, names: &crate::metrics::ServerMetrics) -> Self {
        let inner = self.inner_mut();
        for routes in &inner.paths {
            for (method, _, slot) in &routes.methods {
                slot.set(names.route("http", format!("{method} {}", routes.pattern)));
            }
        }
        inner.other.set(names.other("http"));
        inner.metrics = Some(names.clone());
        self
    }

    fn inner_mut(&mut self) -> &mut Inner<B> {
        Arc::get_mut(&mut self.inner).expect("configure a Router before cloning it")
    }

    /// An answer of the router's own, through its hooks.
    fn own_answer(
        &self,
        request: Request<B>,
        result: Result<Response<Body>, Error>,
        allow: Option<&HeaderValue>,
        route: Option<&str>,
    ) -> BoxFuture<Result<Response<Body>, Infallible>> {
        let meter = self.inner.other.begin();
        let (parts, _body) = request.into_parts();
        if let Some(meter) = meter {
            meter.finish(outcome(&result));
        }
        // With a span bridge, the router's own answers have server spans too, named after
        // the route when a path matched (the method was refused).
        // An unsampled request gets none (it would not be exported).
        let span = kit::trace::span::bridge().and_then(|bridge| {
            let incoming =
                crate::server::request_trace(&parts.headers, self.inner.config.trace_formats);
            if !bridge.may_sample(incoming.as_ref()) {
                return None;
            }
            let peer = crate::server::connection_peer(&parts);
            let span = crate::span::http_server(&parts, route, peer.as_deref());
            kit::trace::span::start_server(&span, incoming);
            Some(span)
        });
        let failure = span
            .as_ref()
            .and(result.as_ref().err())
            .map(|err| err.message().to_owned());
        let response =
            self.inner
                .config
                .finish(&Context::background(), None, &parts, result, allow.cloned());
        if let Some(span) = span {
            crate::span::http_server_answered(&span, response.status(), failure.as_deref());
        }
        Box::pin(std::future::ready(Ok(response)))
    }
}

/// A route that waits for `service`'s `poll_ready` (on a clone) before each call, recorded
/// in the metrics `slot` will hold by its answer's status.
fn ready_then_call<S, B>(service: S, slot: Slot) -> Route<B>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    Arc::new(move |request| {
        let mut service = service.clone();
        let meter = slot.begin();
        Box::pin(async move {
            poll_fn(|cx| service.poll_ready(cx)).await?;
            let response = service.call(request).await?;
            if let Some(meter) = meter {
                meter.finish(crate::meter::status_outcome(response.status()));
            }
            Ok(response)
        })
    })
}

/// The `Allow` value of a path with `methods`.
fn allow_header<R>(methods: &[(Method, R, Slot)]) -> HeaderValue {
    let mut names: Vec<&str> = methods.iter().map(|(m, ..)| m.as_str()).collect();
    if names.contains(&"GET") && !names.contains(&"HEAD") {
        names.push("HEAD");
    }
    if !names.contains(&"OPTIONS") {
        names.push("OPTIONS");
    }
    HeaderValue::from_str(&names.join(", ")).expect("method names are valid header values")
}

/// Percent-decodes matched parameters; `None` if one is not UTF-8 once decoded.
fn decode_params(params: &matchit::Params<'_, '_>) -> Option<PathParams> {
    let params = params
        .iter()
        .map(|(key, value)| {
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .ok()?
                .into_owned();
            Some((Box::from(key), value))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(PathParams { params })
}

/// Answers a `HEAD` request with its `GET` route's answer, without the body (hyper would
/// not send it, but the length stays the `GET` answer's).
async fn without_body(
    answer: BoxFuture<Result<Response<Body>, Infallible>>,
) -> Result<Response<Body>, Infallible> {
    let response = answer.await?;
    let (mut parts, body) = response.into_parts();
    if let Some(length) = body.size_hint().exact() {
        parts
            .headers
            .entry(CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(length));
    }
    Ok(Response::from_parts(parts, Body::default()))
}

impl<B: Send + 'static> Default for Router<B> {
    fn default() -> Self {
        Router {
            inner: Arc::new(Inner {
                exact: Vec::new(),
                matcher: matchit::Router::new(),
                paths: Vec::new(),
                fallback: None,
                config: Config::default(),
                other: Slot::default(),
                #[cfg(feature = "metrics")]
                metrics: None,
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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let inner = &*self.inner;
        let Some((index, params)) = inner.find(request.uri().path()) else {
            return match &inner.fallback {
                Some(fallback) => fallback(request),
                None => {
                    let path = request.uri().path().to_owned();
                    let err = Error::not_found(format!("no route for {path}"));
                    self.own_answer(request, Err(err), None, None)
                }
            };
        };
        let routes = &inner.paths[index];
        match params {
            None => {}
            Some(Some(params)) => {
                request.extensions_mut().insert(params);
            }
            Some(None) => {
                let err = Error::invalid_argument("path parameter is not valid UTF-8");
                return self.own_answer(request, Err(err), None, Some(&routes.pattern));
            }
        }
        let method = request.method();
        if let Some((_, route, _)) = routes.methods.iter().find(|(m, ..)| m == method) {
            return route(request);
        }
        if *method == Method::HEAD
            && let Some((_, route, _)) = routes.methods.iter().find(|(m, ..)| *m == Method::GET)
        {
            return Box::pin(without_body(route(request)));
        }
        if *method == Method::OPTIONS {
            let mut response = Response::new(Body::default());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response.headers_mut().insert(ALLOW, routes.allow.clone());
            return self.own_answer(request, Ok(response), None, Some(&routes.pattern));
        }
        let err = method_not_allowed(method, request.uri().path());
        let allow = routes.allow.clone();
        self.own_answer(request, Err(err), Some(&allow), Some(&routes.pattern))
    }
}

impl<B> Clone for Router<B> {
    fn clone(&self) -> Self {
        Router {
            inner: self.inner.clone(),
        }
    }
}

impl<B> fmt::Debug for Router<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut routes: Vec<String> = self
            .inner
            .paths
            .iter()
            .flat_map(|p| {
                p.methods
                    .iter()
                    .map(move |(m, ..)| format!("{m} {}", p.pattern))
            })
            .collect();
        routes.sort();
        f.debug_struct("Router")
            .field("routes", &routes)
            .field("fallback", &self.inner.fallback.is_some())
            .finish()
    }
}
