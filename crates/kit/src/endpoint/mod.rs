//! The endpoint: one RPC, the unit everything else in kit is built around.
//!
//! A server implements an [`Endpoint`] for each method of its service; a client gets one
//! per remote method from a transport; middleware wraps one endpoint in another. Because the
//! server side and the client side have the same type, the same middleware (timeouts,
//! logging, rate limits, circuit breakers, metrics) serves both.
//!
//! ```
//! use kit::{endpoint_fn, Context, Endpoint, Error};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let sum = endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move {
//!     a.checked_add(b).ok_or_else(|| Error::invalid_argument("integer overflow"))
//! });
//! assert_eq!(sum.call(Context::background(), (1, 2)).await.unwrap(), 3);
//!
//! // A boxed endpoint hides the concrete type and is cheap to clone.
//! let boxed = sum.boxed();
//! assert_eq!(boxed.clone().call(Context::background(), (2, 2)).await.unwrap(), 4);
//! # }
//! ```

mod boxed;
mod func;

pub use boxed::BoxEndpoint;
pub use func::{EndpointFn, endpoint_fn};

use std::future::Future;
use std::sync::Arc;

use crate::{Context, EndpointService, Error};

/// One RPC: takes a [`Context`] and a request, returns a response or an [`Error`].
///
/// It is called through `&self`, so one endpoint value serves any number of concurrent
/// calls without cloning, and the returned future may borrow it: a middleware holds its
/// inner endpoint by value and calls it in place. The context is an explicit argument rather
/// than a field of the request, so every layer sees the deadline and metadata without
/// knowing the request type.
pub trait Endpoint<Req>: Send + Sync + 'static {
    /// What a successful call returns.
    type Response;

    /// Performs the call.
    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<Self::Response, Error>> + Send;

    /// Erases the endpoint's type into a cloneable [`BoxEndpoint`] (one allocation per
    /// call for the boxed future).
    fn boxed(self) -> BoxEndpoint<Req, Self::Response>
    where
        Self: Sized,
        Req: Send + 'static,
        Self::Response: 'static,
    {
        BoxEndpoint::new(self)
    }

    /// Turns the endpoint into a [`tower::Service`](tower_service::Service) taking
    /// `(Context, Req)`, so that tower middleware can wrap it.
    fn into_service(self) -> EndpointService<Self>
    where
        Self: Sized,
    {
        EndpointService::new(self)
    }
}

impl<Req, E: Endpoint<Req>> Endpoint<Req> for Arc<E> {
    type Response = E::Response;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<Self::Response, Error>> + Send {
        (**self).call(ctx, req)
    }
}
