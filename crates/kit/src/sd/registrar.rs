use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::{Instance, Publisher};
#[cfg(doc)]
use super::{Instancer, Subscription};
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

/// The registrar of the registry kept in this process: an instancer made with
/// [`Instancer::manual`], whose [`Publisher`] is the registry. Made by
/// [`Publisher::registrar`].
///
/// - `register` adds the instance to the publisher's set and `deregister` takes it out,
///   each reported at once to the instancer's subscribers (as
///   [`Publisher::update`] reports a set, clearing an error reported by
///   [`Publisher::fail`]).
/// - Registrars on one publisher compose: each adds and removes only its own instance.
///   Two registrars of the same instance share its one entry (instances are a set), as two
///   etcd registrars of one key share the key: either one's `deregister` takes it out.
/// - Registering a registered instance, or deregistering one that is not registered,
///   changes nothing and tells nobody.
/// - [`Publisher::update`] replaces the whole set, registered instances included.
///
/// It keeps the instancer's source alive: [`Subscription::next`] ends only once the
/// publisher and its registrars are all gone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use kit::sd::{Instance, Instancer, Registrar};
///
/// let (instancer, publisher) = Instancer::manual();
/// let a = publisher.registrar("10.0.0.1:8080");
/// let b = publisher.registrar("10.0.0.2:8080");
/// a.register().await.unwrap();
/// b.register().await.unwrap();
/// a.deregister().await.unwrap();
/// assert_eq!(instancer.current().instances(), [Instance::from("10.0.0.2:8080")]);
/// assert_eq!(format!("{b:?}"), r#"ManualRegistrar { instance: "10.0.0.2:8080", .. }"#);
/// # }
/// ```
pub struct ManualRegistrar {
    publisher: Publisher,
    instance: Instance,
}

impl ManualRegistrar {
    pub(super) fn new(publisher: Publisher, instance: Instance) -> ManualRegistrar {
        ManualRegistrar {
            publisher,
            instance,
        }
    }

    /// The instance it registers.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }
}

impl Registrar for ManualRegistrar {
    fn register(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.publisher.change(|set| {
                let absent = !set.contains(&self.instance);
                if absent {
                    set.push(self.instance.clone());
                }
                absent
            });
            Ok(())
        })
    }

    fn deregister(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.publisher.change(|set| {
                let before = set.len();
                set.retain(|instance| *instance != self.instance);
                set.len() != before
            });
            Ok(())
        })
    }
}

impl fmt::Debug for ManualRegistrar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualRegistrar")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}
