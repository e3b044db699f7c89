//! Concurrency limits: how many calls may be in flight at once.
//!
//! A [`ConcurrencyLimit`] is a bulkhead: it keeps one endpoint (or a group of them) from
//! taking more than its share of a process's threads, memory or connections, and keeps an
//! overloaded callee from being sent more work than it can do. [`ConcurrencyLimited`] (made by
//! [`ConcurrencyLimitLayer`] or [`Chain::concurrency_limit`](super::Chain::concurrency_limit))
//! applies one to an endpoint, in one of two modes:
//!
//! - **queueing** ([`ConcurrencyLimit::new`]): a call over the limit waits for a place, in
//!   order of arrival. It fails with `DeadlineExceeded` at once if its deadline has already
//!   passed, or when the deadline passes while it waits, and with `Cancelled` when its
//!   context is cancelled; a call that gives up leaves the queue.
//! - **load shedding** ([`ConcurrencyLimit::shed_load`]): a call over the limit fails at once
//!   with `ResourceExhausted` (`overloaded: N calls in flight`), which transports answer with
//!   HTTP 429 or gRPC `RESOURCE_EXHAUSTED`, so that a client can try elsewhere rather than
//!   wait behind work the server cannot finish in time.
//!
//! The limit is fixed, or **adaptive** ([`ConcurrencyLimit::adaptive`]): it then follows the
//! callee's latency and failures by the [`Aimd`] rule, as Netflix's concurrency-limits
//! library does, finding how much concurrency the callee takes before it slows down;
//! [`ConcurrencyLimit::limit`] reads where it stands, for metrics.
//!
//! A call's place is held by its future: it is given back when the call ends, and when the
//! future is dropped before that (the client went away, a timeout above ended it).
//!
//! A limit is a handle: clones share it, and so do the endpoints a layer wraps. Give each
//! endpoint a limit of its own for a bulkhead per endpoint.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use kit::middleware::{self, concurrency::{Aimd, ConcurrencyLimit}};
//! use kit::{endpoint_fn, Code, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let work = |_ctx: Context, ()| async { Ok::<_, Error>(()) };
//!
//! // At most 10 calls at once; the others wait, up to their deadline.
//! let bulkhead = middleware::chain()
//!     .concurrency_limit(ConcurrencyLimit::new(10))
//!     .endpoint(endpoint_fn(work));
//! bulkhead.call(Context::background(), ()).await.unwrap();
//!
//! // A limit that adapts to the callee's latency, shedding the calls over it.
//! let limit = ConcurrencyLimit::adaptive(Aimd::new().latency_threshold(Duration::from_millis(250)))
//!     .shed_load();
//! let adaptive = middleware::chain().concurrency_limit(limit.clone()).endpoint(endpoint_fn(work));
//! adaptive.call(Context::background(), ()).await.unwrap();
//! assert_eq!(limit.limit(), 20); // the initial limit: one call was too few to learn from
//!
//! // A full limit refuses at once when shedding load.
//! let held = Arc::new(
//!     middleware::chain()
//!         .concurrency_limit(ConcurrencyLimit::new(1).shed_load())
//!         .endpoint(endpoint_fn(|_ctx: Context, ()| std::future::pending::<Result<(), Error>>())),
//! );
//! let first = tokio::spawn({
//!     let held = held.clone();
//!     async move { held.call(Context::background(), ()).await }
//! });
//! tokio::task::yield_now().await; // the first call takes the only place
//! let err = held.call(Context::background(), ()).await.unwrap_err();
//! assert_eq!((err.code(), err.message()), (Code::ResourceExhausted, "overloaded: 1 calls in flight"));
//! first.abort();
//! # }
//! ```
//!
//! ## Cost per call
//!
//! Nothing is allocated per call that goes through: a place is a semaphore permit (an atomic
//! operation when there is room; a waiter queued in the future itself otherwise), and an
//! adaptive limit reads the clock twice and updates the limit with atomic operations. A
//! refusal allocates its error and message.

mod endpoint;
mod layer;
mod limit;

pub use endpoint::ConcurrencyLimited;
pub use layer::ConcurrencyLimitLayer;
pub use limit::{Aimd, ConcurrencyLimit};
