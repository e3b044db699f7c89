use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Classifier;
use crate::middleware::attempt::Attempt;
use crate::middleware::retry::RetryBudget;
use crate::{Context, Endpoint, Error};

/// An endpoint that sends a backup request when the first is slow; see the
/// [module docs](super).
#[derive(Clone)]
pub struct Hedge<E> {
    inner: E,
    delay: Duration,
    budget: RetryBudget,
    classifier: Arc<dyn Classifier>,
}

impl<E> Hedge<E> {
    /// Wraps `inner` so that a call still running after `delay` is sent again, drawing on
    /// `budget`; an attempt's error that `classifier` calls retryable lets the other
    /// attempt answer instead.
    pub fn new(
        inner: E,
        delay: Duration,
        budget: RetryBudget,
        classifier: Arc<dyn Classifier>,
    ) -> Self {
        Hedge {
            inner,
            delay,
            budget,
            classifier,
        }
    }

    /// The call's answer once attempt `done` answered `result` and `other` (whose future
    /// is `pending`) still runs: a retryable error waits for the other attempt's answer;
    /// anything else wins and the other attempt is cancelled.
    async fn settle<T, F>(
        &self,
        ctx: &Context,
        result: Result<T, Error>,
        done: Attempt,
        other: Attempt,
        pending: Pin<&mut F>,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        if matches!(&result, Err(err) if self.classifier.classify(err).retryable) {
            drop(done);
            let result = pending.await;
            other.answer(ctx);
            return result;
        }
        done.answer(ctx);
        other.cancel();
        result
    }
}

impl<Req, E> Endpoint<Req> for Hedge<E>
where
    E: Endpoint<Req>,
    E::Response: Send,
    Req: Clone + Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        self.budget.deposit();
        let primary = Attempt::start(&ctx, true);
        let mut first = std::pin::pin!(run(&self.inner, primary.ctx.clone(), req.clone()));
        tokio::select! {
            biased;
            result = &mut first => {
                primary.answer(&ctx);
                return result;
            }
            () = tokio::time::sleep(self.delay) => {}
        }
        if ctx.err().is_some() || !self.budget.withdraw() {
            let result = first.await;
            primary.answer(&ctx);
            return result;
        }
        let backup = Attempt::start(&ctx, true);
        let mut second = std::pin::pin!(run(&self.inner, backup.ctx.clone(), req));
        tokio::select! {
            biased;
            result = &mut first => self.settle(&ctx, result, primary, backup, second).await,
            result = &mut second => self.settle(&ctx, result, backup, primary, first).await,
        }
    }
}

/// One attempt: `inner`'s call under `ctx`, ended when `ctx` is done.
async fn run<Req, E: Endpoint<Req>>(
    inner: &E,
    ctx: Context,
    req: Req,
) -> Result<E::Response, Error> {
    ctx.run(inner.call(ctx.clone(), req)).await
}

impl<E: std::fmt::Debug> std::fmt::Debug for Hedge<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hedge")
            .field("inner", &self.inner)
            .field("delay", &self.delay)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}
