use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::Error;

/// A boxed future, as a [`Registrar`] returns them (registration is rare, so the box costs
/// nothing that matters, and registrars of different registries fit in one list).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Registers this process's instance in a registry and takes it out again (Go kit's
/// `sd.Registrar`).
///
/// `register` returns once the registry has the instance; whatever keeps it there (an etcd
/// lease's keep-alive, a Consul TTL check, Eureka heartbeats, a ZooKeeper session) runs in
/// the background until `deregister`, which returns once the instance is gone from the
/// registry. Both may be called again: a registrar registers again after `deregister`, and
/// deregistering an instance that is not registered succeeds, doing nothing that matters.
///
/// Its `Debug` form names the registry and the instance, for log lines.
pub trait Registrar: fmt::Debug + Send + Sync {
    /// Puts the instance into the registry and keeps it there.
    fn register(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// Takes the instance out of the registry and stops keeping it there.
    fn deregister(&self) -> BoxFuture<'_, Result<(), Error>>;
}
