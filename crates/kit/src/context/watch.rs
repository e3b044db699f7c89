//! The futures of [`Context::done`] and [`Context::run`], written out by hand.
//!
//! As `async fn`s they held the work future twice (the argument, then the pinned local it
//! was moved into) and copied it from one to the other on the first poll: at every layer of
//! middleware that runs its inner call under the context, the whole nested future was copied
//! once more. A struct holds the work where it was put and polls it in place.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tokio_util::sync::WaitForCancellationFuture;

use super::Context;
use crate::Error;

pin_project! {
    /// The future of [`Context::done`]: completes with `Cancelled` when the context is
    /// cancelled, or with `DeadlineExceeded` when its deadline passes (cancellation wins when
    /// both have happened). It arms its timer and cancellation watch when first polled.
    #[must_use = "futures do nothing unless polled"]
    pub struct Done<'a> {
        ctx: &'a Context,
        armed: bool,
        #[pin]
        cancelled: Option<WaitForCancellationFuture<'a>>,
        #[pin]
        expired: Option<Sleep>,
    }
}

impl<'a> Done<'a> {
    pub(super) fn new(ctx: &'a Context) -> Self {
        Done {
            ctx,
            armed: false,
            cancelled: None,
            expired: None,
        }
    }
}

impl Future for Done<'_> {
    type Output = Error;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Error> {
        let mut this = self.project();
        if !*this.armed {
            *this.armed = true;
            let ctx: &Context = this.ctx;
            this.cancelled
                .set(ctx.cancel_token_ref().map(|token| token.cancelled()));
            this.expired.set(ctx.deadline.map(tokio::time::sleep_until));
        }
        if let Some(cancelled) = this.cancelled.as_pin_mut()
            && cancelled.poll(cx).is_ready()
        {
            return Poll::Ready(Error::cancelled());
        }
        if let Some(expired) = this.expired.as_pin_mut()
            && expired.poll(cx).is_ready()
        {
            return Poll::Ready(Error::deadline_exceeded());
        }
        Poll::Pending
    }
}

pin_project! {
    /// The future of [`Context::run`]: the work's result, or the context's reason for
    /// ending it.
    #[must_use = "futures do nothing unless polled"]
    pub struct Run<'a, F> {
        ctx: &'a Context,
        started: bool,
        #[pin]
        work: F,
        #[pin]
        done: Option<Done<'a>>,
    }
}

impl<'a, F> Run<'a, F> {
    pub(super) fn new(ctx: &'a Context, work: F) -> Self {
        Run {
            ctx,
            started: false,
            work,
            done: None,
        }
    }
}

impl<T, F> Future for Run<'_, F>
where
    F: Future<Output = Result<T, Error>>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.started {
            // Work that is done at once (a cache hit, an in-memory call) needs no timer and
            // no cancellation watch: the work is polled first, and the context is watched
            // only once the work waits, and only if it can end at all.
            *this.started = true;
            let ctx: &Context = this.ctx;
            if let Some(err) = ctx.err() {
                return Poll::Ready(Err(err));
            }
            if let Poll::Ready(result) = this.work.as_mut().poll(cx) {
                return Poll::Ready(result);
            }
            if !ctx.can_end() {
                return Poll::Pending;
            }
            this.done.set(Some(Done::new(ctx)));
            let done = this.done.as_pin_mut().expect("just set");
            return done.poll(cx).map(Err);
        }
        // After that, the context first, then the work, each polled once per wake-up.
        if let Some(done) = this.done.as_pin_mut()
            && let Poll::Ready(err) = done.poll(cx)
        {
            return Poll::Ready(Err(err));
        }
        this.work.poll(cx)
    }
}
