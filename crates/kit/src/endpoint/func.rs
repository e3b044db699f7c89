//! Endpoints from async closures.

use std::fmt;
use std::future::Future;

use crate::{Context, Endpoint, Error};

/// Makes an endpoint from an async closure taking a [`Context`] and a request.
///
/// ```
/// use kit::{endpoint_fn, Context, Error};
///
/// let upper = endpoint_fn(|_ctx: Context, s: String| async move {
///     Ok::<_, Error>(s.to_uppercase())
/// });
/// # let _ = upper;
/// ```
pub fn endpoint_fn<F>(f: F) -> EndpointFn<F> {
    EndpointFn { f }
}

/// An [`Endpoint`] made from a closure by [`endpoint_fn`].
#[derive(Clone, Copy)]
pub struct EndpointFn<F> {
    f: F,
}

impl<F, Req, Fut, Resp> Endpoint<Req> for EndpointFn<F>
where
    F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, Error>> + Send,
{
    type Response = Resp;

    fn call(&self, ctx: Context, req: Req) -> impl Future<Output = Result<Resp, Error>> + Send {
        (self.f)(ctx, req)
    }
}

impl<F> fmt::Debug for EndpointFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}
