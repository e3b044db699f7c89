use std::fmt::Write as _;

use super::RetryPolicy;
use crate::error::may_retry;
use crate::middleware::attempt::Attempt;
use crate::{Context, Endpoint, Error};

/// An endpoint that retries failed calls as its [`RetryPolicy`] says; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct Retry<E> {
    inner: E,
    policy: RetryPolicy,
}

impl<E> Retry<E> {
    /// Wraps `inner` so that its calls are retried by `policy`.
    pub fn new(inner: E, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }
}

impl<Req, E> Endpoint<Req> for Retry<E>
where
    E: Endpoint<Req>,
    E::Response: Send,
    Req: Clone + Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        let policy = &self.policy;
        let ctx = match policy.timeout {
            Some(timeout) => ctx.with_timeout(timeout),
            None => ctx,
        };
        policy.budget.deposit();
        // The messages of the attempts before the last, allocated only once one fails.
        let mut earlier = String::new();
        let mut attempt = 1;
        loop {
            let current = Attempt::start(&ctx, false);
            let result = current
                .ctx
                .run(self.inner.call(current.ctx.clone(), req.clone()))
                .await;
            let err = match result {
                Ok(response) => {
                    current.answer(&ctx);
                    return Ok(response);
                }
                Err(err) => err,
            };
            let wait = policy.backoff.delay(attempt - 1, &policy.jitter);
            let retry = attempt < policy.max_attempts
                && may_retry(&*policy.classifier, &err, policy.idempotent)
                && ctx.remaining().is_none_or(|left| wait < left)
                && policy.on_retry.as_ref().is_none_or(|f| f(attempt, &err))
                && policy.budget.withdraw();
            if !retry {
                current.answer(&ctx);
                return Err(summary(attempt, &earlier, err));
            }
            // A retried attempt's response metadata is dropped with it.
            drop(current);
            let waited = ctx.run(async {
                tokio::time::sleep(wait).await;
                Ok(())
            });
            if waited.await.is_err() {
                // Cancelled while waiting: the call ends with the last attempt's error.
                return Err(summary(attempt, &earlier, err));
            }
            if !earlier.is_empty() {
                earlier.push_str("; ");
            }
            earlier.push_str(err.message());
            attempt += 1;
        }
    }
}

/// The error of a call whose every attempt failed: the last attempt's, with a message that
/// lists every attempt's (`3 attempts failed: refused; refused; unavailable`), or says it
/// once when they all said the same (`3 attempts failed: no endpoints available`); the
/// error itself when there was only one.
fn summary(attempts: u32, earlier: &str, last: Error) -> Error {
    if attempts == 1 {
        return last;
    }
    let mut message = String::with_capacity(32 + earlier.len() + last.message().len());
    if earlier.split("; ").all(|m| m == last.message()) {
        let _ = write!(message, "{attempts} attempts failed: {}", last.message());
    } else {
        let _ = write!(
            message,
            "{attempts} attempts failed: {earlier}; {}",
            last.message()
        );
    }
    last.with_message(message)
}
