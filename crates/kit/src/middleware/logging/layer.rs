use tower_layer::Layer;
use tracing::Level;

use super::Logging;

/// Wraps endpoints in [`Logging`].
#[derive(Clone, Copy, Debug)]
pub struct LoggingLayer {
    method: &'static str,
    success_level: Level,
}

impl LoggingLayer {
    /// Logs calls of the method named `method`.
    pub fn new(method: &'static str) -> Self {
        LoggingLayer {
            method,
            success_level: Level::DEBUG,
        }
    }

    /// The level of the event for a successful call (default `DEBUG`).
    pub fn success_level(mut self, level: Level) -> Self {
        self.success_level = level;
        self
    }
}

impl<E> Layer<E> for LoggingLayer {
    type Service = Logging<E>;

    fn layer(&self, inner: E) -> Logging<E> {
        Logging::new(inner, self.method, self.success_level)
    }
}
