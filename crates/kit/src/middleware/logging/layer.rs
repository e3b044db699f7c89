use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;
use tracing::Level;

use super::Logging;
use crate::error::{ByCode, Classifier};

/// Wraps endpoints in [`Logging`].
#[derive(Clone)]
pub struct LoggingLayer {
    method: &'static str,
    success_level: Level,
    classifier: Arc<dyn Classifier>,
}

impl LoggingLayer {
    /// Logs calls of the method named `method`.
    pub fn new(method: &'static str) -> Self {
        LoggingLayer {
            method,
            success_level: Level::DEBUG,
            classifier: Arc::new(ByCode),
        }
    }

    /// The level of the event for a successful call (default `DEBUG`).
    pub fn success_level(mut self, level: Level) -> Self {
        self.success_level = level;
        self
    }

    /// Decides which errors are failures (logged at `WARN`) with `classifier` instead of by
    /// their code.
    pub fn classifier(mut self, classifier: impl Classifier) -> Self {
        self.classifier = Arc::new(classifier);
        self
    }
}

impl<E> Layer<E> for LoggingLayer {
    type Service = Logging<E>;

    fn layer(&self, inner: E) -> Logging<E> {
        Logging::new(
            inner,
            self.method,
            self.success_level,
            self.classifier.clone(),
        )
    }
}

impl fmt::Debug for LoggingLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggingLayer")
            .field("method", &self.method)
            .field("success_level", &self.success_level)
            .finish_non_exhaustive()
    }
}
