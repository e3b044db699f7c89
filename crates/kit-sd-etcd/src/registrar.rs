//! The registrar: a key under a lease, and the task that keeps the lease alive.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use etcd_client::PutOptions;
use kit::sd::BoxFuture;
use kit::{Code, Error};
use tokio::task::JoinHandle;

use crate::Client;
use kit::middleware::retry::Waits;

/// The lease's time to live unless [`Registrar::ttl`] says otherwise (Go kit's default).
const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// Puts this process's instance into etcd under a lease, and keeps it there until
/// deregistered (Go kit's `etcdv3.Registrar`). Made by [`Client::registrar`].
///
/// - [`register`](kit::sd::Registrar::register) grants a lease with the registrar's
///   [`ttl`](Registrar::ttl), puts the key under it and returns; a background task then
///   renews the lease (every third of its TTL). If the lease is lost (it expired while etcd
///   could not be reached for longer than the TTL, it was revoked, or etcd came back
///   without its data), the task grants a new one and puts the key again, retrying with
///   backoff until it succeeds.
/// - [`deregister`](kit::sd::Registrar::deregister) stops the renewals, deletes the key
///   and revokes the lease. If etcd cannot be reached it fails, and the key goes when the
///   lease expires.
/// - Dropping a registered registrar stops the renewals without deleting anything: the key
///   goes when the lease expires, as it does when the process dies.
///
/// Both calls may be repeated: registering a registered instance, or deregistering one
/// that is not, does nothing.
pub struct Registrar {
    entry: Arc<Entry>,
    registered: tokio::sync::Mutex<Option<Registration>>,
}

/// What is put into etcd, and the client that puts it.
#[derive(Clone)]
struct Entry {
    client: Client,
    key: String,
    value: String,
    /// The lease's time to live, in seconds.
    ttl: i64,
}

/// A registered instance: its current lease, and the task that keeps it alive.
struct Registration {
    /// The lease the key is under; the keeper replaces it when it is lost.
    lease: Arc<AtomicI64>,
    keeper: AbortOnDrop,
}

/// Aborts the task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How keeping a lease alive ended.
enum Kept {
    /// etcd no longer knows the lease.
    Lost,
    /// etcd failed or could not be reached; the lease may still be alive.
    Failed(Error),
}

impl Registrar {
    pub(crate) fn new(client: Client, key: String, value: String) -> Registrar {
        let entry = Entry {
            client,
            key,
            value,
            ttl: 0,
        };
        Registrar {
            entry: Arc::new(entry),
            registered: tokio::sync::Mutex::new(None),
        }
        .ttl(DEFAULT_TTL)
    }

    /// This registrar with a lease whose time to live is `ttl` (10 s by default), rounded
    /// up to whole seconds: after a crash, the instance stays in etcd for up to that long.
    /// etcd raises a TTL below its minimum (about 2 s with its default timings).
    pub fn ttl(mut self, ttl: Duration) -> Registrar {
        let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        Arc::make_mut(&mut self.entry).ttl = i64::try_from(seconds.max(1)).unwrap_or(i64::MAX);
        self
    }

    /// The key it registers.
    pub fn key(&self) -> &str {
        &self.entry.key
    }

    async fn register(&self) -> Result<(), Error> {
        let mut registered = self.registered.lock().await;
        if registered.is_some() {
            return Ok(());
        }
        let lease = Arc::new(AtomicI64::new(self.entry.put().await?));
        let keeper = tokio::spawn(Arc::clone(&self.entry).keep(Arc::clone(&lease)));
        *registered = Some(Registration {
            lease,
            keeper: AbortOnDrop(keeper),
        });
        Ok(())
    }

    async fn deregister(&self) -> Result<(), Error> {
        let mut registered = self.registered.lock().await;
        let Some(registration) = registered.take() else {
            return Ok(());
        };
        drop(registration.keeper);
        self.entry
            .remove(registration.lease.load(Ordering::Acquire))
            .await
    }
}

impl kit::sd::Registrar for Registrar {
    fn register(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Registrar::register(self))
    }

    fn deregister(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Registrar::deregister(self))
    }
}

impl Entry {
    /// Grants a lease and puts the key under it; returns the lease.
    async fn put(&self) -> Result<i64, Error> {
        let ttl = self.ttl;
        let lease = self
            .client
            .request(
                &format!("granting a lease of {ttl}s"),
                |mut etcd| async move { etcd.lease_grant(ttl, None).await },
            )
            .await?
            .id();
        let (key, value) = (self.key.as_str(), self.value.as_str());
        let put = self
            .client
            .request(&format!("putting {key}"), |mut etcd| async move {
                etcd.put(key, value, Some(PutOptions::new().with_lease(lease)))
                    .await
            })
            .await;
        if let Err(err) = put {
            // Don't leave the lease behind for its TTL; if this fails too, it expires.
            let _ = self.revoke(lease).await;
            return Err(err);
        }
        Ok(lease)
    }

    /// Deletes the key and revokes `lease`.
    async fn remove(&self, lease: i64) -> Result<(), Error> {
        let key = self.key.as_str();
        self.client
            .request(&format!("deleting {key}"), |mut etcd| async move {
                etcd.delete(key, None).await
            })
            .await?;
        self.revoke(lease).await
    }

    /// Revokes `lease` (which deletes the keys under it); one already gone is no error.
    async fn revoke(&self, lease: i64) -> Result<(), Error> {
        let revoked = self
            .client
            .request(
                &format!("revoking lease {lease:x}"),
                |mut etcd| async move { etcd.lease_revoke(lease).await },
            )
            .await;
        match revoked {
            // Gone already (expired, or etcd lost it): what revoking was for.
            Err(err) if err.code() == Code::NotFound => Ok(()),
            other => other.map(drop),
        }
    }

    /// Keeps the key in etcd: renews `lease`, and puts the key under a new one when it is
    /// lost. Runs until aborted.
    async fn keep(self: Arc<Self>, lease: Arc<AtomicI64>) {
        let mut backoff = self.client.config().backoff.waits();
        loop {
            match self
                .keep_alive(lease.load(Ordering::Acquire), &mut backoff)
                .await
            {
                Kept::Lost => {
                    tracing::warn!(key = self.key, "sd-etcd: lease lost; registering again");
                    loop {
                        match self.put().await {
                            Ok(new) => {
                                lease.store(new, Ordering::Release);
                                backoff.reset();
                                break;
                            }
                            Err(err) => {
                                tracing::warn!(key = self.key, error = %err, "sd-etcd: registering again failed");
                                backoff.wait().await;
                            }
                        }
                    }
                }
                Kept::Failed(err) => {
                    tracing::warn!(key = self.key, error = %err, "sd-etcd: keeping the lease alive failed");
                    backoff.wait().await;
                }
            }
        }
    }

    /// Renews `lease` every third of its TTL until that fails.
    async fn keep_alive(&self, lease: i64, backoff: &mut Waits) -> Kept {
        let action = format!("keeping lease {lease:x} alive");
        let opened = self
            .client
            .request(&action, |mut etcd| async move {
                etcd.lease_keep_alive(lease).await
            })
            .await;
        let (mut keeper, mut responses) = match opened {
            Ok(opened) => opened,
            Err(err) if err.code() == Code::NotFound => return Kept::Lost,
            Err(err) => return Kept::Failed(err),
        };
        // Opening renewed the lease once already.
        backoff.reset();
        let timeout = self.client.config().request_timeout;
        loop {
            tokio::time::sleep(self.period()).await;
            if let Err(err) = keeper.keep_alive().await {
                return Kept::Failed(self.client.error(&action, err));
            }
            match tokio::time::timeout(timeout, responses.message()).await {
                Ok(Ok(Some(response))) if response.ttl() > 0 => {}
                Ok(Ok(Some(_))) => return Kept::Lost,
                Ok(Ok(None)) => {
                    let closed = "etcd closed the keep-alive stream";
                    return Kept::Failed(self.client.failure(Code::Unavailable, &action, closed));
                }
                Ok(Err(err)) => return Kept::Failed(self.client.error(&action, err)),
                Err(_) => {
                    let why = format_args!("no answer within {timeout:?}");
                    return Kept::Failed(self.client.failure(Code::Unavailable, &action, why));
                }
            }
        }
    }

    /// How often the lease is renewed: three times per TTL, as etcd's own clients do.
    fn period(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.ttl).unwrap_or(1)) / 3
    }
}

impl fmt::Debug for Registrar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registrar")
            .field("key", &self.entry.key)
            .field("value", &self.entry.value)
            .field("ttl", &Duration::from_secs(self.entry.ttl.unsigned_abs()))
            .finish_non_exhaustive()
    }
}
