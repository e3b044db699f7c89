//! The instancer's task: read the prefix, then follow it with a watch.

use std::collections::BTreeMap;

use etcd_client::{EventType, GetOptions, WatchOptions, WatchResponse};
use kit::sd::{Instance, Publisher};
use kit::{Code, Error};

use crate::Client;
use kit::middleware::retry::Waits;

/// What the instancer knows of the prefix: each key's instance, as of `revision`.
#[derive(Debug, Default)]
struct Known {
    instances: BTreeMap<Vec<u8>, Instance>,
    /// The store's revision this view is complete up to: the read's, then each event's.
    revision: i64,
}

impl Known {
    fn publish(&self, publisher: &Publisher) {
        publisher.update(self.instances.values().cloned());
    }
}

/// Why a watch ended.
enum Ended {
    /// The revision to resume from is compacted, or the store went back in time (replaced
    /// by a fresh one): read the whole prefix again.
    Stale,
    /// etcd failed or could not be reached: retry the watch from the same revision.
    Failed(Error),
}

/// Keeps `publisher` up to date with the instances under `prefix`, until the instancer is
/// dropped (which aborts this task).
pub(crate) async fn run(client: Client, prefix: String, publisher: Publisher) {
    let mut backoff = client.config().backoff.waits();
    let mut known = None;
    loop {
        let mut current = match known.take() {
            Some(current) => current,
            None => match read(&client, &prefix).await {
                Ok(read) => {
                    read.publish(&publisher);
                    backoff.reset();
                    read
                }
                Err(err) => {
                    tracing::warn!(prefix, error = %err, "sd-etcd: reading instances failed");
                    publisher.fail(err);
                    backoff.wait().await;
                    continue;
                }
            },
        };
        match watch(&client, &prefix, &mut current, &publisher, &mut backoff).await {
            Ended::Stale => {}
            Ended::Failed(err) => {
                tracing::warn!(prefix, error = %err, "sd-etcd: watch failed");
                publisher.fail(err);
                known = Some(current);
                backoff.wait().await;
            }
        }
    }
}

/// Reads every key under `prefix`.
async fn read(client: &Client, prefix: &str) -> Result<Known, Error> {
    let response = client
        .request(&format!("reading {prefix}*"), |mut etcd| async move {
            etcd.get(prefix, Some(GetOptions::new().with_prefix()))
                .await
        })
        .await?;
    let revision = response.header().map_or(0, |header| header.revision());
    let instances = response
        .kvs()
        .iter()
        .map(|kv| (kv.key().to_vec(), instance(kv.value())))
        .collect();
    Ok(Known {
        instances,
        revision,
    })
}

/// Watches `prefix` from the revision after `known`'s, applying and publishing each change,
/// until the watch ends.
async fn watch(
    client: &Client,
    prefix: &str,
    known: &mut Known,
    publisher: &Publisher,
    backoff: &mut Waits,
) -> Ended {
    let action = format!("watching {prefix}* from revision {}", known.revision + 1);
    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(known.revision + 1);
    let stream = client
        .request(&action, |mut etcd| async move {
            etcd.watch(prefix, Some(options)).await
        })
        .await;
    let mut stream = match stream {
        Ok(stream) => stream,
        Err(err) => return Ended::Failed(err),
    };
    loop {
        let response = match stream.message().await {
            Ok(Some(response)) => response,
            Ok(None) => {
                let closed = client.failure(Code::Unavailable, &action, "etcd closed the watch");
                return Ended::Failed(closed);
            }
            Err(err) => return Ended::Failed(client.error(&action, err)),
        };
        if response.canceled() {
            return cancelled(client, &action, &response);
        }
        if response.created() {
            let now = response.header().map_or(0, |header| header.revision());
            if now < known.revision {
                // The store is behind what was read from it: its data was lost.
                tracing::warn!(
                    prefix,
                    revision = now,
                    known = known.revision,
                    "sd-etcd: etcd's revision went back; reading the instances again"
                );
                return Ended::Stale;
            }
            backoff.reset();
        }
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            match event.event_type() {
                EventType::Put => known
                    .instances
                    .insert(kv.key().to_vec(), instance(kv.value())),
                EventType::Delete => known.instances.remove(kv.key()),
            };
            known.revision = known.revision.max(kv.mod_revision());
        }
        // Clears the error of an earlier failure once the watch is back.
        known.publish(publisher);
    }
}

/// What a watch cancelled by etcd means.
fn cancelled(client: &Client, action: &str, response: &WatchResponse) -> Ended {
    if response.compact_revision() > 0 {
        tracing::info!(
            compacted = response.compact_revision(),
            "sd-etcd: revisions missed are compacted; reading the instances again"
        );
        return Ended::Stale;
    }
    let reason = response.cancel_reason();
    let reason = reason.strip_prefix("etcdserver: ").unwrap_or(reason);
    let code = if reason == "permission denied" {
        Code::PermissionDenied
    } else {
        Code::Unavailable
    };
    let why = format!("etcd cancelled the watch: {reason}");
    Ended::Failed(client.failure(code, action, why))
}

/// The instance a key's value names.
fn instance(value: &[u8]) -> Instance {
    Instance::from(String::from_utf8_lossy(value).into_owned())
}
