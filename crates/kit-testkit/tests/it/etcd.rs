//! The etcd helper against the real server: started, stopped and started again with its
//! data, wiped, cut off from clients, with auth, in TLS mode.

use std::time::Duration;

use kit_testkit::etcd::Etcd;

const KEY: &str = "/kit-testkit/key";

#[tokio::test]
async fn data_survives_a_restart_and_goes_with_a_wipe() {
    let mut etcd = Etcd::started().await;
    etcd.etcdctl(["put", KEY, "kept"]).await;
    etcd.kill();
    etcd.start().await;
    assert_eq!(
        etcd.etcdctl(["get", "--print-value-only", KEY]).await,
        "kept\n"
    );

    etcd.stop().await;
    etcd.wipe();
    etcd.start().await;
    assert_eq!(etcd.etcdctl(["get", "--print-value-only", KEY]).await, "");
}

#[tokio::test]
async fn admin_only_leaves_the_client_port_closed() {
    let mut etcd = Etcd::new();
    etcd.start_admin_only().await;
    etcd.etcdctl(["put", KEY, "v"]).await;
    let refused = tokio::net::TcpStream::connect(etcd.client_addr()).await;
    assert!(refused.is_err(), "the client port accepted a connection");

    etcd.stop().await;
    etcd.start().await;
    kit_testkit::wait_for_port_async(etcd.client_addr(), Duration::from_secs(5)).await;
}

#[tokio::test]
async fn auth_with_root_and_a_user_for_a_prefix() {
    let mut etcd = Etcd::started().await;
    etcd.enable_auth("root-secret").await;
    etcd.add_user("kit", "kit-secret", "/kit-testkit/").await;
    // etcdctl itself goes on as root.
    etcd.etcdctl(["put", KEY, "v"]).await;
    let users = etcd.etcdctl(["user", "list"]).await;
    assert_eq!(users, "kit\nroot\n");
    let role = etcd.etcdctl(["role", "get", "kit-role"]).await;
    assert!(role.contains("[/kit-testkit/, /kit-testkit0)"), "{role}");
}

#[tokio::test]
async fn tls_mode_serves_etcdctl_with_the_client_certificate() {
    let etcd = Etcd::started_tls().await;
    assert_eq!(etcd.client_url(), format!("https://{}", etcd.client_addr()));
    let certificates = etcd.tls().expect("TLS mode");
    assert!(certificates.ca.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        certificates
            .client_key
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // etcdctl presents the client certificate over TLS.
    etcd.etcdctl(["put", KEY, "v"]).await;
    assert_eq!(
        etcd.etcdctl(["get", "--print-value-only", KEY]).await,
        "v\n"
    );
    // Each server has a CA of its own.
    assert_ne!(Etcd::new_tls().tls().unwrap().ca, certificates.ca);
    assert!(Etcd::new().tls().is_none());
}
