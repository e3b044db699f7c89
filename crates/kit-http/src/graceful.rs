//! Telling a running connection to shut down gracefully, or to close.
//!
//! The [supervisor](crate::serve) of a server's connections decides (the drain has begun, a
//! timeout ran out); each connection's task acts, on its next poll. The supervisor stores a
//! command in the connection's [`Control`] and wakes the task; the task's [`Watched`]
//! future reads the command on every poll and applies it to the hyper connection.
//!
//! Every poll makes sure the [`AtomicWaker`] holds the waker of that poll, so the command
//! wakes whichever task polls the connection now, however often the waker changed: a
//! connection future moved between tasks, or polled inside a `select!` or a
//! `FuturesUnordered` that hands it a waker of its own, is still woken. A poll with the
//! same waker as the last one (the usual case: a task's waker does not change) only
//! compares it with a copy kept beside the connection; a new waker is registered, and so is
//! the waker after every command (waking takes the waker out of the `AtomicWaker`).
//! hyper-util's `GracefulShutdown` is correct too, but polls a `tokio::sync::watch`
//! notification on every poll of every connection: about 280 instructions per request on
//! addsvc's `/sum` when it was measured (some 1.5% of the request), against a handful here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Waker};

use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;

use crate::serve::track::ConnShared;

/// No command: serve on.
const SERVE: u8 = 0;
/// Finish the requests in flight, accept no more, then close (HTTP/2: `GOAWAY`).
const GRACEFUL: u8 = 1;
/// Close now.
const CLOSE: u8 = 2;

/// The commands for one connection, and the waker of the task that polls it.
#[derive(Debug, Default)]
pub(crate) struct Control {
    command: AtomicU8,
    waker: AtomicWaker,
}

impl Control {
    /// Asks the connection to shut down gracefully.
    pub(crate) fn shut_down(&self) {
        self.give(GRACEFUL);
    }

    /// Asks the connection to close at once.
    pub(crate) fn close(&self) {
        self.give(CLOSE);
    }

    /// The command given, in words.
    #[cfg(test)]
    pub(crate) fn describe(&self) -> &'static str {
        match self.command.load(Ordering::Acquire) {
            SERVE => "serve",
            GRACEFUL => "shut down",
            _ => "close",
        }
    }

    fn give(&self, command: u8) {
        // Commands only escalate: a close is never turned back into a graceful shutdown.
        // Only a command that changes something wakes (and so takes) the waker: the task
        // sees every change, and registers its waker again when it does.
        if self.command.fetch_max(command, Ordering::AcqRel) < command {
            self.waker.wake();
        }
    }
}

/// A connection that can be asked to shut down gracefully: a hyper connection.
pub(crate) trait Graceful {
    /// Starts a graceful shutdown: finish in-flight requests, then close.
    fn graceful_shutdown(self: Pin<&mut Self>);
}

pin_project! {
    /// A connection that follows the commands of its [`Control`]. On a close it resolves to
    /// `Ok(())` at once, and dropping it closes the socket.
    pub(crate) struct Watched<C> {
        #[pin]
        connection: C,
        shared: Arc<ConnShared>,
        applied: u8,
        // The waker the `AtomicWaker` was last given.
        registered: Option<Waker>,
    }
}

impl<C> Watched<C> {
    pub(crate) fn new(connection: C, shared: Arc<ConnShared>) -> Watched<C> {
        Watched {
            connection,
            shared,
            applied: SERVE,
            registered: None,
        }
    }
}

impl<C, E> Future for Watched<C>
where
    C: Future<Output = Result<(), E>> + Graceful,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let mut this = self.project();
        let control = &this.shared.control;
        if !this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            control.waker.register(cx.waker());
            *this.registered = Some(cx.waker().clone());
        }
        // Registered before reading the command: a command given in between wakes the
        // waker just registered.
        let command = control.command.load(Ordering::Acquire);
        if command != *this.applied {
            // The command's wake took the waker: register it again before acting.
            control.waker.register(cx.waker());
            if control.command.load(Ordering::Acquire) == CLOSE {
                return Poll::Ready(Ok(()));
            }
            *this.applied = GRACEFUL;
            this.connection.as_mut().graceful_shutdown();
        }
        this.connection.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use kit::context::Peer;

    use super::*;

    /// A connection that never finishes by itself and counts graceful shutdowns.
    #[derive(Default)]
    struct Conn {
        shutdowns: usize,
    }

    impl Future for Conn {
        type Output = Result<(), ()>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            if self.shutdowns > 0 {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }
    }

    impl Graceful for Conn {
        fn graceful_shutdown(mut self: Pin<&mut Self>) {
            self.shutdowns += 1;
        }
    }

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl CountingWaker {
        fn wakes(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn shared() -> Arc<ConnShared> {
        Arc::new(ConnShared::new(Arc::new(Peer::new(
            "127.0.0.1:1".parse().unwrap(),
        ))))
    }

    fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Arc<CountingWaker>) -> Poll<F::Output> {
        let waker = Waker::from(waker.clone());
        Pin::new(future).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_command_wakes_the_waker_of_the_latest_poll() {
        let shared = shared();
        let mut watched = Box::pin(Watched::new(Conn::default(), shared.clone()));
        let (first, second) = (Arc::default(), Arc::default());
        // Polled by one task, then by another (moved, or inside a select with its own
        // waker).
        assert!(poll_with(&mut watched, &first).is_pending());
        assert!(poll_with(&mut watched, &second).is_pending());

        shared.control.shut_down();
        assert_eq!(second.wakes(), 1, "the current task is woken");
        assert_eq!(first.wakes(), 0, "the task that polled it before is not");
        assert!(poll_with(&mut watched, &second).is_ready());
        assert_eq!(watched.connection.shutdowns, 1);
    }

    #[test]
    fn a_task_woken_by_a_command_is_woken_by_the_next_one_too() {
        let shared = shared();
        let mut watched = Box::pin(Watched::new(
            std::future::pending::<Result<(), ()>>(),
            shared.clone(),
        ));
        let waker = Arc::default();
        assert!(poll_with(&mut watched, &waker).is_pending());
        shared.control.shut_down();
        // The same task polls again, with the same waker, as tokio's tasks do.
        assert!(poll_with(&mut watched, &waker).is_pending());
        assert!(poll_with(&mut watched, &waker).is_pending());
        shared.control.close();
        assert_eq!(waker.wakes(), 2);
    }

    #[test]
    fn a_graceful_shutdown_starts_once_and_a_close_ends_the_connection() {
        let shared = shared();
        let mut watched = Box::pin(Watched::new(
            std::future::pending::<Result<(), ()>>(),
            shared.clone(),
        ));
        let waker = Arc::default();
        assert!(poll_with(&mut watched, &waker).is_pending());
        shared.control.shut_down();
        shared.control.shut_down();
        assert_eq!(waker.wakes(), 1, "a command given twice wakes once");
        assert!(poll_with(&mut watched, &waker).is_pending());
        shared.control.close();
        assert_eq!(waker.wakes(), 2, "each command given after a poll wakes it");
        assert_eq!(poll_with(&mut watched, &waker), Poll::Ready(Ok(())));
    }

    impl<T> Graceful for std::future::Pending<T> {
        fn graceful_shutdown(self: Pin<&mut Self>) {}
    }
}
