//! Graceful shutdown of the connections a [`Serve`](crate::Serve) accepted.
//!
//! hyper-util's `GracefulShutdown` polls a notification future on every poll of every
//! connection; measured with callgrind that was about 280 instructions per request on
//! addsvc's `/sum` (some 1.5% of the request). Here a connection checks one atomic flag per
//! poll and registers its task's waker once, so that the shutdown can wake it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use hyper_util::server::graceful::GracefulConnection;
use pin_project_lite::pin_project;

/// The shutdown signal shared by a listener's connections.
#[derive(Clone, Default)]
pub(crate) struct Drain {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    draining: AtomicBool,
    next_id: AtomicU64,
    /// The wakers of the live connections' tasks, by connection.
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Shared {
    fn wakers(&self) -> MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drain {
    /// Asks every watched connection to finish its in-flight requests and close.
    pub(crate) fn start(&self) {
        self.shared.draining.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.shared.wakers());
        for waker in wakers.into_values() {
            waker.wake();
        }
    }

    /// Wraps `connection` so that it shuts down gracefully once draining starts.
    pub(crate) fn watch<C: GracefulConnection>(&self, connection: C) -> Watched<C> {
        Watched {
            connection,
            drain: self.clone(),
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            registered: false,
            shutting_down: false,
        }
    }

    fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::SeqCst)
    }
}

pin_project! {
    /// A connection that starts a graceful shutdown when its [`Drain`] does.
    pub(crate) struct Watched<C> {
        #[pin]
        connection: C,
        drain: Drain,
        id: u64,
        registered: bool,
        shutting_down: bool,
    }

    impl<C> PinnedDrop for Watched<C> {
        fn drop(this: Pin<&mut Self>) {
            if this.registered {
                this.drain.shared.wakers().remove(&this.id);
            }
        }
    }
}

impl<C: GracefulConnection> Future for Watched<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let mut this = self.project();
        if !*this.shutting_down {
            // A task's waker does not change between polls, so registering once suffices.
            // Register before checking the flag: a drain that starts in between still
            // wakes this task.
            if !*this.registered {
                this.drain
                    .shared
                    .wakers()
                    .insert(*this.id, cx.waker().clone());
                *this.registered = true;
            }
            if this.drain.is_draining() {
                *this.shutting_down = true;
                this.connection.as_mut().graceful_shutdown();
            }
        }
        this.connection.poll(cx)
    }
}
