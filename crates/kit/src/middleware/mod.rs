//! Middleware: functions from endpoint to endpoint.
//!
//! kit reuses [`tower_layer::Layer`] as its middleware trait: a layer takes an endpoint and
//! returns another endpoint wrapping it. [`Chain`] composes layers in reading order (the
//! first one added is the outermost, the first to see a request), like tower's
//! `ServiceBuilder`:
//!
//! ```
//! use std::time::Duration;
//! use kit::{endpoint_fn, middleware, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let sum = endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move { Ok::<_, Error>(a + b) });
//! let sum = middleware::chain()
//!     .logging("sum") // outermost: also logs timeouts
//!     .timeout(Duration::from_secs(1))
//!     .endpoint(sum);
//! assert_eq!(sum.call(Context::background(), (1, 2)).await.unwrap(), 3);
//! # }
//! ```
//!
//! What a production stack costs: a trivial endpoint behind a rate limit with room, a
//! circuit breaker, a retry with its budget, a timeout and a concurrency limit takes about
//! 200 ns per call more than the bare endpoint (1,490 instructions), slightly less than
//! tower's lighter stack of retry, timeout and concurrency limit through the bridge, and
//! allocates nothing per call (measured 2026-11-30 on a shared 2-CPU VM; `cargo bench -p
//! kit-benches --bench endpoint`, `benches/alloc-count.sh`; benches/README.md has the
//! figures and what they are made of).
//!
//! Modules:
//! - [`timeout`]: gives each call a deadline and ends it promptly when the deadline passes
//!   or the context is cancelled.
//! - [`logging`]: one structured `tracing` event per call (method, duration, error).
//! - [`span`]: an internal span per call, where asked, while request tracing is on.
//! - [`circuit_breaker`]: fails fast while a callee keeps failing, then probes it (gobreaker's,
//!   Hystrix's and Finagle's policies).
//! - [`retry`]: retries of failed calls that may be retried, with backoff, one deadline
//!   for all attempts and a retry budget shared by many calls.
//! - [`hedge`]: a backup request when a call is slow; the first answer wins.
//! - [`concurrency`]: at most N calls in flight (a bulkhead), queueing within the deadline
//!   or shedding load, with a fixed limit or one that adapts to latency (AIMD).
//! - `metrics` (feature `metrics`): request count, duration histogram and in-flight gauge
//!   per method through the `metrics` facade, and label-checked families for a service's
//!   own metrics.
//! - `rate_limit` (feature `rate-limit`): calls per unit of time, refused or delayed,
//!   shared by several endpoints or kept per client.

mod attempt;
pub mod circuit_breaker;
pub mod concurrency;
pub mod hedge;
pub mod logging;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "rate-limit")]
pub mod rate_limit;
pub mod retry;
pub mod span;
pub mod timeout;

use std::time::Duration;

pub use tower_layer::Layer;
use tower_layer::{Identity, Stack};

pub use circuit_breaker::{CircuitBreaker, CircuitBreakerLayer};
pub use concurrency::{ConcurrencyLimitLayer, ConcurrencyLimited};
pub use hedge::{Hedge, HedgeLayer};
pub use logging::{Logging, LoggingLayer};
#[cfg(feature = "metrics")]
pub use metrics::{InstrumentLayer, Instrumented};
#[cfg(feature = "rate-limit")]
pub use rate_limit::{RateLimitLayer, RateLimited};
pub use retry::{Retry, RetryLayer, RetryPolicy};
pub use span::{SpanLayer, Spanned};
pub use timeout::{Timeout, TimeoutLayer};

/// A chain of middleware under construction; start one with [`chain`].
#[derive(Clone, Debug)]
pub struct Chain<L> {
    layer: L,
}

/// Starts an empty middleware chain.
pub fn chain() -> Chain<Identity> {
    Chain {
        layer: Identity::new(),
    }
}

impl<L> Chain<L> {
    /// Adds `layer` inside the ones added so far.
    pub fn layer<T>(self, layer: T) -> Chain<Stack<T, L>> {
        Chain {
            layer: Stack::new(layer, self.layer),
        }
    }

    /// Adds a [`TimeoutLayer`].
    pub fn timeout(self, timeout: Duration) -> Chain<Stack<TimeoutLayer, L>> {
        self.layer(TimeoutLayer::new(timeout))
    }

    /// Adds a [`LoggingLayer`] for the method named `method`.
    pub fn logging(self, method: &'static str) -> Chain<Stack<LoggingLayer, L>> {
        self.layer(LoggingLayer::new(method))
    }

    /// Adds a [`SpanLayer`]: an internal span named `name` per call while request tracing
    /// is on.
    pub fn span(self, name: &'static str) -> Chain<Stack<SpanLayer, L>> {
        self.layer(SpanLayer::new(name))
    }

    /// Adds an [`InstrumentLayer`] recording the calls of `method` under `names`.
    #[cfg(feature = "metrics")]
    pub fn instrument(
        self,
        names: &metrics::RequestMetrics,
        method: &'static str,
    ) -> Chain<Stack<InstrumentLayer, L>> {
        self.layer(InstrumentLayer::new(names, method))
    }

    /// Adds a [`CircuitBreakerLayer`] reporting to `breaker` (its errors are failures by
    /// their code; for another classifier, add the layer with [`Chain::layer`]).
    pub fn circuit_breaker(self, breaker: CircuitBreaker) -> Chain<Stack<CircuitBreakerLayer, L>> {
        self.layer(CircuitBreakerLayer::new(breaker))
    }

    /// Adds a [`RetryLayer`] retrying as `policy` says.
    pub fn retry(self, policy: RetryPolicy) -> Chain<Stack<RetryLayer, L>> {
        self.layer(RetryLayer::new(policy))
    }

    /// Adds a [`HedgeLayer`] sending a backup request for calls still running after
    /// `delay`; only for idempotent calls.
    pub fn hedge(self, delay: Duration) -> Chain<Stack<HedgeLayer, L>> {
        self.layer(HedgeLayer::new(delay))
    }

    /// Adds a [`ConcurrencyLimitLayer`]: calls count against `limit`, which every endpoint
    /// the chain wraps shares.
    pub fn concurrency_limit(
        self,
        limit: concurrency::ConcurrencyLimit,
    ) -> Chain<Stack<ConcurrencyLimitLayer, L>> {
        self.layer(ConcurrencyLimitLayer::new(limit))
    }

    /// Adds a [`RateLimitLayer`] refusing calls over `limit` with `ResourceExhausted`
    /// (a [`RateLimit`](rate_limit::RateLimit) or a
    /// [`KeyedRateLimit`](rate_limit::KeyedRateLimit)).
    #[cfg(feature = "rate-limit")]
    pub fn rate_limit(
        self,
        limit: impl Into<rate_limit::RateLimit>,
    ) -> Chain<Stack<RateLimitLayer, L>> {
        self.layer(RateLimitLayer::new(limit))
    }

    /// Adds a [`RateLimitLayer`] holding calls over `limit` back until their permit is due,
    /// within their deadline.
    #[cfg(feature = "rate-limit")]
    pub fn rate_limit_delaying(
        self,
        limit: impl Into<rate_limit::RateLimit>,
    ) -> Chain<Stack<RateLimitLayer, L>> {
        self.layer(RateLimitLayer::delaying(limit))
    }

    /// Wraps `endpoint` in the chain.
    pub fn endpoint<E>(&self, endpoint: E) -> L::Service
    where
        L: Layer<E>,
    {
        self.layer.layer(endpoint)
    }

    /// The composed layer, to apply elsewhere (it is also a [`Layer`] itself).
    pub fn into_inner(self) -> L {
        self.layer
    }
}

impl<E, L: Layer<E>> Layer<E> for Chain<L> {
    type Service = L::Service;

    fn layer(&self, endpoint: E) -> L::Service {
        self.layer.layer(endpoint)
    }
}
