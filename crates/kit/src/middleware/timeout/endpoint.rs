use std::future::Future;
use std::time::Duration;

use crate::{Context, Endpoint, Error};

/// An endpoint whose calls end when their deadline passes; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct Timeout<E> {
    inner: E,
    timeout: Duration,
}

impl<E> Timeout<E> {
    /// Wraps `inner` so that calls get at most `timeout`.
    pub fn new(inner: E, timeout: Duration) -> Self {
        Timeout { inner, timeout }
    }
}

impl<Req, E> Endpoint<Req> for Timeout<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    fn call(
        &self,
        ctx: Context,
        req: Req,
    ) -> impl Future<Output = Result<E::Response, Error>> + Send {
        let ctx = ctx.with_timeout(self.timeout);
        async move { ctx.run(self.inner.call(ctx.clone(), req)).await }
    }
}
