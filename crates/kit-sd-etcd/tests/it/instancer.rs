//! The instancer: the initial read of a prefix, then the watch.

use kit_testkit::etcd::Etcd;

use crate::support::{client, compact, wait_for_instances};

#[tokio::test]
async fn reads_the_prefix_then_follows_puts_and_deletes() {
    let etcd = Etcd::started().await;
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.1:80", "10.0.0.1:80"])
        .await;
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.2:80", "10.0.0.2:80"])
        .await;
    // Outside the prefix: another transport, another service.
    etcd.etcdctl(["put", "/services/svc/grpc/10.0.0.9:82", "10.0.0.9:82"])
        .await;
    etcd.etcdctl(["put", "/services/svc/httpx", "10.0.0.8:80"])
        .await;

    let instancer = client(&etcd).instancer("/services/svc/http/");
    wait_for_instances(&instancer, &["10.0.0.1:80", "10.0.0.2:80"]).await;

    etcd.etcdctl(["put", "/services/svc/http/10.0.0.3:80", "10.0.0.3:80"])
        .await;
    wait_for_instances(&instancer, &["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]).await;

    etcd.etcdctl(["del", "/services/svc/http/10.0.0.1:80"])
        .await;
    wait_for_instances(&instancer, &["10.0.0.2:80", "10.0.0.3:80"]).await;

    // The value is the instance: a key whose value changes moves its instance.
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.3:80", "10.0.0.4:80"])
        .await;
    wait_for_instances(&instancer, &["10.0.0.2:80", "10.0.0.4:80"]).await;

    // Two keys with one value are one instance, until both are gone.
    etcd.etcdctl(["put", "/services/svc/http/other", "10.0.0.2:80"])
        .await;
    etcd.etcdctl(["del", "/services/svc/http/10.0.0.2:80"])
        .await;
    etcd.etcdctl(["put", "/services/svc/http/marker", "10.0.0.5:80"])
        .await;
    wait_for_instances(&instancer, &["10.0.0.2:80", "10.0.0.4:80", "10.0.0.5:80"]).await;

    etcd.etcdctl(["del", "--prefix", "/services/svc/http/"])
        .await;
    wait_for_instances(&instancer, &[]).await;
}

/// A watch that resumes from a compacted revision is cancelled by etcd: the instancer
/// reads the prefix again, so that the changes it missed are not lost.
#[tokio::test]
async fn a_compacted_history_is_read_again() {
    let mut etcd = Etcd::started().await;
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.1:80", "10.0.0.1:80"])
        .await;
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.2:80", "10.0.0.2:80"])
        .await;
    let instancer = client(&etcd).instancer("/services/svc/http/");
    wait_for_instances(&instancer, &["10.0.0.1:80", "10.0.0.2:80"]).await;

    // Changes the instancer cannot see as they happen, then the history of them compacted.
    etcd.stop().await;
    etcd.start_admin_only().await;
    etcd.etcdctl(["del", "/services/svc/http/10.0.0.1:80"])
        .await;
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.3:80", "10.0.0.3:80"])
        .await;
    compact(&etcd).await;
    etcd.stop().await;
    etcd.start().await;

    wait_for_instances(&instancer, &["10.0.0.2:80", "10.0.0.3:80"]).await;
    etcd.etcdctl(["put", "/services/svc/http/10.0.0.4:80", "10.0.0.4:80"])
        .await;
    wait_for_instances(&instancer, &["10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]).await;
}
