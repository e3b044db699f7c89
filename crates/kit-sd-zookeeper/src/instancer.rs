//! The instancer: a service's instances are the data of its node's children.

use futures_util::future::join_all;
use kit::Error;
use kit::sd::{Instance, Instancer, Publisher};
use zookeeper_client as zk;

use crate::{Client, path};

/// An instancer of the service whose instances are the children of `path` (Go kit's
/// `zk.NewInstancer`): each child's data is an instance's address, as [`Registrar`] and Go
/// kit's registrar write it.
///
/// It creates `path` (and its parents) if it is missing, reads the children and their data
/// with a watch on the children, and reads them again each time the watch fires, setting a
/// new watch. It sends the whole set each time (children whose data is empty or not UTF-8
/// are left out, with a warning).
///
/// Faults, each reported through the instancer while the last good set stays:
/// - the ensemble unreachable or a read failing (`Unavailable`, `PermissionDenied`, ...):
///   it tries again after a backoff of 100 ms, doubling up to 2 s;
/// - the connection lost (`Unavailable`): the ZooKeeper client reconnects the session by
///   itself, keeping the watch; once connected again the children are read afresh, so that
///   nothing that changed meanwhile is missed;
/// - the session expired: a new session is made and the watch set again.
///
/// Must be called within a tokio runtime (the watch runs as a task of it, stopped when the
/// last clone of the instancer is dropped).
///
/// # Errors
///
/// `InvalidArgument` for a path that is not absolute, ends with `/`, or is the root.
///
/// [`Registrar`]: crate::Registrar
pub fn instancer(client: &Client, path: impl Into<String>) -> Result<Instancer, Error> {
    let path = path.into();
    path::validate(&path)?;
    let client = client.clone();
    Ok(Instancer::spawn(move |publisher| {
        watch(client, path, publisher)
    }))
}

/// The instancer's task.
async fn watch(client: Client, path: String, publisher: Publisher) {
    let mut backoff = crate::BACKOFF.waits();
    loop {
        let session = match client.session().await {
            Ok(session) => session,
            Err(err) => {
                publisher.fail(err);
                backoff.wait().await;
                continue;
            }
        };
        // Taken before reading, so that a disconnection during the read is seen.
        let mut states = session.state_watcher();
        let watcher = match read(&client, &session, &path).await {
            Ok((instances, watcher)) => {
                publisher.update(instances);
                backoff.reset();
                watcher
            }
            Err(err) => {
                publisher.fail(err);
                backoff.wait().await;
                continue;
            }
        };
        tokio::select! {
            // The children changed, or the session ended: read again (on a new session if
            // need be).
            _ = watcher.changed() => {}
            () = disconnected(&mut states) => {
                publisher.fail(Error::unavailable(format!(
                    "zookeeper: lost the connection to {}; reconnecting",
                    client.servers()
                )));
                reconnected(&mut states).await;
            }
        }
    }
}

/// Completes when the session is no longer connected (never, once it has ended: the watch
/// reports that).
async fn disconnected(states: &mut zk::StateWatcher) {
    loop {
        if states.state() == zk::SessionState::Disconnected {
            return;
        }
        states.changed().await;
    }
}

/// Completes when the session is connected again, or has ended.
async fn reconnected(states: &mut zk::StateWatcher) {
    loop {
        let state = states.state();
        if state.is_terminated()
            || matches!(
                state,
                zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly
            )
        {
            return;
        }
        states.changed().await;
    }
}

/// Reads the instances under `path` and sets a watch on its children.
async fn read(
    client: &Client,
    session: &zk::Client,
    path: &str,
) -> Result<(Vec<Instance>, zk::OneshotWatcher), Error> {
    let listed = match session.get_and_watch_children(path).await {
        Err(zk::Error::NoNode) => {
            path::ensure_exists(client, session, path).await?;
            session.get_and_watch_children(path).await
        }
        listed => listed,
    };
    let (children, _, watcher) =
        listed.map_err(|err| client.error(err, &format!("read the children of {path}")))?;
    let reads = children.iter().map(|child| async move {
        let node = format!("{path}/{child}");
        match session.get_data(&node).await {
            Ok((data, _)) => Ok(instance(&node, data)),
            // Gone since the listing: the watch has fired, and the next read has it right.
            Err(zk::Error::NoNode) => Ok(None),
            Err(err) => Err(client.error(err, &format!("read {node}"))),
        }
    });
    let instances = join_all(reads)
        .await
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    Ok((instances, watcher))
}

/// The instance a node's data names, if it names one.
fn instance(node: &str, data: Vec<u8>) -> Option<Instance> {
    match String::from_utf8(data) {
        Ok(addr) if !addr.is_empty() => Some(Instance::from(addr)),
        Ok(_) => {
            tracing::warn!(node, "zookeeper: instance node without data; left out");
            None
        }
        Err(_) => {
            tracing::warn!(
                node,
                "zookeeper: instance node whose data is not UTF-8; left out"
            );
            None
        }
    }
}
