//! Type-erased endpoints.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{Context, Endpoint, Error};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An [`Endpoint`] with its type erased: cloneable (a reference-count increment), storable
/// in structs and maps, at the price of one allocation per call for the boxed future.
///
/// Transports and service sets hold endpoints as `BoxEndpoint`s so that the middleware
/// chain in front of each can differ without changing their types.
pub struct BoxEndpoint<Req, Resp> {
    inner: Arc<dyn DynEndpoint<Req, Resp>>,
}

trait DynEndpoint<Req, Resp>: Send + Sync {
    fn call_boxed(&self, ctx: Context, req: Req) -> BoxFuture<'_, Result<Resp, Error>>;
}

impl<Req: 'static, E: Endpoint<Req>> DynEndpoint<Req, E::Response> for E {
    fn call_boxed(&self, ctx: Context, req: Req) -> BoxFuture<'_, Result<E::Response, Error>> {
        Box::pin(self.call(ctx, req))
    }
}

impl<Req: Send + 'static, Resp: 'static> BoxEndpoint<Req, Resp> {
    /// Boxes `endpoint`; the same as [`Endpoint::boxed`].
    pub fn new<E: Endpoint<Req, Response = Resp>>(endpoint: E) -> Self {
        BoxEndpoint {
            inner: Arc::new(endpoint),
        }
    }
}

impl<Req: 'static, Resp: 'static> Endpoint<Req> for BoxEndpoint<Req, Resp> {
    type Response = Resp;

    fn call(&self, ctx: Context, req: Req) -> impl Future<Output = Result<Resp, Error>> + Send {
        self.inner.call_boxed(ctx, req)
    }

    fn boxed(self) -> BoxEndpoint<Req, Resp> {
        self
    }
}

impl<Req, Resp> Clone for BoxEndpoint<Req, Resp> {
    fn clone(&self) -> Self {
        BoxEndpoint {
            inner: self.inner.clone(),
        }
    }
}

impl<Req, Resp> fmt::Debug for BoxEndpoint<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxEndpoint").finish_non_exhaustive()
    }
}
