//! How many connections servers may hold open: [`ConnectionBudget`].

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A number of connections that one or more servers may hold open together.
///
/// A server that has used up its budget stops accepting: new connections wait in the
/// kernel's listen backlog (and, once it is full, the kernel drops new connection attempts
/// and clients retry) until one of the open connections closes. Nothing is refused, and the
/// requests on open connections are served as before. The server logs a warning when it
/// reaches the limit, at most once every few seconds.
///
/// Every server that is not given a budget of its own shares
/// [`process`](ConnectionBudget::process), so that all the listeners of a process together cannot run
/// it out of file descriptors: a flood of connections then waits in the backlog instead of
/// making `accept` fail for every listener, and leaves descriptors for the files, outgoing
/// connections and logs of the requests being served.
///
/// ```no_run
/// # async fn run(router: kit_http::Router, admin: kit_http::Router) -> std::io::Result<()> {
/// use kit_http::ConnectionBudget;
///
/// // The public listener may hold 10,000 connections; the admin listener has its own 16,
/// // so a flood on the public one cannot lock operators out.
/// let public = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// let internal = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
/// tokio::spawn(std::future::IntoFuture::into_future(
///     kit_http::serve(public, router).connection_budget(ConnectionBudget::new(10_000)),
/// ));
/// kit_http::serve(internal, admin).max_connections(16).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConnectionBudget {
    permits: Arc<Semaphore>,
    limit: usize,
}

/// What is left of the soft descriptor limit for everything but connections: a quarter,
/// and at least this many.
const RESERVED_DESCRIPTORS: u64 = 32;
/// The descriptor limit assumed where it cannot be read (not Unix), or taken as at most
/// this where it is larger or unlimited: past a million connections the budget would bound
/// nothing anyway.
const ASSUMED_DESCRIPTORS: u64 = 1 << 20;

impl ConnectionBudget {
    /// A budget of `limit` connections.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (a server with it would accept nothing), or larger than tokio's
    /// semaphores allow (`usize::MAX >> 3`).
    pub fn new(limit: usize) -> ConnectionBudget {
        assert!(limit > 0, "a connection budget of 0 accepts nothing");
        ConnectionBudget {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// The budget shared by every server of the process that has none of its own:
    /// three quarters of the process's soft limit on open files (`RLIMIT_NOFILE`, read the
    /// first time this is called, usually when the first server starts), leaving the other
    /// quarter, and at least 32 descriptors, for everything else. For the common soft limit
    /// of 1,024 that is 768 connections; under `ulimit -n 512`, 384. Where the limit cannot
    /// be read (outside Unix), or is above 2^20, 2^20 is assumed.
    ///
    /// Raise the process's limit (`ulimit -n`, systemd's `LimitNOFILE=`) before the first
    /// server starts to raise the budget.
    pub fn process() -> ConnectionBudget {
        static PROCESS: OnceLock<ConnectionBudget> = OnceLock::new();
        PROCESS
            .get_or_init(|| ConnectionBudget::new(budget_for(descriptor_limit())))
            .clone()
    }

    /// How many connections the budget allows.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many connections hold a part of the budget now.
    pub fn in_use(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// One connection's share, if any is left.
    pub(crate) fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// One connection's share, once one is left.
    pub(crate) async fn take(&self) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("a budget's semaphore is never closed")
    }
}

impl fmt::Debug for ConnectionBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionBudget")
            .field("limit", &self.limit)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// The budget for a soft descriptor limit of `descriptors`.
fn budget_for(descriptors: u64) -> usize {
    let descriptors = descriptors.min(ASSUMED_DESCRIPTORS);
    let reserved = (descriptors / 4).max(RESERVED_DESCRIPTORS);
    usize::try_from(descriptors.saturating_sub(reserved).max(1)).unwrap_or(usize::MAX)
}

#[cfg(unix)]
fn descriptor_limit() -> u64 {
    use rustix::process::{Resource, getrlimit};
    getrlimit(Resource::Nofile)
        .current
        .unwrap_or(ASSUMED_DESCRIPTORS)
}

#[cfg(not(unix))]
fn descriptor_limit() -> u64 {
    ASSUMED_DESCRIPTORS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_a_quarter_of_the_descriptors_and_at_least_32() {
        assert_eq!(budget_for(1024), 768);
        assert_eq!(budget_for(512), 384);
        assert_eq!(budget_for(100), 68);
        assert_eq!(budget_for(16), 1);
        assert_eq!(budget_for(u64::MAX), 786_432);
    }

    #[test]
    fn the_process_budget_follows_the_descriptor_limit_and_is_shared() {
        let budget = ConnectionBudget::process();
        assert_eq!(budget.limit(), budget_for(descriptor_limit()));
        let held = budget.try_take().unwrap();
        assert!(
            ConnectionBudget::process().in_use() >= 1,
            "one budget for all"
        );
        drop(held);
    }

    #[test]
    fn a_budget_hands_out_its_limit_and_no_more() {
        let budget = ConnectionBudget::new(2);
        let (a, _b) = (budget.try_take().unwrap(), budget.try_take().unwrap());
        assert!(budget.try_take().is_none());
        assert_eq!(budget.in_use(), 2);
        drop(a);
        assert!(budget.try_take().is_some());
    }
}
