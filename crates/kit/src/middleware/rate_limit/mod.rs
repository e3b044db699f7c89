//! Rate limits: how many calls may start per unit of time (cargo feature `rate-limit`).
//!
//! A [`RateLimit`] is a token bucket: `RateLimit::per_second(100)` lets a call through every
//! 10 ms on average, and up to [`burst`](RateLimit::burst) calls at once after a quiet
//! spell. [`RateLimited`] (made by [`RateLimitLayer`] or the chain's methods) applies one to
//! an endpoint in one of two ways:
//!
//! - **refusing** ([`Chain::rate_limit`](super::Chain::rate_limit)): a call over the limit
//!   fails at once with `ResourceExhausted` and the message `rate limit exceeded`, which
//!   transports answer with HTTP 429 or gRPC `RESOURCE_EXHAUSTED`, with the response
//!   metadata `retry-after` (the whole seconds until a permit is due; an HTTP header, gRPC
//!   trailing metadata). For servers protecting themselves.
//! - **delaying** ([`Chain::rate_limit_delaying`](super::Chain::rate_limit_delaying)): a
//!   call over the limit waits for its permit. If the permit would come after the call's
//!   deadline, the call fails at once with `DeadlineExceeded` rather than wait in vain, and a
//!   cancelled context ends the wait with `Cancelled`. For clients keeping within a quota
//!   that a service gave them.
//!
//! A limit is a handle: clones share one bucket, so one limit can cover several endpoints,
//! or the same endpoint served on several listeners. [`RateLimit::keyed_by`] gives each key
//! found in the context (a client id from the metadata, the peer's address) its own bucket,
//! in a table of bounded size; see [`KeyedRateLimit`] for what happens when it is full.
//!
//! ```
//! use kit::middleware::{self, rate_limit::RateLimit};
//! use kit::{endpoint_fn, Code, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let echo = |_ctx: Context, s: String| async move { Ok::<_, Error>(s) };
//!
//! // One budget of 2 calls for both endpoints.
//! let limit = RateLimit::per_second(2);
//! let upper = middleware::chain().rate_limit(limit.clone()).endpoint(endpoint_fn(echo));
//! let lower = middleware::chain().rate_limit(limit).endpoint(endpoint_fn(echo));
//! assert!(upper.call(Context::background(), "a".into()).await.is_ok());
//! assert!(lower.call(Context::background(), "b".into()).await.is_ok());
//! let err = upper.call(Context::background(), "c".into()).await.unwrap_err();
//! assert_eq!((err.code(), err.message()), (Code::ResourceExhausted, "rate limit exceeded"));
//!
//! // 10 calls a second for each client, told apart by a metadata entry.
//! let per_client = RateLimit::per_second(10)
//!     .keyed_by(|ctx: &Context| ctx.metadata("x-client-id").map(str::to_owned));
//! let limited = middleware::chain().rate_limit(per_client.clone()).endpoint(endpoint_fn(echo));
//! let ctx = Context::background().with_metadata("x-client-id", "blue");
//! assert!(limited.call(ctx, "d".into()).await.is_ok());
//! assert_eq!(per_client.tracked_keys(), 1);
//! # }
//! ```
//!
//! ## Why governor
//!
//! The bucket is [governor](https://docs.rs/governor)'s GCRA, a well-kept implementation of
//! the generic cell rate algorithm: a bucket is one atomic word, checked without a lock, and
//! it says when the next permit is due, which the delaying mode needs. kit uses it with its
//! `std` feature only: kit reads the time from tokio's clock (the one the context's deadlines
//! use, and that tests can pause), so governor's `quanta` clock is left out; its `dashmap` and
//! `jitter` features are left out too, since the keyed table is kit's own (governor's keyed
//! stores grow without a bound) and the delaying mode sleeps on tokio's timer. governor is an
//! optional dependency, so that kit without the `rate-limit` feature stays light.
//!
//! ## Cost per call
//!
//! Nothing is allocated per call that goes through: a shared limit is one atomic
//! compare-and-swap; a keyed limit calls the key function (which allocates if it returns an
//! owned `String`, as in the example above; prefer keys such as an `IpAddr`), takes the
//! table's lock and looks the key up. A new key is inserted into the table (which allocates
//! when the table grows). Refusals allocate their error and their `retry-after` value, and a
//! refusal for a full table its message. A key's entry in a keyed table takes about 80 bytes
//! plus the key.

mod endpoint;
mod layer;
mod limit;

pub use endpoint::RateLimited;
pub use layer::RateLimitLayer;
pub use limit::{KeyedRateLimit, RateLimit};
