use tower_layer::Layer;

use super::{ConcurrencyLimit, ConcurrencyLimited};

/// Wraps endpoints in [`ConcurrencyLimited`]; every endpoint it wraps shares its limit.
#[derive(Clone, Debug)]
pub struct ConcurrencyLimitLayer {
    limit: ConcurrencyLimit,
}

impl ConcurrencyLimitLayer {
    /// Calls count against `limit`.
    pub fn new(limit: ConcurrencyLimit) -> Self {
        ConcurrencyLimitLayer { limit }
    }
}

impl<E> Layer<E> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimited<E>;

    fn layer(&self, inner: E) -> ConcurrencyLimited<E> {
        ConcurrencyLimited::new(inner, self.limit.clone())
    }
}
