//! A `tower::Service` seen as an endpoint.

use std::fmt;
use std::future::Future;

use tower::ServiceExt;
use tower_service::Service;

use crate::{BoxError, Context, Endpoint, Error};

/// Makes an [`Endpoint`] from a cloneable `tower::Service<(Context, Req)>`.
///
/// Each call clones the service (the tower convention for sharing one), waits for it to be
/// ready and calls it, all under the context's deadline and cancellation. Errors become
/// [`Error`]s through [`Error::from_boxed`], so tower's own errors keep their meaning (a
/// tower timeout is `DeadlineExceeded`, load shedding `Unavailable`).
pub fn service_endpoint<S>(service: S) -> ServiceEndpoint<S> {
    ServiceEndpoint { service }
}

/// An [`Endpoint`] that calls a `tower::Service`; made by [`service_endpoint`].
#[derive(Clone)]
pub struct ServiceEndpoint<S> {
    service: S,
}

impl<S, Req> Endpoint<Req> for ServiceEndpoint<S>
where
    S: Service<(Context, Req)> + Clone + Send + Sync + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    Req: Send,
{
    type Response = S::Response;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<S::Response, Error>> + Send {
        let mut service = self.service.clone();
        async move {
            let work = async {
                let ready = service.ready().await.map_err(into_error)?;
                ready.call((ctx.clone(), req)).await.map_err(into_error)
            };
            ctx.run(work).await
        }
    }
}

fn into_error(err: impl Into<BoxError>) -> Error {
    Error::from_boxed(err.into())
}

impl<S> fmt::Debug for ServiceEndpoint<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceEndpoint")
            .field("service", &std::any::type_name::<S>())
            .finish()
    }
}
