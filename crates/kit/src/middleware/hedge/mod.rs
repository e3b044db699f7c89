//! Hedged (backup) requests: a second attempt when the first is slow.
//!
//! Tail latency is often one slow instance, a lost packet or a pause, not a slow request:
//! sent again, the request usually comes back quickly. [`Hedge`] starts a call; if it has
//! not answered after a delay, fixed ([`HedgeLayer::new`]) or the 95th or 99th percentile
//! of the endpoint's recent latencies ([`HedgeLayer::percentile`]), it sends the same
//! request again and returns the first answer. The other attempt is cancelled
//! through its context (and its future dropped), so a callee that watches its deadline and
//! cancellation stops working on it.
//!
//! - **First answer wins**, unless it is an error the classifier calls retryable (by
//!   default by its code: `Unavailable`, ...): then the other attempt answers instead. A
//!   business error from either attempt is the answer. A call that fails before the delay
//!   is not hedged: retries are [`retry`](crate::middleware::retry)'s business, which can
//!   wrap a hedge.
//! - **Within a budget.** Each hedge draws on a
//!   [`RetryBudget`](crate::middleware::retry::RetryBudget) as a retry does (the layer
//!   has one of its own unless given one to share, e.g. with the endpoint's retries), so
//!   extra load stays bounded when the callee is slow for everyone; without budget, the
//!   call waits for its first attempt. Below a retry holding the same budget, give the
//!   hedge [`without_deposits`](crate::middleware::retry::RetryBudget::without_deposits)
//!   so that each call is counted once.
//! - **Only for idempotent calls.** A hedged call runs twice at the same time, so the layer
//!   must only wrap endpoints whose calls are safe to run twice (reads, idempotent writes):
//!   adding it is the assertion. Nothing at run time can know before the answer.
//! - **Response metadata.** When the caller's context belongs to a served call, each
//!   attempt gets a response slot of its own and only the winner's reaches the caller's
//!   ([`Context::merge_response`](crate::Context::merge_response)). Each attempt costs a
//!   child context with its own cancellation, and the request is cloned for the backup
//!   (`Req: Clone`).
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use kit::middleware;
//! use kit::{endpoint_fn, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! static CALLS: AtomicU32 = AtomicU32::new(0);
//! // The first request hits a stalled instance; the backup does not.
//! let lookup = endpoint_fn(|_ctx: Context, key: &'static str| async move {
//!     if CALLS.fetch_add(1, Ordering::Relaxed) == 0 {
//!         tokio::time::sleep(Duration::from_secs(30)).await;
//!     }
//!     Ok::<_, Error>(key.len())
//! });
//! let client = middleware::chain()
//!     .hedge(Duration::from_millis(20))
//!     .endpoint(lookup);
//! assert_eq!(client.call(Context::background(), "hello").await.unwrap(), 5);
//! assert_eq!(CALLS.load(Ordering::Relaxed), 2);
//! # }
//! ```

mod endpoint;
mod latencies;
mod layer;

pub use endpoint::Hedge;
pub use layer::HedgeLayer;
