//! Deadlines for calls.
//!
//! [`Timeout`] narrows the context's deadline to at most its duration from now (an earlier
//! deadline set by the caller stays) and runs the inner endpoint under
//! [`Context::run`](crate::Context::run): the call ends with `DeadlineExceeded` as soon as
//! the deadline passes, or `Cancelled` as soon as the context is cancelled, and the inner
//! future is dropped. Because the deadline lives in the context, clients below this
//! middleware send what is left of it on to the services they call.
//!
//! ```
//! use std::time::Duration;
//! use kit::{endpoint_fn, middleware::TimeoutLayer, Code, Context, Endpoint, Error};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let slow = endpoint_fn(|_ctx: Context, ()| async {
//!     tokio::time::sleep(Duration::from_secs(60)).await;
//!     Ok::<_, Error>(())
//! });
//! let bounded = TimeoutLayer::new(Duration::from_millis(10)).layer(slow);
//! let err = bounded.call(Context::background(), ()).await.unwrap_err();
//! assert_eq!(err.code(), Code::DeadlineExceeded);
//! # }
//! ```

mod endpoint;
mod layer;

pub use endpoint::Timeout;
pub use layer::TimeoutLayer;
