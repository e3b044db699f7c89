//! The order in which a service stops, so that load balancers can follow it.
//!
//! Stopping a service abruptly fails the calls that balancers keep sending it until their
//! next health check. A [`Shutdown`] runs the stop in phases that every part of the service
//! watches:
//!
//! 1. [`Phase::Serving`]: ready; readiness probes (`/ready`, gRPC health) say so.
//! 2. [`Phase::NotReady`]: the stop has begun. Readiness turns `NOT_SERVING` and registrars
//!    deregister, but every listener still accepts and serves, for the *drain delay*: the time
//!    probes and balancers need to notice.
//! 3. [`Phase::Draining`]: listeners stop accepting and finish in-flight calls (each up to
//!    its grace period), streams that would never end by themselves (health watches) end.
//!
//! ```
//! use std::time::Duration;
//! use kit::shutdown::{Phase, Shutdown};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let shutdown = Shutdown::new(Duration::from_secs(5));
//! let draining = shutdown.draining(); // what a server's graceful-shutdown signal awaits
//! assert!(shutdown.is_ready());
//! let stop = tokio::spawn({
//!     let shutdown = shutdown.clone();
//!     async move { shutdown.stop().await }
//! });
//! shutdown.not_ready().await;
//! assert_eq!(shutdown.phase(), Phase::NotReady); // still serving, no longer ready
//! draining.await; // five seconds later
//! assert_eq!(shutdown.phase(), Phase::Draining);
//! stop.await.unwrap();
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Where a service is in its stop; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Running and ready.
    Serving,
    /// Stopping: not ready any more, still serving during the drain delay.
    NotReady,
    /// Not accepting any more; in-flight calls are finishing.
    Draining,
}

/// A service's stop sequence, shared by its listeners and probes; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    phase: watch::Sender<Phase>,
    drain_delay: Duration,
}

impl Shutdown {
    /// A service that is serving, and when stopped waits `drain_delay` between turning
    /// not-ready and draining.
    pub fn new(drain_delay: Duration) -> Shutdown {
        Shutdown {
            inner: Arc::new(Inner {
                phase: watch::Sender::new(Phase::Serving),
                drain_delay,
            }),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.inner.phase.borrow()
    }

    /// Whether the service is ready for new calls (still [`Phase::Serving`]).
    pub fn is_ready(&self) -> bool {
        self.phase() == Phase::Serving
    }

    /// Runs the stop: not ready at once, draining after the drain delay. Calling it again,
    /// or while a stop runs, changes nothing and returns when the service is draining.
    pub async fn stop(&self) {
        let started = self.inner.phase.send_if_modified(|phase| {
            let start = *phase == Phase::Serving;
            if start {
                *phase = Phase::NotReady;
            }
            start
        });
        if started {
            if !self.inner.drain_delay.is_zero() {
                tracing::info!(drain_delay = ?self.inner.drain_delay, "not ready: draining after the drain delay");
                tokio::time::sleep(self.inner.drain_delay).await;
            }
            self.inner.phase.send_replace(Phase::Draining);
        } else {
            self.reached(Phase::Draining).await;
        }
    }

    /// Runs the stop once `signal` completes (for example
    /// `kit_http::shutdown_signal()`), and returns when the service is draining.
    pub async fn stop_on(&self, signal: impl Future<Output = ()>) {
        signal.await;
        self.stop().await;
    }

    /// Completes once the service is no longer ready (the stop has begun): for readiness
    /// probes and registrars.
    pub fn not_ready(&self) -> impl Future<Output = ()> + Send + 'static {
        self.reached(Phase::NotReady)
    }

    /// Completes once the service is draining: the graceful-shutdown signal of servers.
    pub fn draining(&self) -> impl Future<Output = ()> + Send + 'static {
        self.reached(Phase::Draining)
    }

    fn reached(&self, phase: Phase) -> impl Future<Output = ()> + Send + 'static {
        let mut phases = self.inner.phase.subscribe();
        async move {
            // The sender lives as long as any `Shutdown`; if all are gone, nothing will
            // ever stop the service, and neither does this future.
            if phases.wait_for(|current| *current >= phase).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Default for Shutdown {
    /// A shutdown with no drain delay.
    fn default() -> Shutdown {
        Shutdown::new(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn phases_follow_in_order_with_the_drain_delay_between() {
        let shutdown = Shutdown::new(Duration::from_secs(3));
        let not_ready = shutdown.not_ready();
        let draining = shutdown.draining();
        let start = tokio::time::Instant::now();
        let stop = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.stop().await }
        });
        not_ready.await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(shutdown.phase(), Phase::NotReady);
        assert!(!shutdown.is_ready());
        draining.await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        stop.await.unwrap();
        // A second stop returns at once; phases never go back.
        shutdown.stop().await;
        assert_eq!(shutdown.phase(), Phase::Draining);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_concurrent_stop_waits_for_the_first_to_reach_draining() {
        let shutdown = Shutdown::new(Duration::from_secs(2));
        let start = tokio::time::Instant::now();
        let (a, b) = tokio::join!(shutdown.stop(), shutdown.stop_on(async {}));
        let ((), ()) = (a, b);
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(shutdown.phase(), Phase::Draining);
    }
}
