use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use tracing::Level;

use crate::error::Classifier;
use crate::guard::DropGuard;
use crate::{Context, Endpoint, Error};

/// An endpoint that logs each call; see the [module docs](super).
#[derive(Clone)]
pub struct Logging<E> {
    inner: E,
    method: &'static str,
    success_level: Level,
    classifier: Arc<dyn Classifier>,
}

impl<E> Logging<E> {
    /// Wraps `inner`, naming it `method` in the events; successes log at `success_level`,
    /// errors by what `classifier` says of them.
    pub fn new(
        inner: E,
        method: &'static str,
        success_level: Level,
        classifier: Arc<dyn Classifier>,
    ) -> Self {
        Logging {
            inner,
            method,
            success_level,
            classifier,
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
        // When no event it could write is on, the call goes straight through: no clock read,
        // no guard. `enabled!` reads each callsite's cached interest.
        if !(tracing::enabled!(Level::WARN) || level_enabled(self.success_level)) {
            return self.inner.call(ctx, req).await;
        }
        let start = Instant::now();
        let method = self.method;
        // A call whose future is dropped before it finishes (its client went away, a
        // deadline or cancellation ended it higher up) is logged too.
        let abandoned = DropGuard::new(|| {
            tracing::info!(
                method,
                took = ?start.elapsed(),
                code = "CANCELLED",
                "call abandoned before it finished"
            );
        });
        let result = self.inner.call(ctx, req).await;
        abandoned.disarm();
        // The duration is read inside each macro, so only when its event is on: a success
        // at a level that is off costs no clock read.
        match &result {
            Ok(_) => match self.success_level {
                Level::ERROR => tracing::error!(method, took = ?start.elapsed(), "call"),
                Level::WARN => tracing::warn!(method, took = ?start.elapsed(), "call"),
                Level::INFO => tracing::info!(method, took = ?start.elapsed(), "call"),
                Level::DEBUG => tracing::debug!(method, took = ?start.elapsed(), "call"),
                Level::TRACE => tracing::trace!(method, took = ?start.elapsed(), "call"),
            },
            Err(err) if self.classifier.classify(err).failure => tracing::warn!(
                method,
                took = ?start.elapsed(),
                code = %err.code(),
                error = %err,
                "call failed"
            ),
            Err(err) => tracing::info!(
                method,
                took = ?start.elapsed(),
                code = %err.code(),
                error = %err,
                "call rejected"
            ),
        }
        result
    }
}

/// Whether events at `level` are on here (tracing's `enabled!` takes a constant level).
fn level_enabled(level: Level) -> bool {
    match level {
        Level::ERROR => tracing::enabled!(Level::ERROR),
        Level::WARN => tracing::enabled!(Level::WARN),
        Level::INFO => tracing::enabled!(Level::INFO),
        Level::DEBUG => tracing::enabled!(Level::DEBUG),
        Level::TRACE => tracing::enabled!(Level::TRACE),
    }
}

impl<E: fmt::Debug> fmt::Debug for Logging<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logging")
            .field("inner", &self.inner)
            .field("method", &self.method)
            .field("success_level", &self.success_level)
            .finish_non_exhaustive()
    }
}
