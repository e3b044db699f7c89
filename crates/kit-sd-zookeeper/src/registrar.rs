//! The registrar: this instance as an ephemeral sequential node under its service's node.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kit::Error;
use kit::sd::BoxFuture;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zookeeper_client as zk;

use crate::error::is_transient;
use crate::{Client, path};

/// Registers an instance of a service in ZooKeeper (Go kit's `zk.Registrar`): an ephemeral
/// sequential child of the service's node (created if missing, with its parents), whose data
/// is the instance's address. It lives as long as the client's session, so an instance that
/// dies silently leaves the registry once its session times out.
///
/// - [`register`](kit::sd::Registrar::register) returns once the node exists. While the
///   ensemble cannot be reached it tries again with a growing backoff, for up to the
///   client's connect timeout, then fails with `Unavailable`; a node whose ACL refuses
///   this client fails it at once with `PermissionDenied`.
/// - A background task then watches the node. If the session expires (the server lost
///   track of this client for longer than the session timeout) or someone deletes the
///   node, it registers again, on a new session if need be, retrying until it succeeds.
/// - [`deregister`](kit::sd::Registrar::deregister) stops that task and deletes the node.
///   If it cannot reach the ensemble within the connect timeout it fails with
///   `Unavailable`; the node then goes when the session ends.
///
/// Nodes are named `_c_<id>-<sequence>`, with an id of this registrar's own (the "protected"
/// names of Curator and Go kit): when the answer to a create is lost with the connection,
/// the registrar finds the node it did create by that id instead of creating a second one.
///
/// Dropping the registrar stops the background task but leaves the node to the session.
pub struct Registrar {
    shared: Arc<Shared>,
    keeper: tokio::sync::Mutex<Option<Keeper>>,
}

struct Shared {
    client: Client,
    /// The service's node.
    path: String,
    /// The instance's address: the node's data.
    addr: String,
    /// The start of this registrar's node names: `_c_<id>-`.
    prefix: String,
    /// The node registered, if any.
    node: Mutex<Option<String>>,
}

/// The background task keeping the registration; aborted when dropped.
struct Keeper(JoinHandle<()>);

impl Drop for Keeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Registrar {
    /// A registrar of the instance at `addr` under the service node `path`
    /// (`/services/addsvc/http`, say). Nothing is registered until
    /// [`register`](kit::sd::Registrar::register).
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for a bad path (see [`instancer`](crate::instancer)) or an empty
    /// address.
    pub fn new(
        client: &Client,
        path: impl Into<String>,
        addr: impl Into<String>,
    ) -> Result<Registrar, Error> {
        let (path, addr) = (path.into(), addr.into());
        path::validate(&path)?;
        if addr.is_empty() {
            return Err(Error::invalid_argument(
                "zookeeper: an instance needs an address (the node's data)",
            ));
        }
        Ok(Registrar {
            shared: Arc::new(Shared {
                client: client.clone(),
                path,
                addr,
                prefix: format!("_c_{}-", unique_id()),
                node: Mutex::new(None),
            }),
            keeper: tokio::sync::Mutex::new(None),
        })
    }

    /// The path of the node registered, if registered.
    pub fn node(&self) -> Option<String> {
        self.shared.node()
    }

    async fn register(&self) -> Result<(), Error> {
        let mut keeper = self.keeper.lock().await;
        if keeper.is_some() {
            return Ok(());
        }
        let shared = &self.shared;
        let what = format!("register {} under {}", shared.addr, shared.path);
        let (session, node) = within(shared.client.connect_timeout(), &what, || {
            shared.ensure_node()
        })
        .await?;
        tracing::info!(node, addr = shared.addr, "zookeeper: registered");
        *keeper = Some(Keeper(tokio::spawn(keep(shared.clone(), session, node))));
        Ok(())
    }

    async fn deregister(&self) -> Result<(), Error> {
        let mut keeper = self.keeper.lock().await;
        let Some(stopped) = keeper.take() else {
            return Ok(());
        };
        drop(stopped);
        let shared = &self.shared;
        shared.set_node(None);
        let what = format!("deregister {} from {}", shared.addr, shared.path);
        within(shared.client.connect_timeout(), &what, || {
            shared.remove_nodes()
        })
        .await?;
        tracing::info!(
            addr = shared.addr,
            path = shared.path,
            "zookeeper: deregistered"
        );
        Ok(())
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

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("path", &self.shared.path)
            .field("addr", &self.shared.addr)
            .field("node", &self.shared.node())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn node(&self) -> Option<String> {
        self.node
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_node(&self, node: Option<String>) {
        *self.node.lock().unwrap_or_else(PoisonError::into_inner) = node;
    }

    /// Makes sure this registrar's node exists on the current session, and returns that
    /// session and the node's path.
    async fn ensure_node(&self) -> Result<(zk::Client, String), Error> {
        let client = &self.client;
        let session = client.session().await?;
        path::ensure_exists(client, &session, &self.path).await?;
        // A node of ours may exist already: created by an attempt whose answer was lost, or
        // left by an earlier session that has not expired on the server yet.
        let mut found = None;
        for node in self.own_nodes(&session).await? {
            let owner = session
                .check_stat(&node)
                .await
                .map_err(|err| client.error(err, &format!("look up {node}")))?;
            match owner {
                Some(stat) if stat.ephemeral_owner == session.session_id().0 && found.is_none() => {
                    found = Some(node);
                }
                Some(_) => self.delete(&session, &node).await?,
                None => {}
            }
        }
        let node = match found {
            Some(node) => node,
            None => {
                let options = zk::CreateMode::EphemeralSequential.with_acls(client.acls());
                let (_, sequence) = session
                    .create(
                        &format!("{}/{}", self.path, self.prefix),
                        self.addr.as_bytes(),
                        &options,
                    )
                    .await
                    .map_err(|err| {
                        client.error(err, &format!("create a node under {}", self.path))
                    })?;
                format!("{}/{}{sequence}", self.path, self.prefix)
            }
        };
        self.set_node(Some(node.clone()));
        Ok((session, node))
    }

    /// Deletes every node of this registrar. Without a live session there is none left: an
    /// ephemeral node goes with its session.
    async fn remove_nodes(&self) -> Result<(), Error> {
        let Some(session) = self.client.live_session().await else {
            return Ok(());
        };
        for node in self.own_nodes(&session).await? {
            self.delete(&session, &node).await?;
        }
        Ok(())
    }

    /// The paths of this registrar's nodes.
    async fn own_nodes(&self, session: &zk::Client) -> Result<Vec<String>, Error> {
        let children = session.list_children(&self.path).await.map_err(|err| {
            self.client
                .error(err, &format!("read the children of {}", self.path))
        })?;
        Ok(children
            .into_iter()
            .filter(|child| child.starts_with(&self.prefix))
            .map(|child| format!("{}/{child}", self.path))
            .collect())
    }

    async fn delete(&self, session: &zk::Client, node: &str) -> Result<(), Error> {
        match session.delete(node, None).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(err) => Err(self.client.error(err, &format!("delete {node}"))),
        }
    }
}

/// The background task of a registration: watches the node, and registers again when the
/// session ends or the node is deleted.
async fn keep(shared: Arc<Shared>, mut session: zk::Client, mut node: String) {
    loop {
        let why = match session.check_and_watch_stat(&node).await {
            Ok((Some(_), watcher)) => {
                let event = watcher.changed().await;
                match event.event_type {
                    zk::EventType::NodeDeleted => "its node was deleted".to_owned(),
                    zk::EventType::Session => {
                        format!("the session ended ({})", event.session_state)
                    }
                    // Data changed by someone else: the node is still there.
                    _ => continue,
                }
            }
            Ok((None, _)) => "its node was deleted".to_owned(),
            Err(err) => format!("the node cannot be watched ({err})"),
        };
        tracing::warn!(
            node,
            addr = shared.addr,
            "zookeeper: registration lost: {why}; registering again"
        );
        let mut backoff = crate::BACKOFF.waits();
        loop {
            match shared.ensure_node().await {
                Ok((new_session, new_node)) => {
                    tracing::info!(
                        node = new_node,
                        addr = shared.addr,
                        "zookeeper: registered again"
                    );
                    (session, node) = (new_session, new_node);
                    break;
                }
                Err(err) => {
                    tracing::warn!(addr = shared.addr, error = %err, "zookeeper: cannot register again yet");
                    backoff.wait().await;
                }
            }
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `timeout` has passed, waiting with a
/// growing backoff after each transient failure; `what` names the job for the error when
/// time runs out before any attempt has answered.
async fn within<T, F, Fut>(timeout: Duration, what: &str, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let deadline = Instant::now() + timeout;
    let mut backoff = crate::BACKOFF.waits();
    loop {
        let err = match tokio::time::timeout_at(deadline, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(err)) if is_transient(&err) => err,
            Ok(Err(err)) => return Err(err),
            Err(_) => {
                return Err(Error::unavailable(format!(
                    "zookeeper: cannot {what}: no answer within {timeout:?}"
                )));
            }
        };
        let delay = backoff.next_delay();
        if Instant::now() + delay >= deadline {
            return Err(err);
        }
        tokio::time::sleep(delay).await;
    }
}

/// 128 bits unique to this registrar: two hashes, keyed by the process's random keys, of
/// the time and the process id.
fn unique_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let half = |salt: u64| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(now);
        hasher.write_u32(std::process::id());
        hasher.write_u64(salt);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}
