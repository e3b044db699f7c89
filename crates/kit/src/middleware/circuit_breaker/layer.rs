use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::{CircuitBreaker, CircuitBreakerEndpoint};
use crate::error::{ByCode, Classifier};

/// Wraps endpoints in [`CircuitBreakerEndpoint`], all reporting to one [`CircuitBreaker`].
#[derive(Clone)]
pub struct CircuitBreakerLayer {
    breaker: CircuitBreaker,
    classifier: Arc<dyn Classifier>,
}

impl CircuitBreakerLayer {
    /// Guards endpoints with `breaker`; errors are failures by their code
    /// ([`Class::failure`](crate::Class::failure)).
    pub fn new(breaker: CircuitBreaker) -> Self {
        CircuitBreakerLayer {
            breaker,
            classifier: Arc::new(ByCode),
        }
    }

    /// Decides which errors are failures with `classifier` instead of by their code.
    pub fn classifier(mut self, classifier: impl Classifier) -> Self {
        self.classifier = Arc::new(classifier);
        self
    }
}

impl<E> Layer<E> for CircuitBreakerLayer {
    type Service = CircuitBreakerEndpoint<E>;

    fn layer(&self, inner: E) -> CircuitBreakerEndpoint<E> {
        CircuitBreakerEndpoint::new(inner, self.breaker.clone(), self.classifier.clone())
    }
}

impl fmt::Debug for CircuitBreakerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}
