//! The registrar: a key under a lease, kept alive, replaced when lost, removed on
//! deregistration.

use std::time::Duration;

use kit::sd::Registrar as _;
use kit_testkit::etcd::Etcd;

use crate::support::{WAIT, client, json_number, wait_for_instances};

const PREFIX: &str = "/services/svc/http/";

/// The lease IDs etcd holds (`etcdctl lease list`, hexadecimal).
async fn leases(etcd: &Etcd) -> Vec<String> {
    let list = etcd.etcdctl(["lease", "list"]).await;
    // "found N leases" then one ID per line.
    list.lines().skip(1).map(str::to_owned).collect()
}

/// The lease `key` is under (16 hexadecimal digits, as `etcdctl lease list` prints it).
async fn lease_of(etcd: &Etcd, key: &str) -> String {
    let json = etcd.etcdctl(["get", "-w", "json", key]).await;
    let lease = json_number(&json, "lease").unwrap_or_else(|| panic!("{key} has no lease: {json}"));
    format!("{lease:016x}")
}

#[tokio::test]
async fn register_puts_the_key_under_a_lease_and_deregister_removes_both() {
    let etcd = Etcd::started().await;
    let client = client(&etcd);
    let instancer = client.instancer(PREFIX);
    wait_for_instances(&instancer, &[]).await;

    let key = format!("{PREFIX}127.0.0.1:8081");
    let registrar = client
        .registrar(&key, "127.0.0.1:8081")
        .ttl(Duration::from_secs(3));
    assert_eq!(registrar.key(), key);
    registrar.register().await.unwrap();
    // Registered once, however often asked.
    registrar.register().await.unwrap();

    // `register` returned once etcd had it.
    let value = etcd.etcdctl(["get", "--print-value-only", &key]).await;
    assert_eq!(value, "127.0.0.1:8081\n");
    let lease = lease_of(&etcd, &key).await;
    assert_eq!(leases(&etcd).await, std::slice::from_ref(&lease));
    let ttl = etcd.etcdctl(["lease", "timetolive", &lease]).await;
    assert!(ttl.contains("granted with TTL(3s)"), "{ttl}");
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;

    registrar.deregister().await.unwrap();
    // Gone from etcd, lease and all, once `deregister` returns.
    assert_eq!(etcd.etcdctl(["get", "--print-value-only", &key]).await, "");
    assert_eq!(leases(&etcd).await, Vec::<String>::new());
    wait_for_instances(&instancer, &[]).await;
    registrar.deregister().await.unwrap();

    // And again.
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;
    registrar.deregister().await.unwrap();
    wait_for_instances(&instancer, &[]).await;
}

/// The lease outlives many TTLs while the registrar keeps it alive.
#[tokio::test]
async fn the_lease_is_kept_alive() {
    let etcd = Etcd::started().await;
    let client = client(&etcd);
    let key = format!("{PREFIX}127.0.0.1:8081");
    let registrar = client
        .registrar(&key, "127.0.0.1:8081")
        .ttl(Duration::from_secs(3));
    registrar.register().await.unwrap();
    let lease = lease_of(&etcd, &key).await;

    // Watched for three TTLs, the lease never expires.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(9);
    while tokio::time::Instant::now() < deadline {
        let ttl = etcd.etcdctl(["lease", "timetolive", &lease]).await;
        assert!(!ttl.contains("already expired"), "{ttl}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(lease_of(&etcd, &key).await, lease);
    registrar.deregister().await.unwrap();
}

/// A lease revoked behind the registrar's back (or otherwise lost): the key goes with it,
/// and the registrar puts it back under a new lease.
#[tokio::test]
async fn a_lost_lease_is_replaced() {
    let etcd = Etcd::started().await;
    let client = client(&etcd);
    let key = format!("{PREFIX}127.0.0.1:8081");
    let registrar = client
        .registrar(&key, "127.0.0.1:8081")
        .ttl(Duration::from_secs(2));
    registrar.register().await.unwrap();
    let lost = lease_of(&etcd, &key).await;

    etcd.etcdctl(["lease", "revoke", &lost]).await;
    let back = tokio::time::timeout(WAIT, async {
        loop {
            let value = etcd.etcdctl(["get", "--print-value-only", &key]).await;
            if value == "127.0.0.1:8081\n" {
                let lease = lease_of(&etcd, &key).await;
                if lease != lost {
                    return lease;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the key is back under a new lease");
    assert_eq!(leases(&etcd).await, [back]);

    // The new lease is the one deregistration revokes.
    registrar.deregister().await.unwrap();
    assert_eq!(etcd.etcdctl(["get", "--print-value-only", &key]).await, "");
    assert_eq!(leases(&etcd).await, Vec::<String>::new());
}

/// Fault: a registrar whose keep-alives stop (its process died: the registrar dropped
/// without deregistering) disappears from the instancer once its lease expires.
#[tokio::test]
async fn an_instance_whose_keep_alives_stop_expires_after_its_ttl() {
    let etcd = Etcd::started().await;
    let client = client(&etcd);
    let instancer = client.instancer(PREFIX);
    let stays = client.registrar(format!("{PREFIX}127.0.0.1:1"), "127.0.0.1:1");
    stays.register().await.unwrap();
    let dies = client
        .registrar(format!("{PREFIX}127.0.0.1:2"), "127.0.0.1:2")
        .ttl(Duration::from_secs(2));
    dies.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2"]).await;

    let lease = lease_of(&etcd, &format!("{PREFIX}127.0.0.1:2")).await;
    drop(dies);
    wait_for_instances(&instancer, &["127.0.0.1:1"]).await;
    // It went because its lease expired (nothing deleted it).
    let ttl = etcd.etcdctl(["lease", "timetolive", &lease]).await;
    assert!(ttl.contains("already expired"), "{ttl}");
}
