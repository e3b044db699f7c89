//! Internal spans: a span of the service's own around an endpoint, where asked.
//!
//! kit's servers and clients open a span per request and per call when request tracing is
//! on (see [`trace::span`](crate::trace::span)); work inside a service is one span unless the
//! service asks for more. [`Spanned`] opens an internal span named after the endpoint around
//! each call, a child of the span the call is made in (a server span, or another internal
//! span) and the parent of the calls made inside it. A failed call records its code as
//! `error.type` and sets the span's status to error with the message.
//!
//! The span is opened only while request tracing is on (a
//! [`SpanBridge`](crate::trace::span::SpanBridge) is installed); otherwise the middleware
//! calls the endpoint directly, at the cost of one atomic load.
//!
//! ```
//! use kit::{endpoint_fn, middleware, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let lookup = endpoint_fn(|_ctx: Context, key: String| async move { Ok::<_, Error>(key.len()) });
//! let lookup = middleware::chain().span("lookup").endpoint(lookup);
//! assert_eq!(lookup.call(Context::background(), "abc".to_owned()).await.unwrap(), 3);
//! # }
//! ```

mod endpoint;
mod layer;

pub use endpoint::Spanned;
pub use layer::SpanLayer;
