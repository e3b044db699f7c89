//! Shared pieces of kit's benchmarks.
//!
//! The criterion bench (`benches/endpoint.rs`) and the allocation counter
//! (`src/bin/endpoint_allocs.rs`) must measure exactly the same endpoints, so both build
//! them here. Every variant wraps the same business logic, [`sum`]: adding two `i64`s with
//! an overflow check, which is about as little work as an RPC can do, so what the numbers
//! show is the cost of the machinery around it.
//!
//! The variants ([`VARIANTS`] lists their names):
//!
//! | name | what is called |
//! |---|---|
//! | `bare` | the `endpoint_fn` itself |
//! | `chain5-async` | it behind 5 kit middlewares whose `call` is an `async fn` awaiting the inner call |
//! | `chain5-forward` | it behind 5 kit middlewares whose `call` returns the inner future as is |
//! | `boxed` | it as a [`BoxEndpoint`] |
//! | `tower-bridge` | `service_endpoint(endpoint.into_service())` |
//! | `tower-chain5` | the bridge with 5 pass-through tower layers around the service |
//! | `production` | it behind the stack a production client endpoint has: a rate limit with room, a circuit breaker, a retry with its budget, a timeout and a concurrency limit (kit's middleware) |
//! | `tower-production` | the nearest tower stack through the bridge: retry, timeout, concurrency limit (tower has no circuit breaker, and its rate limit cannot go behind the bridge) |
//! | `balanced-rr-N` | N instances of it (N = 3, 100, 10000) behind a `kit::sd::Balanced` round robin (an `Endpointer` over a fixed instancer) |
//! | `balanced-random-N` | the same with a random pick |
//! | `balanced-p2c-N` | the same with power of two choices over peak-EWMA latency |
//! | `instrumented-noop` | it behind kit's request metrics and logging middleware (`.instrument(..).logging(..)`), with no metrics recorder and no log subscriber (logging's level off) |
//! | `instrumented-prometheus` | the same with the metrics recording into kit-metrics's Prometheus recorder |
//!
//! The two kit middleware shapes bracket real ones: a middleware that does something
//! before or after the call (logging, metrics, timeouts) is an `async` fn or block around
//! the inner future, while one that only adjusts the arguments can hand the inner future back
//! unchanged. The tower layer is the cheapest a tower middleware can be: its future type
//! is the inner service's.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context as TaskContext, Poll};

use kit::{BoxEndpoint, Context, Endpoint, Error, endpoint_fn, middleware, service_endpoint};
use tower::ServiceBuilder;
use tower_layer::Layer;
use tower_service::Service;

/// The request of every variant: the two numbers to add.
pub type SumRequest = (i64, i64);

/// The names of the endpoint variants, in the order the reports list them.
pub const VARIANTS: [&str; 19] = [
    "bare",
    "chain5-async",
    "chain5-forward",
    "boxed",
    "tower-bridge",
    "tower-chain5",
    "production",
    "tower-production",
    "balanced-rr-3",
    "balanced-rr-100",
    "balanced-rr-10000",
    "balanced-random-3",
    "balanced-random-100",
    "balanced-random-10000",
    "balanced-p2c-3",
    "balanced-p2c-100",
    "balanced-p2c-10000",
    "instrumented-noop",
    "instrumented-prometheus",
];

/// The business logic: `a + b`, or `InvalidArgument` if the sum overflows.
pub async fn sum(_ctx: Context, (a, b): SumRequest) -> Result<i64, Error> {
    a.checked_add(b)
        .ok_or_else(|| Error::invalid_argument("integer overflow"))
}

/// The bare endpoint: [`sum`] through [`endpoint_fn`].
pub fn bare() -> impl Endpoint<SumRequest, Response = i64> + Clone {
    endpoint_fn(sum)
}

/// [`bare`] behind 5 [`NoopLayer`]s, composed with [`middleware::chain`].
pub fn chain5_async() -> impl Endpoint<SumRequest, Response = i64> {
    middleware::chain()
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .layer(NoopLayer)
        .endpoint(bare())
}

/// [`bare`] behind 5 [`ForwardLayer`]s, composed with [`middleware::chain`].
pub fn chain5_forward() -> impl Endpoint<SumRequest, Response = i64> {
    middleware::chain()
        .layer(ForwardLayer)
        .layer(ForwardLayer)
        .layer(ForwardLayer)
        .layer(ForwardLayer)
        .layer(ForwardLayer)
        .endpoint(bare())
}

/// [`bare`] with its type erased.
pub fn boxed() -> BoxEndpoint<SumRequest, i64> {
    bare().boxed()
}

/// [`bare`] turned into a tower service and back into an endpoint.
pub fn tower_bridge() -> impl Endpoint<SumRequest, Response = i64> {
    service_endpoint(bare().into_service())
}

/// [`bare`] turned into a tower service, wrapped in 5 [`NoopServiceLayer`]s with tower's
/// `ServiceBuilder`, and turned back into an endpoint.
pub fn tower_chain5() -> impl Endpoint<SumRequest, Response = i64> {
    let service = ServiceBuilder::new()
        .layer(NoopServiceLayer)
        .layer(NoopServiceLayer)
        .layer(NoopServiceLayer)
        .layer(NoopServiceLayer)
        .layer(NoopServiceLayer)
        .service(bare().into_service());
    service_endpoint(service)
}

/// [`bare`] behind kit's resilience middleware as a client endpoint would have it, outermost
/// first: a rate limit with room to spare, a circuit breaker (gobreaker's defaults), a retry
/// (the default policy, with its budget), a one-second timeout per attempt and a
/// concurrency limit of 1,024.
pub fn production() -> impl Endpoint<SumRequest, Response = i64> {
    use kit::middleware::circuit_breaker::{CircuitBreaker, Counting};
    use kit::middleware::concurrency::ConcurrencyLimit;
    use kit::middleware::rate_limit::RateLimit;
    use kit::middleware::retry::RetryPolicy;

    middleware::chain()
        .rate_limit(RateLimit::per_second(1_000_000_000).burst(1_000_000_000))
        .circuit_breaker(CircuitBreaker::new(Counting::default()))
        .retry(RetryPolicy::default())
        .timeout(std::time::Duration::from_secs(1))
        .concurrency_limit(ConcurrencyLimit::new(1024))
        .endpoint(bare())
}

/// [`bare`] through the bridge behind the nearest tower stack: a retry of up to 3 attempts,
/// a one-second timeout and a concurrency limit of 1,024. tower has no circuit breaker, its
/// retry has no budget unless one is written into the policy, and its `RateLimit` cannot be
/// cloned, so it cannot be shared nor called through the bridge (which clones the service per
/// call) without a `Buffer` (a channel and a task): the tower stack is lighter than kit's.
pub fn tower_production() -> impl Endpoint<SumRequest, Response = i64> {
    let service = ServiceBuilder::new()
        .retry(Attempts(3))
        .timeout(std::time::Duration::from_secs(1))
        .concurrency_limit(1024)
        .service(bare().into_service());
    service_endpoint(service)
}

/// The instance counts the balancer variants are measured at.
pub const BALANCED_SIZES: [usize; 3] = [3, 100, 10_000];

/// `instances` instances of [`bare`] behind a load balancer with `balancer`: the cost of
/// discovery's per-call work (the endpointer's snapshot, the pick, the instance's
/// statistics), and how it grows with the number of instances.
pub fn balanced<B: kit::sd::Balancer>(
    balancer: B,
    instances: usize,
) -> impl Endpoint<SumRequest, Response = i64> {
    use kit::sd::{Balanced, Endpointer, Instance, Instancer};

    let instancer = Instancer::fixed(
        (0..instances).map(|i| Instance::from(format!("10.0.{}.{}:1", i / 256, i % 256))),
    );
    let endpointer = Endpointer::new(&instancer, |_: &Instance| Ok(bare()));
    Balanced::new(endpointer, balancer)
}

/// [`bare`] behind kit's request metrics (`kit::middleware::metrics`: count, duration and
/// in-flight gauge, recording to whatever recorder is installed when it is made) and its
/// logging middleware, whose level is off when no subscriber is installed (as here).
pub fn instrumented() -> impl Endpoint<SumRequest, Response = i64> {
    let names = kit::middleware::metrics::RequestMetrics::new("bench");
    middleware::chain()
        .instrument(&names, "Sum")
        .logging("Sum")
        .endpoint(bare())
}

/// Installs kit-metrics's Prometheus recorder as the process's recorder (once; later calls
/// keep the first).
pub fn install_prometheus() {
    let _ = kit_metrics::prometheus::Prometheus::install();
}

/// tower's retry policy for [`tower_production`]: up to this many attempts in all.
#[derive(Clone, Copy, Debug)]
pub struct Attempts(pub usize);

impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for Attempts {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _req: &mut Req, result: &mut Result<Res, E>) -> Option<Self::Future> {
        match result {
            Err(_) if self.0 > 1 => {
                self.0 -= 1;
                Some(std::future::ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

/// One call as a request handler makes it: a fresh background context and a request the
/// optimiser cannot see through. Returns the sum, or 0 on error.
pub async fn call_once<E>(endpoint: &E) -> i64
where
    E: Endpoint<SumRequest, Response = i64>,
{
    let request = black_box((1, 2));
    let result = endpoint.call(Context::background(), request).await;
    black_box(result).unwrap_or(0)
}

/// Makes `calls` calls of the variant named `name` (one of [`VARIANTS`]) one after the
/// other; returns the sum of the results, or `None` for an unknown name.
pub async fn run_variant(name: &str, calls: u64) -> Option<i64> {
    match name {
        "bare" => Some(run(&bare(), calls).await),
        "chain5-async" => Some(run(&chain5_async(), calls).await),
        "chain5-forward" => Some(run(&chain5_forward(), calls).await),
        "boxed" => Some(run(&boxed(), calls).await),
        "tower-bridge" => Some(run(&tower_bridge(), calls).await),
        "tower-chain5" => Some(run(&tower_chain5(), calls).await),
        "production" => Some(run(&production(), calls).await),
        "tower-production" => Some(run(&tower_production(), calls).await),
        balanced_variant if balanced_variant.starts_with("balanced-") => {
            let (policy, instances) = balanced_variant["balanced-".len()..].rsplit_once('-')?;
            let instances = instances.parse().ok()?;
            match policy {
                "rr" => Some(run(&balanced(kit::sd::RoundRobin::new(), instances), calls).await),
                "random" => Some(run(&balanced(kit::sd::Random::new(), instances), calls).await),
                "p2c" => Some(run(&balanced(kit::sd::P2c::new(), instances), calls).await),
                _ => None,
            }
        }
        "instrumented-noop" => Some(run(&instrumented(), calls).await),
        "instrumented-prometheus" => {
            install_prometheus();
            Some(run(&instrumented(), calls).await)
        }
        _ => None,
    }
}

async fn run<E: Endpoint<SumRequest, Response = i64>>(endpoint: &E, calls: u64) -> i64 {
    let mut total = 0i64;
    for _ in 0..calls {
        total = total.wrapping_add(call_once(endpoint).await);
    }
    total
}

/// A kit middleware whose `call` is an `async fn` that only awaits the inner call: the
/// shape of a middleware with work before or after the call, minus the work.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopLayer;

impl<E> Layer<E> for NoopLayer {
    type Service = Noop<E>;

    fn layer(&self, inner: E) -> Noop<E> {
        Noop { inner }
    }
}

/// The endpoint made by [`NoopLayer`].
#[derive(Clone, Debug)]
pub struct Noop<E> {
    inner: E,
}

impl<Req: Send, E: Endpoint<Req>> Endpoint<Req> for Noop<E> {
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        self.inner.call(ctx, req).await
    }
}

/// A kit middleware whose `call` returns the inner endpoint's future unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardLayer;

impl<E> Layer<E> for ForwardLayer {
    type Service = Forward<E>;

    fn layer(&self, inner: E) -> Forward<E> {
        Forward { inner }
    }
}

/// The endpoint made by [`ForwardLayer`].
#[derive(Clone, Debug)]
pub struct Forward<E> {
    inner: E,
}

impl<Req, E: Endpoint<Req>> Endpoint<Req> for Forward<E> {
    type Response = E::Response;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<E::Response, Error>> + Send {
        self.inner.call(ctx, req)
    }
}

/// A tower layer whose service passes readiness and calls straight through.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopServiceLayer;

impl<S> Layer<S> for NoopServiceLayer {
    type Service = NoopService<S>;

    fn layer(&self, inner: S) -> NoopService<S> {
        NoopService { inner }
    }
}

/// The tower service made by [`NoopServiceLayer`].
#[derive(Clone, Debug)]
pub struct NoopService<S> {
    inner: S,
}

impl<S: Service<R>, R> Service<R> for NoopService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.inner.call(request)
    }
}

/// addsvc's `Sum` rules, as the raw baselines (`raw-hyper-sum`, `raw-tonic-sum`) apply them
/// without kit: both zero is an error, and so is a result outside the 32-bit range (Go
/// kit's rule).
pub fn go_kit_sum(a: i64, b: i64) -> Result<i64, &'static str> {
    const MAX: i64 = i32::MAX as i64;
    const MIN: i64 = i32::MIN as i64;
    if a == 0 && b == 0 {
        return Err("can't sum two zeroes");
    }
    if (b > 0 && a > MAX - b) || (b < 0 && a < MIN - b) {
        return Err("integer overflow");
    }
    Ok(a + b)
}

/// addsvc's HTTP `POST /sum` as a plain hyper service, with nothing of kit in between: the
/// baseline of `raw-hyper-sum` and `http-sum-inproc`. It reads the whole body, decodes
/// `{"a": i64, "b": i64}` with `serde_json`, applies Go kit's addsvc rules and writes the
/// JSON answer.
pub mod raw_http {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::{Method, Request, Response, StatusCode, header};
    use serde::{Deserialize, Serialize};

    /// Go kit's addsvc decodes missing fields as zero, hence the defaults.
    #[derive(Deserialize)]
    struct SumRequest {
        #[serde(default)]
        a: i64,
        #[serde(default)]
        b: i64,
    }

    #[derive(Serialize)]
    struct SumResponse {
        v: i64,
    }

    #[derive(Serialize)]
    struct ErrorResponse<'a> {
        error: &'a str,
    }

    /// The whole of addsvc's `POST /sum`, without kit; any other path is `404`.
    pub async fn handle<B: http_body::Body>(
        req: Request<B>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        if req.uri().path() != "/sum" {
            return Ok(error(StatusCode::NOT_FOUND, "not found"));
        }
        if req.method() != Method::POST {
            return Ok(error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
        }
        let body = match req.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return Ok(error(StatusCode::BAD_REQUEST, "reading the body failed")),
        };
        let SumRequest { a, b } = match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(_) => return Ok(error(StatusCode::BAD_REQUEST, "malformed JSON body")),
        };
        Ok(match crate::go_kit_sum(a, b) {
            Ok(v) => json(StatusCode::OK, &SumResponse { v }),
            Err(msg) => error(StatusCode::BAD_REQUEST, msg),
        })
    }

    /// A JSON error answer.
    fn error(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
        json(status, &ErrorResponse { error: msg })
    }

    fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Full<Bytes>> {
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
    }
}
