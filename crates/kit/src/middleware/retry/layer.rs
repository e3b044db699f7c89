use tower_layer::Layer;

use super::{Retry, RetryPolicy};

/// Wraps endpoints in [`Retry`]; every endpoint it wraps shares the policy's budget.
#[derive(Clone, Debug, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// Retries calls as `policy` says.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryLayer { policy }
    }
}

impl<E> Layer<E> for RetryLayer {
    type Service = Retry<E>;

    fn layer(&self, inner: E) -> Retry<E> {
        Retry::new(inner, self.policy.clone())
    }
}
