use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::Hedge;
use super::endpoint::Delay;
use super::latencies::Latencies;
use crate::error::{ByCode, Classifier};
use crate::middleware::retry::RetryBudget;

/// Wraps endpoints in [`Hedge`]; every endpoint it wraps shares its budget.
#[derive(Clone)]
pub struct HedgeLayer {
    delay: LayerDelay,
    budget: RetryBudget,
    classifier: Arc<dyn Classifier>,
}

/// When the endpoints a layer makes hedge.
#[derive(Clone, Copy, Debug)]
enum LayerDelay {
    Fixed(Duration),
    Percentile { percentile: f64, initial: Duration },
}

impl HedgeLayer {
    /// Sends a backup request for calls still running after `delay`, within a
    /// [`RetryBudget::default`] of the layer's own, letting the other attempt answer when
    /// one fails with an error [`ByCode`] calls retryable.
    ///
    /// Hedged calls run twice: add the layer only to endpoints whose calls are idempotent.
    pub fn new(delay: Duration) -> Self {
        HedgeLayer {
            delay: LayerDelay::Fixed(delay),
            budget: RetryBudget::default(),
            classifier: Arc::new(ByCode),
        }
    }

    /// Like [`new`](HedgeLayer::new), but hedges after `percentile` (0.99: the 99th) of the
    /// latencies of each endpoint's recent successful answers, tracked per endpoint, and
    /// after `initial` until 16 are known. The latency is an answer's own attempt's, in a
    /// histogram whose buckets are at most 25% wide (the delay is the top of its bucket),
    /// weighing the latest thousand or so answers most.
    ///
    /// # Panics
    ///
    /// If `percentile` is not between 0 and 1.
    pub fn percentile(percentile: f64, initial: Duration) -> Self {
        assert!(
            (0.0..=1.0).contains(&percentile),
            "a percentile is between 0 and 1"
        );
        HedgeLayer {
            delay: LayerDelay::Percentile {
                percentile,
                initial,
            },
            ..HedgeLayer::new(initial)
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
        let delay = match self.delay {
            LayerDelay::Fixed(delay) => Delay::Fixed(delay),
            LayerDelay::Percentile {
                percentile,
                initial,
            } => Delay::Tracked(Arc::new(Latencies::new(percentile, initial))),
        };
        Hedge::new(inner, delay, self.budget.clone(), self.classifier.clone())
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
