//! One structured log event per call.
//!
//! [`Logging`] emits a `tracing` event when a call ends, with the fields `method`, `took`
//! (the call's duration) and, for failed calls, `code` and `error`. The level says who is to
//! blame, so that production logs stay quiet when all is well:
//!
//! | outcome | level |
//! |---|---|
//! | success | `DEBUG` (configurable with [`LoggingLayer::success_level`]) |
//! | an error that is not the callee's failure (business errors, not found, ...) | `INFO` |
//! | an error its [classifier](crate::error::Classifier) calls a failure (by default [by its code](crate::Code::class)) | `WARN` |
//! | a call dropped before it finished (its client went away, a deadline or a cancellation ended it higher up) | `INFO`, `code=CANCELLED` |
//!
//! Every event carries the fields of the spans it is logged in and, through kit-tracing, of
//! the [request being served](crate::request_scope): a call served by a kit server has the
//! server's `request_id`, `transport`, `route` and `peer` on its line.
//!
//! When none of the levels it could log at is on (`WARN`, and the success level), a call
//! goes straight to the endpoint: two cached interest checks, no clock read and no guard.
//!
//! ```
//! use kit::{endpoint_fn, middleware::LoggingLayer, Context, Endpoint, Error};
//! use tower_layer::Layer;
//!
//! let sum = endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move { Ok::<_, Error>(a + b) });
//! let logged = LoggingLayer::new("sum").success_level(tracing::Level::INFO).layer(sum);
//! # let _ = logged;
//! ```

mod endpoint;
mod layer;

pub use endpoint::Logging;
pub use layer::LoggingLayer;
