use std::fmt;

use tokio::time::Instant;

use super::RateLimit;
use super::limit::Refusal;
use crate::{Context, Endpoint, Error};

/// What a rate-limited endpoint does with a call that finds no permit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Refuses it with `ResourceExhausted`.
    Refuse,
    /// Waits for its permit, within the call's deadline.
    Delay,
}

/// An endpoint whose calls are rate limited; see the [module docs](super).
#[derive(Clone)]
pub struct RateLimited<E> {
    inner: E,
    limit: RateLimit,
    mode: Mode,
}

impl<E> RateLimited<E> {
    /// Wraps `inner`, refusing calls over `limit` with `ResourceExhausted`
    /// (`rate limit exceeded`).
    pub fn new(inner: E, limit: RateLimit) -> Self {
        RateLimited {
            inner,
            limit,
            mode: Mode::Refuse,
        }
    }

    /// Wraps `inner`, holding calls over `limit` back until their permit is due; a call whose
    /// permit would come after its deadline fails at once with `DeadlineExceeded`.
    pub fn delaying(inner: E, limit: RateLimit) -> Self {
        RateLimited {
            inner,
            limit,
            mode: Mode::Delay,
        }
    }

    /// Takes a permit for a call under `ctx`, waiting for it if the mode says so.
    async fn admit(&self, ctx: &Context) -> Result<(), Error> {
        loop {
            let wait = match (self.limit.check(ctx), self.mode) {
                (Ok(()), _) => return Ok(()),
                (Err(Refusal::Wait(wait)), Mode::Delay) => wait,
                (Err(refusal), _) => return Err(refusal.into_error(ctx)),
            };
            // Waiting past the deadline would only end in DeadlineExceeded: end now.
            if ctx
                .deadline()
                .is_some_and(|deadline| deadline.saturating_duration_since(Instant::now()) <= wait)
            {
                return Err(Error::deadline_exceeded());
            }
            // Others may take the permit first (nothing is reserved): check again once due.
            ctx.run(async {
                tokio::time::sleep(wait).await;
                Ok(())
            })
            .await?;
        }
    }
}

impl<Req, E> Endpoint<Req> for RateLimited<E>
where
    E: Endpoint<Req>,
    Req: Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        self.admit(&ctx).await?;
        self.inner.call(ctx, req).await
    }
}

impl<E: fmt::Debug> fmt::Debug for RateLimited<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .field("delaying", &(self.mode == Mode::Delay))
            .finish()
    }
}
