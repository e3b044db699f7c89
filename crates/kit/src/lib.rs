//! # kit
//!
//! kit is a toolkit for building microservices in Rust, in the spirit of Go kit: a service
//! author writes business logic, and kit supplies the transports, resilience and
//! observability around it. This crate is the core every other kit crate builds on; it is
//! small and depends only on tokio (and tokio-util's cancellation token), tower's traits
//! (and tower's error types, to classify them), `tracing` and `serde_json`.
//!
//! ## The model
//!
//! - **[`Endpoint`]**: one RPC. `call(&self, Context, Req) -> Result<Resp, Error>`. Servers
//!   implement endpoints, transports turn remote methods into endpoints for clients, and
//!   middleware wraps endpoints; [`endpoint_fn`] makes one from an async closure and
//!   [`BoxEndpoint`] erases the type.
//! - **[`Context`]**: request-scoped state, both ways. In: a deadline, cancellation,
//!   metadata that clients propagate as headers, the connection the call came in on
//!   ([`Context::peer`]) and typed values. Out: response metadata and hints that the serving
//!   transport applies to its answer ([`Context::set_response_metadata`]). Immutable on the
//!   request side; `with_*` derives a child.
//! - **[`Error`]** and **[`Code`]**: one error type whose code (the gRPC code set) says what
//!   it means ([`Code::class`]: retryable, the callee's failure, the caller's fault), whose
//!   [`Delivery`](error::Delivery) says whether retrying could run the call twice, and which
//!   carries structured details for the caller. Transports map codes to their wire formats
//!   in both directions; middleware asks a [`Classifier`](error::Classifier).
//! - **[Middleware](middleware)**: a [`tower_layer::Layer`] from endpoint to endpoint,
//!   composed with [`middleware::chain`]. kit ships [`middleware::timeout`],
//!   [`middleware::logging`], [`middleware::circuit_breaker`], [`middleware::retry`],
//!   [`middleware::hedge`], [`middleware::concurrency`] and (features `rate-limit`,
//!   `metrics`) `middleware::rate_limit` and `middleware::metrics` here.
//! - **[Service discovery](sd)**: instancers that stream a service's instances from a
//!   registry, an endpointer that keeps an endpoint per instance, and balancers (round
//!   robin, random, power of two choices over peak-EWMA, with outlier ejection) that are
//!   endpoints themselves, with retries around them; the registries are the `kit-sd-*`
//!   crates.
//! - **[Shutdown](shutdown)**: the order a service stops in (not ready, drain delay, drain),
//!   watched by every listener and probe.
//! - **[Request ids](request_id)**: taken from callers, made when absent, propagated on.
//! - **[Drop guards](guard)** that notice calls abandoned mid-way (for finalizers, metrics).
//! - **[The runtime](runtime)** a service runs on, chosen by the CPUs it may use.
//! - **[Wire formats](wire)** shared by transports, such as the deadline header syntax.
//! - **[The tower bridge](mod@service)**: [`Endpoint::into_service`] and [`service_endpoint`]
//!   convert to and from `tower::Service`, so tower's middleware applies to kit endpoints.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rate-limit` | no | `middleware::rate_limit`, on [governor](https://docs.rs/governor) |
//! | `metrics` | no | `middleware::metrics` (request metrics, label-checked metric families), on the [metrics](https://docs.rs/metrics) facade |
//!
//! ## Example
//!
//! ```
//! use std::time::Duration;
//! use kit::{endpoint_fn, middleware, Code, Context, Endpoint, Error};
//!
//! // The business logic: a plain async function of the request.
//! async fn sum(a: i64, b: i64) -> Result<i64, Error> {
//!     if a == 0 && b == 0 {
//!         return Err(Error::invalid_argument("can't sum two zeroes"));
//!     }
//!     Ok(a + b)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // The endpoint, wrapped in middleware.
//! let endpoint = middleware::chain()
//!     .logging("sum")
//!     .timeout(Duration::from_millis(500))
//!     .endpoint(endpoint_fn(|_ctx: Context, (a, b)| sum(a, b)));
//!
//! let ctx = Context::background().with_propagated("x-request-id", "42");
//! assert_eq!(endpoint.call(ctx.clone(), (1, 2)).await.unwrap(), 3);
//!
//! // Errors say what they mean; every transport maps the code to its wire format.
//! let err = endpoint.call(ctx, (0, 0)).await.unwrap_err();
//! assert_eq!(err.code(), Code::InvalidArgument);
//! assert!(err.code().class().caller_fault);
//! assert!(!err.is_retryable());
//! # }
//! ```
//!
//! ## Design notes
//!
//! ### The context
//!
//! Go's `context.Context` carries a deadline, cancellation and values one way, down the call
//! chain; a handler's answer carries everything that goes back. kit's endpoints return only
//! their response type, so what must go back beside it (a `Retry-After` on a rate-limit
//! error, a `201 Created`, a cookie, gRPC trailing metadata) goes through the context: the
//! server gives each call a context with a response slot of its own
//! ([`Context::with_call`]), shared by every clone of it, and applies what was set to the
//! answer, success or error. The request side stays immutable and cheap to clone (a deadline
//! inline, reference-counted lists for metadata and values, shared per-connection peer
//! info); the response side is one small allocation per served call, which also carries the
//! call's cancellation: the context is cancelled when the call is answered, when the client
//! goes away and when a shutdown's grace period ends (Go's request-context semantics), made
//! lazily so that a call nobody waits on costs no cancellation token. Middleware that makes
//! several attempts of one call gives each attempt its own slot and merges the winner's
//! ([`Context::merge_response`]).
//!
//! ### The error model and retry safety
//!
//! The core says what an error *means*, never what it looks like on a wire: [`Code::class`]
//! gives every code's default meaning (retryable, the callee's failure, the caller's fault),
//! and retry, breaker, metrics and logging middleware ask a
//! [`Classifier`](error::Classifier) that a client or endpoint may replace (Finagle's
//! response classifiers), e.g. to retry a particular conflict. Each transport crate owns its
//! mapping of codes to HTTP statuses, JSON-RPC codes or gRPC statuses and back, and sends the
//! code and [details](Error::with_details) along so that they survive a round trip.
//!
//! A retryable code is not enough to send a request again, because it may already have run.
//! Client transports say how far a failed request got ([`Delivery`](error::Delivery)): never
//! sent (connection refused, HTTP/2 `REFUSED_STREAM`, `GOAWAY` before processing: retried as
//! the class allows), maybe executed (connection lost after the request was written, timeout
//! while waiting: retried only for idempotent calls), or answered (classified by its code).
//! [`error::may_retry`] is the whole rule.
//!
//! ### Where kit differs from tower and Go kit, and why
//!
//! - **`&self` instead of `&mut self` + `poll_ready`.** A tower `Service` is called through
//!   `&mut self` after `poll_ready`, so sharing one means cloning it per request and its
//!   future cannot borrow it. An RPC endpoint has no back-pressure of its own to signal (rate
//!   limits and concurrency limits answer with an error or wait inside the call), so kit's
//!   endpoint is called through `&self`: one value serves every concurrent call, middleware
//!   holds its inner endpoint by value with no `Arc` or clone per call, and the future may
//!   borrow it, which keeps boxing off the hot path. Where back-pressure matters, the tower
//!   bridge gives you tower's model.
//! - **An explicit [`Context`] argument.** Go kit passes `context.Context` first for the same
//!   reason Go does: deadlines, cancellation and request metadata must reach every layer, and
//!   must not depend on the request type. tower leaves this to request extensions, which only
//!   an `http::Request` has. kit keeps Go's explicit argument, typed, and lets it carry the
//!   response side too (see above), as volo's context does.
//! - **One error type.** Go kit returns `error` and leaves every service to write an error
//!   encoder per transport and a "Failer" convention for business errors; tower services
//!   each choose their own error type, boxed as soon as two layers meet. kit has one
//!   [`Error`] with a [`Code`], so transports map errors in both directions by themselves,
//!   retries and circuit breakers ask the same classification what an error means, and a
//!   business error is simply one whose code is the caller's fault.

pub mod context;
pub mod endpoint;
pub mod error;
pub mod guard;
pub mod middleware;
mod random;
pub mod request_id;
pub mod request_scope;
pub mod runtime;
pub mod schema;
pub mod sd;
pub mod service;
pub mod shutdown;
pub mod trace;
pub mod wire;

pub use context::{CancelHandle, Context};
pub use endpoint::{BoxEndpoint, Endpoint, EndpointFn, endpoint_fn};
pub use error::{BoxError, Class, Code, Error};
pub use kit_macros::{message, service};
pub use service::{EndpointService, ServiceEndpoint, service_endpoint};

/// What code generated by kit's macros refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use prost;
    pub use serde;
    pub use serde_json;

    /// Whether a reply's error field is empty (then it is left out of JSON).
    pub fn is_empty(text: &str) -> bool {
        text.is_empty()
    }
}
