//! Digest credentials and the ACLs of the nodes created with them.

use kit::Code;
use kit::sd::Registrar as _;
use kit_sd_zookeeper::{Acl, Registrar, instancer};
use kit_testkit::zookeeper::ZooKeeper;

use crate::{SERVICE, builder, client, instances, raw, wait_for, wait_for_set};

const REFUSED_READ: &str = "zookeeper: not allowed to read the children of /services/addsvc/http: \
     the node's ACL refuses";
const WHY: &str = "(wrong credentials, or none where some are needed)";

#[tokio::test]
async fn nodes_made_with_credentials_are_the_creators_only() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    let alice = builder(&servers).digest("alice", "secret").build().unwrap();
    let registrar = Registrar::new(&alice, SERVICE, "127.0.0.1:8081").unwrap();
    registrar.register().await.unwrap();
    let alices = instancer(&alice, SERVICE).unwrap();
    wait_for_set(&alices, &instances(["127.0.0.1:8081"])).await;

    // The service's nodes and the instance's are alice's alone: all permissions for her
    // digest identity, nothing for anyone else (reading an ACL needs a permission too).
    let as_alice = zookeeper_client::Client::connector()
        .with_auth("digest", b"alice:secret")
        .connect(&servers)
        .await
        .unwrap();
    for node in [
        "/services",
        "/services/addsvc",
        SERVICE,
        &registrar.node().unwrap(),
    ] {
        assert_eq!(
            raw(&servers).await.get_acl(node).await.unwrap_err(),
            zookeeper_client::Error::NoAuth
        );
        let (acl, _) = as_alice.get_acl(node).await.unwrap();
        assert_eq!(acl.len(), 1, "{node}: {acl:?}");
        assert_eq!(
            (acl[0].scheme(), acl[0].permission()),
            ("digest", zookeeper_client::Permission::ALL),
            "{node}"
        );
        assert!(acl[0].id().starts_with("alice:"), "{node}: {acl:?}");
    }

    // Without credentials, or with the wrong password, reading is refused, and says so.
    for (other, who) in [
        (client(&servers), "a client without credentials"),
        (
            builder(&servers).digest("alice", "wrong").build().unwrap(),
            "digest user `alice`",
        ),
    ] {
        let refused = instancer(&other, SERVICE).unwrap();
        let event = wait_for(&refused, "an error", |event| event.error().is_some()).await;
        let err = event.error().unwrap();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(err.message(), format!("{REFUSED_READ} {who} {WHY}"));
        assert!(event.instances().is_empty());

        let intruder = Registrar::new(&other, SERVICE, "127.0.0.1:9999").unwrap();
        let err = intruder.register().await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(err.message(), format!("{REFUSED_READ} {who} {WHY}"));
        assert_eq!(intruder.node(), None);
    }

    registrar.deregister().await.unwrap();
    wait_for_set(&alices, &[]).await;
}

#[tokio::test]
async fn anyone_may_read_what_the_creator_alone_may_change() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    let alice = builder(&servers)
        .digest("alice", "secret")
        .acl(Acl::CreatorWritesAnyoneReads)
        .build()
        .unwrap();
    let registrar = Registrar::new(&alice, SERVICE, "127.0.0.1:8081").unwrap();
    registrar.register().await.unwrap();

    // A client without credentials (Go kit's default) discovers the instance...
    let anonymous = client(&servers);
    let instancer = instancer(&anonymous, SERVICE).unwrap();
    wait_for_set(&instancer, &instances(["127.0.0.1:8081"])).await;

    // ...but cannot register beside it.
    let intruder = Registrar::new(&anonymous, SERVICE, "127.0.0.1:9999").unwrap();
    let err = intruder.register().await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        format!(
            "zookeeper: not allowed to create a node under {SERVICE}: the node's ACL refuses \
             a client without credentials {WHY}"
        )
    );
}
