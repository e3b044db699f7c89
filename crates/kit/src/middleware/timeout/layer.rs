use std::time::Duration;

use tower_layer::Layer;

use super::Timeout;

/// Wraps endpoints in [`Timeout`].
#[derive(Clone, Copy, Debug)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// Calls get at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        TimeoutLayer { timeout }
    }
}

impl<E> Layer<E> for TimeoutLayer {
    type Service = Timeout<E>;

    fn layer(&self, inner: E) -> Timeout<E> {
        Timeout::new(inner, self.timeout)
    }
}
