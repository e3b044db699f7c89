//! The bridge to tower, both ways.
//!
//! - [`Endpoint::into_service`](crate::Endpoint::into_service) turns an endpoint into a
//!   `tower::Service<(Context, Req)>`, so any tower middleware (concurrency limits, load
//!   shedding, buffering, hedging, ...) can wrap it.
//! - [`service_endpoint`] turns a cloneable `tower::Service<(Context, Req)>` back into an
//!   endpoint, so the wrapped result plugs into kit transports and kit middleware again.
//!
//! ```
//! use kit::{endpoint_fn, service_endpoint, Context, Endpoint, Error};
//! use tower::ServiceBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let echo = endpoint_fn(|_ctx: Context, s: String| async move { Ok::<_, Error>(s) });
//! let limited = ServiceBuilder::new()
//!     .concurrency_limit(8)
//!     .service(echo.into_service());
//! let endpoint = service_endpoint(limited);
//! assert_eq!(endpoint.call(Context::background(), "hi".into()).await.unwrap(), "hi");
//! # }
//! ```
//!
//! A service that takes a plain request rather than `(Context, Req)` adapts with tower's own
//! `ServiceBuilder::map_request(|(_ctx, req)| req)`; the context's deadline and cancellation
//! are still enforced by [`ServiceEndpoint`] around the call.

mod endpoint_service;
mod service_endpoint;

pub use endpoint_service::EndpointService;
pub use service_endpoint::{ServiceEndpoint, service_endpoint};
