//! Integration tests of kit-sd-zookeeper, each against a real ZooKeeper server of its own
//! (`kit_testkit::zookeeper`).

mod auth;
mod discovery;
mod faults;
mod lost_create;

use std::time::Duration;

use kit::sd::{Event, Instance, Instancer};
use kit_sd_zookeeper::{Client, ClientBuilder};
use zookeeper_client as zk;

/// The service node every test registers under: addsvc's HTTP listener, as CONTRACTS.md
/// lays it out.
const SERVICE: &str = "/services/addsvc/http";

/// How long a test waits for something the registry is expected to do: far more than it
/// takes, so that a loaded machine does not fail the test.
const PATIENCE: Duration = Duration::from_secs(30);

/// A builder of a client of the server at `servers`, with a connect timeout for a loaded
/// machine: a JVM that has just started, sharing two CPUs with other tests, can take more
/// than the default 2 s to set up a session.
fn builder(servers: &str) -> ClientBuilder {
    Client::builder(servers).connect_timeout(CONNECT_TIMEOUT)
}

/// How long the tests' clients may take to make a session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of the server at `servers`, otherwise with the defaults.
fn client(servers: &str) -> Client {
    builder(servers).build().unwrap()
}

/// A plain ZooKeeper session, to look at the server as an outsider.
async fn raw(servers: &str) -> zk::Client {
    zk::Client::connect(servers).await.unwrap()
}

pub(crate) use kit_testkit::sd::wait_for;

/// `addrs` as instances.
fn instances<const N: usize>(addrs: [&str; N]) -> Vec<Instance> {
    addrs.map(Instance::from).to_vec()
}

/// Waits until `instancer` reports exactly `expected` (sorted) without an error, and returns
/// that event; panics with the last event after [`PATIENCE`].
async fn wait_for_set(instancer: &Instancer, expected: &[Instance]) -> Event {
    wait_for(instancer, &format!("the instances {expected:?}"), |event| {
        event.is_resolved() && event.error().is_none() && event.instances() == expected
    })
    .await
}

/// Polls `check` every 10 ms until it holds; panics saying `what` after [`PATIENCE`].
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {PATIENCE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The children of `path`, sorted, as `name=data`.
async fn children(session: &zk::Client, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for child in session.list_children(path).await.unwrap() {
        let (data, _) = session.get_data(&format!("{path}/{child}")).await.unwrap();
        out.push(format!("{child}={}", String::from_utf8(data).unwrap()));
    }
    out.sort();
    out
}
