use std::fmt;
use std::sync::Arc;

use super::layer::Handles;
use crate::error::Classifier;
use crate::guard::DropGuard;
use crate::{Context, Endpoint, Error};
use quanta::Instant;

/// An endpoint that records each call's count, duration and the calls in flight; see the
/// [module docs](super). Made by [`InstrumentLayer`](super::InstrumentLayer).
#[derive(Clone)]
pub struct Instrumented<E> {
    inner: E,
    handles: Arc<Handles>,
    classifier: Arc<dyn Classifier>,
}

impl<E> Instrumented<E> {
    pub(super) fn new(inner: E, handles: Arc<Handles>, classifier: Arc<dyn Classifier>) -> Self {
        Instrumented {
            inner,
            handles,
            classifier,
        }
    }
}

impl Handles {
    fn finish(&self, success: bool, start: Instant) {
        self.in_flight.decrement(1.0);
        self.requests[usize::from(success)].increment(1);
        self.duration[usize::from(success)].record(start.elapsed().as_secs_f64());
    }
}

impl<Req, E> Endpoint<Req> for Instrumented<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        let handles = &*self.handles;
        handles.in_flight.increment(1.0);
        let start = Instant::now();
        // A call whose future is dropped before it finishes leaves the in-flight gauge and
        // counts as a call that did not succeed.
        let abandoned = DropGuard::new(|| handles.finish(false, start));
        let result = self.inner.call(ctx, req).await;
        abandoned.disarm();
        let success = match &result {
            Ok(_) => true,
            Err(err) => !self.classifier.classify(err).failure,
        };
        handles.finish(success, start);
        result
    }
}

impl<E: fmt::Debug> fmt::Debug for Instrumented<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumented")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
