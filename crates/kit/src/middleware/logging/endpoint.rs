use std::time::Instant;

use tracing::Level;

use crate::{Context, Endpoint, Error};

/// An endpoint that logs each call; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct Logging<E> {
    inner: E,
    method: &'static str,
    success_level: Level,
}

impl<E> Logging<E> {
    /// Wraps `inner`, naming it `method` in the events; successes log at `success_level`.
    pub fn new(inner: E, method: &'static str, success_level: Level) -> Self {
        Logging {
            inner,
            method,
            success_level,
        }
    }
}

impl<Req, E> Endpoint<Req> for Logging<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        let start = Instant::now();
        let result = self.inner.call(ctx, req).await;
        let took = start.elapsed();
        let method = self.method;
        match &result {
            Ok(_) => match self.success_level {
                Level::ERROR => tracing::error!(method, ?took, "call"),
                Level::WARN => tracing::warn!(method, ?took, "call"),
                Level::INFO => tracing::info!(method, ?took, "call"),
                Level::DEBUG => tracing::debug!(method, ?took, "call"),
                Level::TRACE => tracing::trace!(method, ?took, "call"),
            },
            Err(err) if err.counts_as_failure() => {
                tracing::warn!(method, ?took, code = %err.code(), error = %err, "call failed")
            }
            Err(err) => {
                tracing::info!(method, ?took, code = %err.code(), error = %err, "call rejected")
            }
        }
        result
    }
}
