//! An endpoint seen as a `tower::Service`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tower_service::Service;

use crate::{Context, Endpoint, Error};

/// A `tower::Service<(Context, Req)>` that calls an [`Endpoint`]; made by
/// [`Endpoint::into_service`].
///
/// It is always ready, clones share the endpoint, and its future is boxed because a tower
/// future must not borrow the service.
pub struct EndpointService<E> {
    endpoint: Arc<E>,
}

impl<E> EndpointService<E> {
    pub(crate) fn new(endpoint: E) -> Self {
        EndpointService {
            endpoint: Arc::new(endpoint),
        }
    }
}

impl<E, Req> Service<(Context, Req)> for EndpointService<E>
where
    E: Endpoint<Req>,
    Req: Send + 'static,
{
    type Response = E::Response;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<E::Response, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, (ctx, req): (Context, Req)) -> Self::Future {
        let endpoint = self.endpoint.clone();
        Box::pin(async move { endpoint.call(ctx, req).await })
    }
}

impl<E> Clone for EndpointService<E> {
    fn clone(&self) -> Self {
        EndpointService {
            endpoint: self.endpoint.clone(),
        }
    }
}

impl<E> fmt::Debug for EndpointService<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointService").finish_non_exhaustive()
    }
}
