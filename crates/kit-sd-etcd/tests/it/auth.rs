//! etcd with authentication enabled: a user with a password, refused credentials, missing
//! ones, missing permissions, and tokens lost in a restart.

use kit::Code;
use kit::sd::Registrar as _;
use kit_sd_etcd::Client;
use kit_testkit::etcd::Etcd;

use crate::support::{config, wait_for, wait_for_instances};

const PREFIX: &str = "/services/svc/http/";

/// etcd with auth enabled and a user `kit` (password `kit-secret`) that may use
/// `/services/`.
async fn etcd_with_auth() -> Etcd {
    let mut etcd = Etcd::started().await;
    etcd.enable_auth("root-secret").await;
    etcd.add_user("kit", "kit-secret", "/services/").await;
    etcd
}

#[tokio::test]
async fn a_user_with_its_password_registers_and_discovers() {
    let mut etcd = etcd_with_auth().await;
    let client = Client::new(config(&etcd).credentials("kit", "kit-secret"));
    let registrar = client.registrar(format!("{PREFIX}127.0.0.1:1"), "127.0.0.1:1");
    registrar.register().await.unwrap();
    let instancer = client.instancer(PREFIX);
    wait_for_instances(&instancer, &["127.0.0.1:1"]).await;

    // A restart forgets the tokens etcd handed out: the client authenticates again.
    etcd.stop().await;
    etcd.start().await;
    let second = client.registrar(format!("{PREFIX}127.0.0.1:2"), "127.0.0.1:2");
    second.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2"]).await;
    registrar.deregister().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:2"]).await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_clearly() {
    let etcd = etcd_with_auth().await;
    let at = etcd.client_addr();
    let client = Client::new(config(&etcd).credentials("kit", "wrong"));

    let instancer = client.instancer(PREFIX);
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: reading {PREFIX}*: authentication failed, invalid user ID or password"
        )
    );

    let registrar = client.registrar(format!("{PREFIX}127.0.0.1:1"), "127.0.0.1:1");
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: granting a lease of 10s: authentication failed, invalid user ID or password"
        )
    );
}

#[tokio::test]
async fn no_credentials_where_auth_is_enabled() {
    let etcd = etcd_with_auth().await;
    let at = etcd.client_addr();
    let instancer = Client::new(config(&etcd)).instancer(PREFIX);
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: reading {PREFIX}*: authentication is enabled on etcd and no credentials were given"
        )
    );
}

#[tokio::test]
async fn a_prefix_the_user_may_not_read() {
    let etcd = etcd_with_auth().await;
    let at = etcd.client_addr();
    let client = Client::new(config(&etcd).credentials("kit", "kit-secret"));
    let instancer = client.instancer("/secrets/");
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        format!("etcd at {at}: reading /secrets/*: permission denied")
    );
    let registrar = client.registrar("/secrets/127.0.0.1:1", "127.0.0.1:1");
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        format!("etcd at {at}: putting /secrets/127.0.0.1:1: permission denied")
    );
    // The lease granted for the refused key is revoked, not left to expire.
    assert_eq!(etcd.etcdctl(["lease", "list"]).await, "found 0 leases\n");
}
