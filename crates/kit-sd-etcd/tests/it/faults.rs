//! The faults of issue 10 against a real etcd: down at start, restarted mid-run (with and
//! without its data), instances flapping, a factory failing for one instance. (Lease
//! expiry is in `registrar`.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kit::middleware::retry::Backoff;

use kit::sd::{Balanced, Endpointer, Instance, Registrar as _, RoundRobin};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use kit_sd_etcd::Client;
use kit_testkit::attempts::Attempts;
use kit_testkit::etcd::Etcd;
use kit_testkit::free_addr;
use kit_testkit::sd::check_flapping;

use crate::support::{addrs, client, config_at, endpoint_addrs, wait_for, wait_for_instances};

const PREFIX: &str = "/services/svc/http/";

/// The key an instance at `addr` registers under.
fn key(addr: &str) -> String {
    format!("{PREFIX}{addr}")
}

/// An endpointer whose endpoints are their instances' addresses.
fn endpointer(instancer: &kit::sd::Instancer) -> Endpointer<String> {
    Endpointer::new(instancer, |instance: &Instance| {
        Ok::<_, Error>(instance.addr().to_owned())
    })
}

/// etcd is not running when the instancer and registrar start: both say so clearly
/// (`Unavailable`, naming etcd's address, what failed and why), the instancer retries with
/// backoff, and both work once etcd is up.
#[tokio::test]
async fn registry_down_at_start() {
    let mut etcd = Etcd::new();
    let at = etcd.client_addr();
    let client = client(&etcd);
    let instancer = client.instancer(PREFIX);
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: reading {PREFIX}*: tcp connect error: Connection refused (os error 111)"
        )
    );
    assert_eq!(event.instances(), []);

    let registrar = client.registrar(key("127.0.0.1:1"), "127.0.0.1:1");
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: granting a lease of 10s: tcp connect error: Connection refused (os error 111)"
        )
    );

    etcd.start().await;
    wait_for_instances(&instancer, &[]).await;
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1"]).await;
}

/// How many connections one failed read of the instancer may make here: two, the etcd
/// client's and the probe kit-sd-etcd opens after a failed connection to find out why it
/// failed (`src/probe.rs`); a client that did not back off makes thousands.
const CONNECTIONS_PER_READ: usize = 2;

/// While etcd is down, the instancer's attempts are spaced as the client's backoff says
/// (each attempt here fails at once: a connection accepted and closed).
#[tokio::test]
async fn attempts_against_a_down_etcd_back_off() {
    let (min, max) = (Duration::from_millis(50), Duration::from_millis(100));
    let attempts = Attempts::tcp(free_addr());
    let at = attempts.addr();
    let since = Instant::now();
    let client = Client::new(config_at(at.to_string()).retry_backoff(min, max));
    let instancer = client.instancer(PREFIX);
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    let hint = if cfg!(feature = "tls") {
        "give https:// endpoints and Config::tls"
    } else {
        "build kit-sd-etcd with its `tls` feature and use Config::tls"
    };
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: reading {PREFIX}*: etcd closed a plain HTTP/2 connection at its first bytes; if it serves TLS, {hint}"
        )
    );
    attempts
        .check_backs_off(
            Backoff::new(min, max),
            CONNECTIONS_PER_READ,
            since,
            Duration::from_secs(2),
        )
        .await;
}

/// etcd restarted mid-run (same data): the endpointer keeps the last good set while etcd is
/// down, and the watch resumes where it stopped, so that what changed during the outage
/// (a registration, a deregistration) and after it shows up exactly.
#[tokio::test]
async fn registry_restarted_mid_run() {
    let mut etcd = Etcd::started().await;
    let client = client(&etcd);
    let a = client.registrar(key("127.0.0.1:1"), "127.0.0.1:1");
    let b = client.registrar(key("127.0.0.1:2"), "127.0.0.1:2");
    a.register().await.unwrap();
    b.register().await.unwrap();
    let instancer = client.instancer(PREFIX);
    let endpointer = endpointer(&instancer);
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2"]).await;

    etcd.kill();
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    assert_eq!(event.error().unwrap().code(), Code::Unavailable);
    // The last good set stays, in the event and in the endpointer.
    assert_eq!(addrs(&event), ["127.0.0.1:1", "127.0.0.1:2"]);
    let endpoints = endpointer.endpoints();
    assert_eq!(endpoints.error().unwrap().code(), Code::Unavailable);
    assert_eq!(endpoint_addrs(&endpointer), ["127.0.0.1:1", "127.0.0.1:2"]);

    // While the instancer cannot reach etcd: one instance registers, another goes.
    etcd.start_admin_only().await;
    etcd.etcdctl(["put", &key("127.0.0.1:3"), "127.0.0.1:3"])
        .await;
    etcd.etcdctl(["del", &key("127.0.0.1:2")]).await;
    assert_eq!(endpoint_addrs(&endpointer), ["127.0.0.1:1", "127.0.0.1:2"]);
    etcd.stop().await;
    etcd.start().await;

    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:3"]).await;
    // And after it.
    let d = client.registrar(key("127.0.0.1:4"), "127.0.0.1:4");
    d.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:4"]).await;
    let endpoints = endpointer.endpoints();
    assert!(endpoints.error().is_none());
    assert_eq!(
        endpoint_addrs(&endpointer),
        ["127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:4"]
    );
    // The lease of the instance registered before the restart lived through it.
    a.deregister().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:3", "127.0.0.1:4"]).await;
}

/// etcd replaced by a fresh one (its data lost): the registrar's lease is gone, so it
/// registers again; the instancer sees the store's revision go back and reads the prefix
/// again, so that a key of the old store does not linger.
#[tokio::test]
async fn registry_restarted_without_its_data() {
    let mut etcd = Etcd::started().await;
    let client = client(&etcd);
    let registrar = client.registrar(key("127.0.0.1:1"), "127.0.0.1:1");
    registrar.register().await.unwrap();
    etcd.etcdctl(["put", &key("127.0.0.1:9"), "127.0.0.1:9"])
        .await;
    // Revisions the fresh store will not reach soon.
    for i in 0..20 {
        etcd.etcdctl(["put", "/elsewhere", &i.to_string()]).await;
    }
    let instancer = client.instancer(PREFIX);
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:9"]).await;

    etcd.kill();
    etcd.wipe();
    etcd.start().await;
    wait_for_instances(&instancer, &["127.0.0.1:1"]).await;

    // The instancer follows the new store.
    let b = client.registrar(key("127.0.0.1:2"), "127.0.0.1:2");
    b.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2"]).await;
}

/// An instance registering and deregistering over and over, beside a stable one: the
/// shared check, and an endpointer that follows both ways.
#[tokio::test]
async fn instance_flapping() {
    let etcd = Etcd::started().await;
    let client = client(&etcd);
    let instancer = client.instancer(PREFIX);
    let endpointer = endpointer(&instancer);
    let stable = client.registrar(key("127.0.0.1:1"), "127.0.0.1:1");
    stable.register().await.unwrap();
    let flapping = client.registrar(key("127.0.0.1:2"), "127.0.0.1:2");
    check_flapping(
        &instancer,
        &["127.0.0.1:1"],
        "127.0.0.1:2",
        async || flapping.register().await.unwrap(),
        async || flapping.deregister().await.unwrap(),
    )
    .await;
    assert_eq!(endpoint_addrs(&endpointer), ["127.0.0.1:1"]);

    flapping.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2"]).await;
    assert_eq!(endpoint_addrs(&endpointer), ["127.0.0.1:1", "127.0.0.1:2"]);
}

/// A factory that fails for one instance: that one is left out, and the others serve every
/// call. The failed instance is tried again at the registry's next change.
#[tokio::test]
async fn a_factory_failing_for_one_instance() {
    let etcd = Etcd::started().await;
    let client = client(&etcd);
    let registrars: Vec<_> = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
        .into_iter()
        .map(|addr| client.registrar(key(addr), addr))
        .collect();
    for registrar in &registrars {
        registrar.register().await.unwrap();
    }
    let instancer = client.instancer(PREFIX);
    // Fails for 127.0.0.1:2 the first time it is asked.
    let refused = AtomicBool::new(false);
    let endpointer = Endpointer::new(&instancer, move |instance: &Instance| {
        if instance.addr() == "127.0.0.1:2" && !refused.swap(true, Ordering::SeqCst) {
            return Err(Error::unavailable("cannot connect to 127.0.0.1:2"));
        }
        let addr = instance.addr().to_owned();
        Ok(endpoint_fn(move |_ctx: Context, _req: ()| {
            let addr = addr.clone();
            async move { Ok::<_, Error>(addr) }
        }))
    });
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]).await;
    assert_eq!(endpoint_addrs(&endpointer), ["127.0.0.1:1", "127.0.0.1:3"]);

    let balanced = Balanced::new(endpointer, RoundRobin::new());
    let mut served = BTreeMap::new();
    for _ in 0..10 {
        let addr = balanced.call(Context::background(), ()).await.unwrap();
        *served.entry(addr).or_insert(0) += 1;
    }
    assert_eq!(
        served,
        BTreeMap::from([("127.0.0.1:1".to_owned(), 5), ("127.0.0.1:3".to_owned(), 5)])
    );

    let fourth = client.registrar(key("127.0.0.1:4"), "127.0.0.1:4");
    fourth.register().await.unwrap();
    wait_for_instances(
        &instancer,
        &["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"],
    )
    .await;
    assert_eq!(
        endpoint_addrs(balanced.endpointer()),
        ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"]
    );
}
