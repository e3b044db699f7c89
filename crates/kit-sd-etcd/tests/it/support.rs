//! What the tests share: clients of a test's etcd, and bounded waits for what an
//! instancer or endpointer reports.

use std::time::Duration;

use kit::sd::{Endpointer, Event};
use kit_sd_etcd::{Client, Config};
use kit_testkit::etcd::Etcd;

/// How long anything the tests wait for may take (generous: a loaded 2-CPU machine).
pub(crate) use kit_testkit::sd::PATIENCE as WAIT;

/// A client of `etcd`'s client port, retrying quickly so that tests recover quickly.
pub(crate) fn client(etcd: &Etcd) -> Client {
    Client::new(config(etcd))
}

/// The settings of [`client`].
pub(crate) fn config(etcd: &Etcd) -> Config {
    config_at(etcd.client_addr().to_string())
}

/// The settings of a client of `endpoint`, retrying quickly.
pub(crate) fn config_at(endpoint: String) -> Config {
    Config::new([endpoint]).retry_backoff(Duration::from_millis(50), Duration::from_millis(500))
}

/// The addresses of an event's instances.
pub(crate) fn addrs(event: &Event) -> Vec<String> {
    event
        .instances()
        .iter()
        .map(|i| i.addr().to_owned())
        .collect()
}

pub(crate) use kit_testkit::sd::{wait_for, wait_for_set as wait_for_instances};

/// The addresses of an endpointer's current endpoints.
pub(crate) fn endpoint_addrs<E: Send + Sync + 'static>(endpointer: &Endpointer<E>) -> Vec<String> {
    endpointer
        .endpoints()
        .entries()
        .iter()
        .map(|entry| entry.instance().addr().to_owned())
        .collect()
}

/// The store's current revision, as `etcdctl` reads it.
pub(crate) async fn revision(etcd: &Etcd) -> i64 {
    let status = etcd
        .etcdctl(["get", "-w", "json", "--keys-only", "--limit=1", "/"])
        .await;
    json_number(&status, "revision")
        .unwrap_or_else(|| panic!("no revision in etcdctl's answer: {status}"))
}

/// Compacts the store's history up to its current revision.
pub(crate) async fn compact(etcd: &Etcd) {
    let revision = revision(etcd).await;
    etcd.etcdctl(["compact", &revision.to_string()]).await;
}

/// The number after the first `"name":` in `json` (etcdctl's JSON output; good enough for
/// its flat numbers).
pub(crate) fn json_number(json: &str, name: &str) -> Option<i64> {
    let start = json.find(&format!("\"{name}\":"))? + name.len() + 3;
    let digits: String = json[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}
