//! A create whose answer is lost: the server made the instance's node, the connection ended
//! before the answer reached the registrar. The registrar must find the node it made (by its
//! protected name) rather than make a second one, or make a new one if the session, and so
//! the node, is gone.
//!
//! The registrar reaches the server through a proxy that holds the server's answers back:
//! the test lets them through one at a time until the server has made the node, then loses
//! the answer to the create.

use std::sync::Arc;
use std::time::Duration;

use kit::Error;
use kit::sd::{Instancer, Registrar as _};
use kit_sd_zookeeper::{Registrar, instancer};
use kit_testkit::proxy::Proxy;
use kit_testkit::zookeeper::ZooKeeper;
use tokio::task::JoinHandle;
use zookeeper_client as zk;

use crate::{SERVICE, builder, children, client, eventually, instances, raw, wait_for_set};

/// The instance every test registers.
const ADDR: &str = "127.0.0.1:8081";

/// A test's setup: a registrar whose session runs through a proxy, and lookers from outside.
struct Setup {
    /// The server, running as long as the setup lives.
    _zk: ZooKeeper,
    proxy: Proxy,
    registrar: Arc<Registrar>,
    /// A plain session straight to the server.
    direct: zk::Client,
    /// An instancer on a client straight to the server.
    observer: Instancer,
}

impl Setup {
    /// The setup, with a registrar's client asking for `session_timeout`. Its session and the
    /// service's node are made by a first registration, undone, so that the connection is
    /// open when the proxy holds its answers.
    async fn new(session_timeout: Duration) -> Setup {
        let zk = ZooKeeper::start().await;
        let servers = zk.connect_string();
        let proxy = Proxy::start(zk.addr());
        let proxied = builder(&proxy.addr().to_string())
            .session_timeout(session_timeout)
            .build()
            .unwrap();
        let registrar = Arc::new(Registrar::new(&proxied, SERVICE, ADDR).unwrap());
        registrar.register().await.unwrap();
        registrar.deregister().await.unwrap();
        let direct = raw(&servers).await;
        let observer = instancer(&client(&servers), SERVICE).unwrap();
        wait_for_set(&observer, &[]).await;
        Setup {
            _zk: zk,
            proxy,
            registrar,
            direct,
            observer,
        }
    }

    /// Starts registering with the server's answers held back, lets them through one at a
    /// time until the server has made the instance's node, and returns the registration
    /// under way (still waiting for the answer to its create) and the node's name.
    ///
    /// The registrar sends a request only once it has the answer to the one before, so when
    /// the proxy holds an answer and the node does not exist yet, the create has not been
    /// sent: releasing that answer cannot release the create's.
    async fn register_until_created(&self) -> (JoinHandle<Result<(), Error>>, String) {
        self.proxy.hold_replies();
        let registrar = self.registrar.clone();
        let registering = tokio::spawn(async move { registrar.register().await });
        loop {
            eventually("an answer held by the proxy", async || {
                self.proxy.held_bytes() > 0
            })
            .await;
            let nodes = self.direct.list_children(SERVICE).await.unwrap();
            if let [node] = &nodes[..] {
                assert!(!registering.is_finished(), "the create was answered");
                return (registering, node.clone());
            }
            assert_eq!(nodes, Vec::<String>::new());
            self.proxy.release_replies();
        }
    }

    /// Checks that the registrar's instance is there once, as `node` (the one the server
    /// made first), and that an instancer sees it.
    async fn registered_once_as(&self, node: &str) {
        assert_eq!(
            children(&self.direct, SERVICE).await,
            [format!("{node}={ADDR}")]
        );
        assert_eq!(self.registrar.node(), Some(format!("{SERVICE}/{node}")));
        wait_for_set(&self.observer, &instances([ADDR])).await;
    }
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_with_the_connection_registers_one_node() {
    // A session timeout far above the cut's length: the session survives it.
    let setup = Setup::new(Duration::from_secs(30)).await;
    let (registering, node) = setup.register_until_created().await;

    // The connection ends with the answer unsent; the client reconnects the same session.
    setup.proxy.cut();
    setup.proxy.heal();
    registering.await.unwrap().unwrap();

    // The registrar found the node it made: one node, the one the server made first.
    setup.registered_once_as(&node).await;
}

#[tokio::test]
async fn a_create_on_a_connection_the_client_gives_up_on_registers_one_node() {
    // The default session timeout (5 s): the client gives up on a connection that has
    // answered nothing for 2/5 of it (2 s), and reconnects the same session.
    let setup = Setup::new(kit_sd_zookeeper::DEFAULT_SESSION_TIMEOUT).await;
    let (registering, node) = setup.register_until_created().await;

    // The proxy never answers on that connection; the client gives up on it by itself.
    registering.await.unwrap().unwrap();
    setup.registered_once_as(&node).await;
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_with_the_session_registers_again() {
    // A short session timeout, so that the server expires the session while cut off.
    let setup = Setup::new(Duration::from_secs(2)).await;
    let (registering, node) = setup.register_until_created().await;

    // Cut off until the server has expired the session: the node it made is gone.
    setup.proxy.cut();
    eventually("the server has deleted the node", async || {
        // The names only: a node listed may be gone by the time its data is read.
        setup
            .direct
            .list_children(SERVICE)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    setup.proxy.heal();
    registering.await.unwrap().unwrap();

    // Registered again, on a new session: one node, a new one.
    let nodes = children(&setup.direct, SERVICE).await;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    let (new_node, addr) = nodes[0].split_once('=').unwrap();
    assert_ne!(new_node, node);
    assert_eq!(addr, ADDR);
    assert_eq!(
        setup.registrar.node(),
        Some(format!("{SERVICE}/{new_node}"))
    );
    wait_for_set(&setup.observer, &instances([ADDR])).await;
}
