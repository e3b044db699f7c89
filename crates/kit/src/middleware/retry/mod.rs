//! Retries of failed calls.
//!
//! [`Retry`] calls its inner endpoint again when a call fails with an error that may be
//! retried, as its [`RetryPolicy`] says:
//!
//! - **Which errors.** Those the policy's [`Classifier`](crate::error::Classifier) calls
//!   retryable (by default by their code: `Unavailable`, `ResourceExhausted`, `Aborted`,
//!   `DeadlineExceeded`) **and** that the core's retry-safety rule allows
//!   ([`may_retry`](crate::error::may_retry)): a request that never reached the callee is
//!   sent again, one that may have run only if the call is idempotent. Business errors
//!   (`InvalidArgument`, `NotFound`, ...) are never retried.
//! - **How often.** At most [`max_attempts`](RetryPolicy::max_attempts) attempts, within one
//!   deadline for all attempts and waits together ([`timeout`](RetryPolicy::timeout), or the
//!   caller's, whichever is earlier; Go kit's `lb.Retry`). Each attempt runs with what is
//!   left of it; a wait that would pass it is not made.
//! - **When.** After a [`Backoff`]: exponential, with full jitter.
//! - **Within a budget.** Retries draw on a [`RetryBudget`] that many calls share (20% of
//!   the calls plus 10 retries per second by default, Finagle's), so that retries cannot
//!   multiply the load on a callee that is down; without budget, the call ends at once.
//! - **Unless told to stop.** [`on_retry`](RetryPolicy::on_retry) sees each retry before it
//!   is made and may end the call instead.
//!
//! A call whose attempts all failed ends with the last attempt's error (its code, delivery,
//! details and source) with a message listing every attempt's, oldest first:
//! `3 attempts failed: connection refused; connection refused; service unavailable`, or
//! with it once when every attempt's was the same (`3 attempts failed: connection
//! refused`). A call that ended after its first attempt ends with that attempt's error
//! unchanged.
//!
//! The request is cloned for each attempt (`Req: Clone`). When the caller's context
//! belongs to a served call, each attempt gets a response slot of its own and only the last
//! attempt's response metadata reaches the caller's ([`Context::merge_response`](crate::Context::merge_response)); that
//! slot, the message list and a `Clone` of the request are all the loop allocates.
//!
//! Put a [`timeout`](crate::middleware::timeout) *inside* the retry to bound each attempt:
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use kit::middleware::{self, retry::RetryPolicy};
//! use kit::{endpoint_fn, Code, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! static CALLS: AtomicU32 = AtomicU32::new(0);
//! // Refuses two connections, then answers.
//! let flaky = endpoint_fn(|_ctx: Context, n: u32| async move {
//!     match CALLS.fetch_add(1, Ordering::Relaxed) {
//!         0 | 1 => Err(Error::unavailable("connection refused")),
//!         _ => Ok(n * 2),
//!     }
//! });
//! let client = middleware::chain()
//!     .retry(RetryPolicy::default().timeout(Duration::from_secs(2)))
//!     .timeout(Duration::from_millis(500)) // per attempt
//!     .endpoint(flaky);
//! assert_eq!(client.call(Context::background(), 21).await.unwrap(), 42);
//!
//! // A business error is the caller's to fix: no retry, the error as it was.
//! let picky = middleware::chain()
//!     .retry(RetryPolicy::default())
//!     .endpoint(endpoint_fn(|_ctx: Context, ()| async {
//!         Err::<(), _>(Error::invalid_argument("no"))
//!     }));
//! let err = picky.call(Context::background(), ()).await.unwrap_err();
//! assert_eq!((err.code(), err.message()), (Code::InvalidArgument, "no"));
//! # }
//! ```

mod backoff;
mod budget;
mod endpoint;
mod layer;
mod policy;

pub(crate) use backoff::Jitter;
pub use backoff::{Backoff, Waits};
pub use budget::RetryBudget;
pub use endpoint::Retry;
pub use layer::RetryLayer;
pub use policy::RetryPolicy;
