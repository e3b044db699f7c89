use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::latencies::Latencies;
use crate::error::Classifier;
use crate::middleware::attempt::Attempt;
use crate::middleware::retry::RetryBudget;
use crate::{Context, Endpoint, Error};

/// An endpoint that sends a backup request when the first is slow; see the
/// [module docs](super). A [`HedgeLayer`](super::HedgeLayer) makes it.
#[derive(Clone)]
pub struct Hedge<E> {
    inner: E,
    delay: Delay,
    budget: RetryBudget,
    classifier: Arc<dyn Classifier>,
}

/// When to hedge.
#[derive(Clone)]
pub(super) enum Delay {
    Fixed(Duration),
    /// At a percentile of the endpoint's recent latencies.
    Tracked(Arc<Latencies>),
}

impl<E> Hedge<E> {
    pub(super) fn new(
        inner: E,
        delay: Delay,
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

    /// Counts the latency of an answer from an attempt started at `started`, when the
    /// delay is tracked.
    fn record<T>(&self, result: &Result<T, Error>, started: Option<Instant>) {
        if let (Delay::Tracked(latencies), Some(started), Ok(_)) = (&self.delay, started, result) {
            latencies.record(started.elapsed());
        }
    }

    /// The call's answer once attempt `done` answered `result` and `other` (whose future
    /// is `pending`) still runs: a retryable error waits for the other attempt's answer;
    /// anything else wins and the other attempt is cancelled.
    async fn settle<T, F>(
        &self,
        ctx: &Context,
        result: Result<T, Error>,
        (done, done_started): (Attempt, Option<Instant>),
        (other, other_started): (Attempt, Option<Instant>),
        pending: Pin<&mut F>,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        if matches!(&result, Err(err) if self.classifier.classify(err).retryable) {
            drop(done);
            let result = pending.await;
            self.record(&result, other_started);
            other.answer(ctx);
            return result;
        }
        self.record(&result, done_started);
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
        let (delay, tracked) = match &self.delay {
            Delay::Fixed(delay) => (*delay, false),
            Delay::Tracked(latencies) => (latencies.delay(), true),
        };
        // The clock is read only to track latencies.
        let now = || tracked.then(Instant::now);
        let first_started = now();
        let primary = Attempt::start(&ctx, true);
        let mut first = std::pin::pin!(run(&self.inner, primary.ctx.clone(), req.clone()));
        tokio::select! {
            biased;
            result = &mut first => {
                self.record(&result, first_started);
                primary.answer(&ctx);
                return result;
            }
            () = tokio::time::sleep(delay) => {}
        }
        if ctx.err().is_some() || !self.budget.withdraw() {
            let result = first.await;
            self.record(&result, first_started);
            primary.answer(&ctx);
            return result;
        }
        let second_started = now();
        let backup = Attempt::start(&ctx, true);
        let mut second = std::pin::pin!(run(&self.inner, backup.ctx.clone(), req));
        tokio::select! {
            biased;
            result = &mut first => {
                let (done, other) = ((primary, first_started), (backup, second_started));
                self.settle(&ctx, result, done, other, second).await
            }
            result = &mut second => {
                let (done, other) = ((backup, second_started), (primary, first_started));
                self.settle(&ctx, result, done, other, first).await
            }
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
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}
