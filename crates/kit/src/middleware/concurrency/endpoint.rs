use tokio::time::Instant;

use super::ConcurrencyLimit;
use crate::{Context, Endpoint, Error};

/// An endpoint with a limit on its calls in flight; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct ConcurrencyLimited<E> {
    inner: E,
    limit: ConcurrencyLimit,
}

impl<E> ConcurrencyLimited<E> {
    /// Wraps `inner` so that its calls count against `limit`.
    pub fn new(inner: E, limit: ConcurrencyLimit) -> Self {
        ConcurrencyLimited { inner, limit }
    }
}

impl<Req, E> Endpoint<Req> for ConcurrencyLimited<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        // Held until the call ends or its future is dropped.
        let _permit = self.limit.acquire(&ctx).await?;
        let Some(aimd) = self.limit.aimd() else {
            return self.inner.call(ctx, req).await;
        };
        let in_flight = self.limit.in_flight();
        let start = Instant::now();
        let result = self.inner.call(ctx, req).await;
        self.limit.record(aimd, start.elapsed(), &result, in_flight);
        result
    }
}
