use std::fmt;
use std::sync::Arc;

use super::CircuitBreaker;
use crate::error::Classifier;
use crate::guard::DropGuard;
use crate::{Context, Endpoint, Error};

/// An endpoint guarded by a [`CircuitBreaker`]; see the [module docs](super).
#[derive(Clone)]
pub struct CircuitBreakerEndpoint<E> {
    inner: E,
    breaker: CircuitBreaker,
    classifier: Arc<dyn Classifier>,
}

impl<E> CircuitBreakerEndpoint<E> {
    /// Wraps `inner` in `breaker`; `classifier` says which errors are failures.
    pub fn new(inner: E, breaker: CircuitBreaker, classifier: Arc<dyn Classifier>) -> Self {
        CircuitBreakerEndpoint {
            inner,
            breaker,
            classifier,
        }
    }

    /// The breaker this endpoint reports to.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl<Req, E> Endpoint<Req> for CircuitBreakerEndpoint<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        let permit = self.breaker.admit()?;
        // A call dropped before it ends (cancelled, timed out higher up) gives its probe
        // place back instead of holding the breaker half-open.
        let abandoned = DropGuard::new(|| self.breaker.abandon(permit));
        let result = self.inner.call(ctx, req).await;
        abandoned.disarm();
        let failure = match &result {
            Ok(_) => false,
            Err(err) => self.classifier.classify(err).failure,
        };
        self.breaker.record(permit, failure);
        result
    }
}

impl<E: fmt::Debug> fmt::Debug for CircuitBreakerEndpoint<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerEndpoint")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}
