//! # kit
//!
//! kit is a toolkit for building microservices in Rust, in the spirit of Go kit: a service
//! author writes business logic, and kit supplies the transports, resilience and
//! observability around it. This crate is the core every other kit crate builds on; it is
//! small and depends only on tokio, tower's traits, `tracing` and `serde_json`.
//!
//! ## The model
//!
//! - **[`Endpoint`]**: one RPC. `call(&self, Context, Req) -> Result<Resp, Error>`. Servers
//!   implement endpoints, transports turn remote methods into endpoints for clients, and
//!   middleware wraps endpoints; [`endpoint_fn`] makes one from an async closure and
//!   [`BoxEndpoint`] erases the type.
//! - **[`Context`]**: request-scoped state: a deadline, cancellation, metadata that clients
//!   propagate as headers, and typed values. Immutable; `with_*` derives a child.
//! - **[`Error`]** and **[`Code`]**: one error type whose code (the gRPC code set) decides,
//!   through one table, what it becomes on every transport and how resilience middleware
//!   treats it.
//! - **[Middleware](middleware)**: a [`tower_layer::Layer`] from endpoint to endpoint,
//!   composed with [`middleware::chain`]. kit ships [`middleware::timeout`] and
//!   [`middleware::logging`] here.
//! - **[Drop guards](guard)** that notice calls abandoned mid-way (for finalizers, metrics).
//! - **[The runtime](runtime)** a service runs on, chosen by the CPUs it may use.
//! - **[Wire formats](wire)** shared by transports, such as the deadline header syntax.
//! - **[The tower bridge](service)**: [`Endpoint::into_service`] and [`service_endpoint`]
//!   convert to and from `tower::Service`, so tower's middleware applies to kit endpoints.
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
//! // Errors carry their classification to every transport.
//! let err = endpoint.call(ctx, (0, 0)).await.unwrap_err();
//! assert_eq!(err.code(), Code::InvalidArgument);
//! assert_eq!(err.code().http_status(), 400);
//! assert!(!err.counts_as_failure());
//! # }
//! ```
//!
//! ## The classification table
//!
//! | code | HTTP | gRPC | JSON-RPC | retryable | counts as failure |
//! |---|---|---|---|---|---|
//! | Cancelled | 499 | 1 | -32001 | no | no |
//! | Unknown | 500 | 2 | -32002 | no | yes |
//! | InvalidArgument | 400 | 3 | -32602 | no | no |
//! | DeadlineExceeded | 504 | 4 | -32004 | yes | yes |
//! | NotFound | 404 | 5 | -32005 | no | no |
//! | AlreadyExists | 409 | 6 | -32006 | no | no |
//! | PermissionDenied | 403 | 7 | -32007 | no | no |
//! | ResourceExhausted | 429 | 8 | -32008 | yes | yes |
//! | FailedPrecondition | 400 | 9 | -32009 | no | no |
//! | Aborted | 409 | 10 | -32010 | yes | no |
//! | OutOfRange | 400 | 11 | -32011 | no | no |
//! | Unimplemented | 501 | 12 | -32601 | no | no |
//! | Internal | 500 | 13 | -32603 | no | yes |
//! | Unavailable | 503 | 14 | -32014 | yes | yes |
//! | DataLoss | 500 | 15 | -32015 | no | yes |
//! | Unauthenticated | 401 | 16 | -32016 | no | no |
//!
//! See [`Code::class`] for the reasoning and [`Code::from_http_status`] for the way back.
//!
//! ## Where kit differs from tower and Go kit, and why
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
//!   an `http::Request` has. kit keeps Go's explicit argument, typed and immutable.
//! - **One error type.** Go kit returns `error` and leaves every service to write an error
//!   encoder per transport and a "Failer" convention for business errors; tower services
//!   each choose their own error type, boxed as soon as two layers meet. kit has one
//!   [`Error`] with a [`Code`], so transports map errors in both directions by themselves,
//!   retries and circuit breakers ask the same table what an error means, and a business
//!   error is simply one whose code is the caller's fault.

pub mod context;
pub mod endpoint;
pub mod error;
pub mod guard;
pub mod middleware;
pub mod runtime;
pub mod service;
pub mod wire;

pub use context::{CancelHandle, Context};
pub use endpoint::{BoxEndpoint, Endpoint, EndpointFn, endpoint_fn};
pub use error::{BoxError, Class, Code, Error};
pub use service::{EndpointService, ServiceEndpoint, service_endpoint};
