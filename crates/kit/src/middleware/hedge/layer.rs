use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::Hedge;
use crate::error::{ByCode, Classifier};
use crate::middleware::retry::RetryBudget;

/// Wraps endpoints in [`Hedge`]; every endpoint it wraps shares its budget.
#[derive(Clone)]
pub struct HedgeLayer {
    delay: Duration,
    budget: RetryBudget,
    classifier: Arc<dyn Classifier>,
}

impl HedgeLayer {
    /// Sends a backup request for calls still running after `delay`, within a
    /// [`RetryBudget::default`] of the layer's own, letting the other attempt answer when
    /// one fails with an error [`ByCode`] calls retryable.
    ///
    /// Hedged calls run twice: add the layer only to endpoints whose calls are idempotent.
    pub fn new(delay: Duration) -> Self {
        HedgeLayer {
            delay,
            budget: RetryBudget::default(),
            classifier: Arc::new(ByCode),
        }
    }

    /// Draws hedges from `budget`, which may be shared with retries and other endpoints.
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Decides which failed attempts let the other answer with `classifier` instead of by
    /// their code.
    pub fn classifier(mut self, classifier: impl Classifier) -> Self {
        self.classifier = Arc::new(classifier);
        self
    }
}

impl<E> Layer<E> for HedgeLayer {
    type Service = Hedge<E>;

    fn layer(&self, inner: E) -> Hedge<E> {
        Hedge::new(
            inner,
            self.delay,
            self.budget.clone(),
            self.classifier.clone(),
        )
    }
}

impl fmt::Debug for HedgeLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HedgeLayer")
            .field("delay", &self.delay)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}
