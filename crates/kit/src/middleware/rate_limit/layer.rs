use tower_layer::Layer;

use super::endpoint::Mode;
use super::{RateLimit, RateLimited};

/// Wraps endpoints in [`RateLimited`]; every endpoint it wraps shares its limit.
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limit: RateLimit,
    mode: Mode,
}

impl RateLimitLayer {
    /// Refuses calls over `limit` with `ResourceExhausted` (`rate limit exceeded`).
    pub fn new(limit: impl Into<RateLimit>) -> Self {
        RateLimitLayer {
            limit: limit.into(),
            mode: Mode::Refuse,
        }
    }

    /// Holds calls over `limit` back until their permit is due, within their deadline.
    pub fn delaying(limit: impl Into<RateLimit>) -> Self {
        RateLimitLayer {
            limit: limit.into(),
            mode: Mode::Delay,
        }
    }
}

impl<E> Layer<E> for RateLimitLayer {
    type Service = RateLimited<E>;

    fn layer(&self, inner: E) -> RateLimited<E> {
        let limit = self.limit.clone();
        match self.mode {
            Mode::Refuse => RateLimited::new(inner, limit),
            Mode::Delay => RateLimited::delaying(inner, limit),
        }
    }
}
