//! Registration and discovery on a healthy server, and the arguments refused up front.

use kit::Code;
use kit::sd::Registrar as _;
use kit_sd_zookeeper::{Acl, Client, Registrar, instancer};
use kit_testkit::zookeeper::ZooKeeper;
use zookeeper_client as zk;

use crate::{SERVICE, children, client, eventually, instances, raw, wait_for_set};

#[tokio::test]
async fn registrations_are_ephemeral_sequential_nodes_the_instancer_follows() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    let client = client(&servers);

    // The instancer comes first and makes the service's node, as Go kit's does.
    let instancer = instancer(&client, SERVICE).unwrap();
    wait_for_set(&instancer, &[]).await;
    let outsider = raw(&servers).await;
    assert!(outsider.check_stat(SERVICE).await.unwrap().is_some());

    let a = Registrar::new(&client, SERVICE, "127.0.0.1:8081").unwrap();
    let b = Registrar::new(&client, SERVICE, "127.0.0.1:8082").unwrap();
    assert_eq!(a.node(), None);
    a.register().await.unwrap();
    b.register().await.unwrap();
    wait_for_set(&instancer, &instances(["127.0.0.1:8081", "127.0.0.1:8082"])).await;

    // Each is an ephemeral node of the client's session, named `_c_<32 hex>-<10 digits>`,
    // whose data is the address.
    let node = a.node().unwrap();
    let name = node.strip_prefix(&format!("{SERVICE}/")).unwrap();
    let (id, sequence) = name.strip_prefix("_c_").unwrap().split_once('-').unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    assert!(
        sequence.len() == 10 && sequence.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    let (data, stat) = outsider.get_data(&node).await.unwrap();
    assert_eq!(data, b"127.0.0.1:8081");
    assert_ne!(stat.ephemeral_owner, 0);
    assert_eq!(children(&outsider, SERVICE).await.len(), 2);

    // Registering again while registered changes nothing.
    a.register().await.unwrap();
    assert_eq!(a.node(), Some(node.clone()));
    assert_eq!(children(&outsider, SERVICE).await.len(), 2);

    a.deregister().await.unwrap();
    assert_eq!(a.node(), None);
    wait_for_set(&instancer, &instances(["127.0.0.1:8082"])).await;
    assert!(outsider.check_stat(&node).await.unwrap().is_none());
    // Deregistering again is harmless; registering again makes a new node.
    a.deregister().await.unwrap();
    a.register().await.unwrap();
    assert_ne!(a.node(), Some(node));
    wait_for_set(&instancer, &instances(["127.0.0.1:8081", "127.0.0.1:8082"])).await;
}

#[tokio::test]
async fn a_registration_deleted_by_someone_else_is_made_again() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    let client = client(&servers);
    let registrar = Registrar::new(&client, SERVICE, "127.0.0.1:8081").unwrap();
    registrar.register().await.unwrap();
    let node = registrar.node().unwrap();

    let outsider = raw(&servers).await;
    outsider.delete(&node, None).await.unwrap();
    eventually("the registrar makes a new node", async || {
        registrar.node().is_some_and(|new| new != node)
    })
    .await;
    let instancer = instancer(&client, SERVICE).unwrap();
    wait_for_set(&instancer, &instances(["127.0.0.1:8081"])).await;
    let left = children(&outsider, SERVICE).await;
    assert_eq!(left.len(), 1, "{left:?}");
}

#[tokio::test]
async fn instances_registered_the_go_kit_way_are_read() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    // Go kit's registrar: persistent parents, then a protected ephemeral sequential node
    // named after the service, the address as data. Nodes without data are left out.
    let go_kit = raw(&servers).await;
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    go_kit.mkdir(SERVICE, &open).await.unwrap();
    let ephemeral = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let name = format!("{SERVICE}/_c_0123456789abcdef0123456789abcdef-addsvc");
    go_kit
        .create(&name, b"10.0.0.1:8081", &ephemeral)
        .await
        .unwrap();
    go_kit.create(&name, b"", &ephemeral).await.unwrap();

    let instancer = instancer(&client(&servers), SERVICE).unwrap();
    wait_for_set(&instancer, &instances(["10.0.0.1:8081"])).await;

    // A node that leaves is noticed too (the watch is set again after each change).
    go_kit
        .create(&name, b"10.0.0.2:8081", &ephemeral)
        .await
        .unwrap();
    wait_for_set(&instancer, &instances(["10.0.0.1:8081", "10.0.0.2:8081"])).await;
    drop(go_kit);
    wait_for_set(&instancer, &[]).await;
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_connection() {
    // Nothing listens there: none of these may try to connect.
    let client = client("127.0.0.1:1");
    for path in ["services/addsvc", "/", "/services/addsvc/", "/a//b"] {
        let err = instancer(&client, path).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{path}");
        assert!(
            err.message()
                .starts_with(&format!("zookeeper: bad service path `{path}`: ")),
            "{}",
            err.message()
        );
        let err = Registrar::new(&client, path, "127.0.0.1:8081").unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{path}");
    }
    let err = Registrar::new(&client, SERVICE, "").unwrap_err();
    assert_eq!(
        err.message(),
        "zookeeper: an instance needs an address (the node's data)"
    );

    let cases = [
        (
            Client::builder(" ").build(),
            "zookeeper: no servers given (a connect string is host:port,host:port,...)",
        ),
        (
            Client::builder("127.0.0.1:1")
                .session_timeout(std::time::Duration::ZERO)
                .build(),
            "zookeeper: the session and connect timeouts must not be zero",
        ),
        (
            Client::builder("127.0.0.1:1").digest("a:b", "c").build(),
            "zookeeper: a digest user name cannot contain `:` (got `a:b`)",
        ),
        (
            Client::builder("127.0.0.1:1").acl(Acl::CreatorOnly).build(),
            "zookeeper: an ACL for the creator needs digest credentials (ClientBuilder::digest)",
        ),
    ];
    for (result, message) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), message);
    }
}
