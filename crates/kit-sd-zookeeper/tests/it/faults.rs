//! The faults of issue 10, each against the real server: the registry down at start, the
//! registry restarted mid-run, session expiry, a flapping instance, a factory that fails for
//! one instance.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kit::middleware::retry::Backoff;

use kit::sd::{Balanced, Endpointer, Event, Instance, Instancer, Registrar as _, RoundRobin};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use kit_sd_zookeeper::{Client, Registrar, instancer};
use kit_testkit::attempts::Attempts;
use kit_testkit::free_addr;
use kit_testkit::proxy::Proxy;
use kit_testkit::sd::{Recording, check_flapping};
use kit_testkit::zookeeper::ZooKeeper;

use crate::{
    SERVICE, builder, children, client, eventually, instances, raw, wait_for, wait_for_set,
};

/// The addresses an endpointer holds endpoints for.
fn held<E: Send + Sync + 'static>(endpointer: &Endpointer<E>) -> Vec<Instance> {
    let endpoints = endpointer.endpoints();
    endpoints
        .entries()
        .iter()
        .map(|entry| entry.instance().clone())
        .collect()
}

/// An endpointer whose endpoints are their instances' addresses.
fn addresses(instancer: &Instancer) -> Endpointer<String> {
    Endpointer::new(instancer, |instance: &Instance| {
        Ok(instance.addr().to_owned())
    })
}

#[tokio::test]
async fn a_registry_down_at_start_is_reported_and_retried_until_it_is_up() {
    let mut zk = ZooKeeper::configure();
    let servers = zk.connect_string();
    // Registration tries for the connect timeout; 5 s is enough for several attempts.
    let client = Client::builder(&servers)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let unreachable = format!("zookeeper: cannot connect to {servers}: no server answered");

    let instancer = instancer(&client, SERVICE).unwrap();
    let recording = Recording::start(&instancer);
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), unreachable);
    // It tries again and again (each failure is reported anew).
    // The answers recorded: the recording starts with the instancer's state then, which is
    // no answer yet (no instances, no error) unless the first attempt had already failed.
    let answers = || -> Vec<Event> {
        recording
            .events()
            .into_iter()
            .filter(Event::is_resolved)
            .collect()
    };
    eventually("three failed attempts reported", async || {
        answers().len() >= 3
    })
    .await;
    for event in answers() {
        assert_eq!(event.error().map(Error::message), Some(&*unreachable));
        assert!(event.instances().is_empty());
    }

    // Registration tries for the connect timeout, then says why it gave up.
    let registrar = Registrar::new(&client, SERVICE, "127.0.0.1:8081").unwrap();
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), unreachable);
    assert_eq!(registrar.node(), None);

    // The instancer has kept trying: once the server is up it reports the service, empty,
    // without an error; then the instance registered.
    zk.resume().await;
    wait_for_set(&instancer, &[]).await;
    registrar.register().await.unwrap();
    wait_for_set(&instancer, &instances(["127.0.0.1:8081"])).await;
}

/// While the server is down, the instancer's attempts at a session are spaced as the crate's
/// backoff says (100 ms doubling to 2 s; each attempt here fails at once: a connection
/// accepted and closed).
#[tokio::test]
async fn attempts_against_a_down_registry_back_off() {
    let attempts = Attempts::tcp(free_addr());
    let servers = attempts.addr().to_string();
    let since = Instant::now();
    let client = client(&servers);
    let instancer = instancer(&client, SERVICE).unwrap();
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!("zookeeper: cannot connect to {servers}: no server answered")
    );
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    attempts
        .check_backs_off(backoff, 1, since, Duration::from_secs(3))
        .await;
}

#[tokio::test]
async fn a_restarted_registry_keeps_the_instances_and_the_watch() {
    let mut zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    // A session timeout far above a restart's length, so that the sessions survive it
    // however slowly the JVM starts: this test is about a restart, not an expiry.
    let client = builder(&servers)
        .session_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let a = Registrar::new(&client, SERVICE, "127.0.0.1:8081").unwrap();
    let b = Registrar::new(&client, SERVICE, "127.0.0.1:8082").unwrap();
    a.register().await.unwrap();
    b.register().await.unwrap();
    let instancer = instancer(&client, SERVICE).unwrap();
    let endpointer = addresses(&instancer);
    let both = instances(["127.0.0.1:8081", "127.0.0.1:8082"]);
    wait_for_set(&instancer, &both).await;
    let nodes = (a.node(), b.node());
    let recording = Recording::start(&instancer);

    zk.stop().await;
    // The loss is reported; the instances stay, and so do their endpoints.
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!("zookeeper: lost the connection to {servers}; reconnecting")
    );
    assert_eq!(event.instances(), both);
    let endpoints = endpointer.endpoints();
    assert_eq!(endpoints.error().map(Error::code), Some(Code::Unavailable));
    assert_eq!(held(&endpointer), both);

    zk.resume().await;
    // Reconnected on the same session: the error clears, the nodes are the same ones.
    wait_for_set(&instancer, &both).await;
    assert_eq!((a.node(), b.node()), nodes);
    // The watch is set again: a new instance is seen.
    let c = Registrar::new(&client, SERVICE, "127.0.0.1:8083").unwrap();
    c.register().await.unwrap();
    let all = instances(["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"]);
    wait_for_set(&instancer, &all).await;
    eventually("the endpointer holds the new instance", async || {
        held(&endpointer) == all
    })
    .await;
    // One node per instance on the server: nothing was registered twice.
    assert_eq!(children(&raw(&servers).await, SERVICE).await.len(), 3);
    // Nothing was lost or doubled along the way: each set sent was the two instances (with
    // or without the error), then the three.
    let events = recording.events();
    assert!(
        events.iter().any(|event| event.error().is_some()),
        "{events:?}"
    );
    for event in &events {
        assert!(
            event.instances() == both || event.instances() == all,
            "{event:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_session_is_replaced_and_registers_and_watches_again() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    // A client reaching the server through a proxy, which the test cuts for longer than the
    // session timeout: the server itself then expires the session and deletes its node.
    let proxy = Proxy::start(zk.addr());
    let cut_off = builder(&proxy.addr().to_string())
        .session_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let registrar = Registrar::new(&cut_off, SERVICE, "127.0.0.1:8081").unwrap();
    registrar.register().await.unwrap();
    let instancer_cut_off = instancer(&cut_off, SERVICE).unwrap();
    let endpointer = addresses(&instancer_cut_off);
    // An observer that is never cut off.
    let direct = client(&servers);
    let observer = instancer(&direct, SERVICE).unwrap();
    let one = instances(["127.0.0.1:8081"]);
    wait_for_set(&instancer_cut_off, &one).await;
    wait_for_set(&observer, &one).await;
    let node = registrar.node().unwrap();

    let recording = Recording::start(&instancer_cut_off);
    proxy.cut();
    // The server expires the session: its ephemeral node goes.
    wait_for_set(&observer, &[]).await;
    // The cut-off side reports the loss and keeps its last good set.
    let event = wait_for(&instancer_cut_off, "an error", |event| {
        event.error().is_some()
    })
    .await;
    assert_eq!(event.instances(), one);
    assert_eq!(held(&endpointer), one);
    // An instance registered meanwhile, which the cut-off side has not seen.
    let other = Registrar::new(&direct, SERVICE, "127.0.0.1:8082").unwrap();
    other.register().await.unwrap();

    proxy.heal();
    // The registrar registers again, on a new session: a new node.
    let two = instances(["127.0.0.1:8081", "127.0.0.1:8082"]);
    wait_for_set(&observer, &two).await;
    assert_ne!(registrar.node(), Some(node));
    // The instancer watches again on the new session: it reads what changed meanwhile,
    // and sees what changes next.
    wait_for_set(&instancer_cut_off, &two).await;
    other.deregister().await.unwrap();
    wait_for_set(&instancer_cut_off, &one).await;
    eventually("the endpointer follows", async || held(&endpointer) == one).await;
    assert_eq!(children(&raw(&servers).await, SERVICE).await.len(), 1);

    // What the cut-off instancer said meanwhile: the connection lost, then (its session
    // expired) new sessions refused until the proxy healed.
    let proxied = proxy.addr();
    let lost = format!("zookeeper: lost the connection to {proxied}; reconnecting");
    let refused = format!("zookeeper: cannot connect to {proxied}: no server answered");
    let errors: Vec<_> = recording
        .events()
        .iter()
        .filter_map(|event| {
            event
                .error()
                .map(|err| (err.code(), err.message().to_owned()))
        })
        .collect();
    assert_eq!(errors.first(), Some(&(Code::Unavailable, lost.clone())));
    for error in &errors {
        assert!(
            *error == (Code::Unavailable, lost.clone())
                || *error == (Code::Unavailable, refused.clone()),
            "{error:?}"
        );
    }
}

/// An instance registering and deregistering again and again, beside a stable one: the
/// shared check, and no node of the flapping instance left on the server.
#[tokio::test]
async fn a_flapping_instance_never_disturbs_the_others() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    let client = client(&servers);
    let stable = Registrar::new(&client, SERVICE, "127.0.0.1:8081").unwrap();
    stable.register().await.unwrap();
    let instancer = instancer(&client, SERVICE).unwrap();
    let flapping = Registrar::new(&client, SERVICE, "127.0.0.1:8082").unwrap();
    check_flapping(
        &instancer,
        &["127.0.0.1:8081"],
        "127.0.0.1:8082",
        async || flapping.register().await.unwrap(),
        async || flapping.deregister().await.unwrap(),
    )
    .await;
    // No node of the flapping instance is left behind.
    let left = children(&raw(&servers).await, SERVICE).await;
    assert_eq!(
        left,
        [format!(
            "{}=127.0.0.1:8081",
            stable.node().unwrap().rsplit('/').next().unwrap()
        )]
    );
}

#[tokio::test]
async fn a_factory_failing_for_one_instance_leaves_the_others_serving() {
    let zk = ZooKeeper::start().await;
    let servers = zk.connect_string();
    let client = client(&servers);
    let mut registrars = Vec::new();
    for port in [8081, 8082, 8083] {
        let registrar = Registrar::new(&client, SERVICE, format!("127.0.0.1:{port}")).unwrap();
        registrar.register().await.unwrap();
        registrars.push(registrar);
    }
    let instancer = instancer(&client, SERVICE).unwrap();
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
        if instance.addr() == "127.0.0.1:8082" {
            return Err(Error::unavailable("cannot dial 127.0.0.1:8082"));
        }
        let addr = instance.addr().to_owned();
        Ok(endpoint_fn(move |_ctx: Context, _req: ()| {
            let addr = addr.clone();
            async move { Ok::<_, Error>(addr) }
        }))
    });
    let serving = instances(["127.0.0.1:8081", "127.0.0.1:8083"]);
    wait_for_set(
        &instancer,
        &instances(["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"]),
    )
    .await;
    eventually("the two good instances have endpoints", async || {
        held(&endpointer) == serving
    })
    .await;

    let balanced = Balanced::new(endpointer.clone(), RoundRobin::new());
    let mut answered = BTreeSet::new();
    for _ in 0..6 {
        answered.insert(balanced.call(Context::background(), ()).await.unwrap());
    }
    assert_eq!(
        answered,
        BTreeSet::from(["127.0.0.1:8081".to_owned(), "127.0.0.1:8083".to_owned()])
    );

    // At the registry's next change the factory is asked again (and fails again for the
    // same instance), while a new instance joins.
    let d = Registrar::new(&client, SERVICE, "127.0.0.1:8084").unwrap();
    d.register().await.unwrap();
    let serving = instances(["127.0.0.1:8081", "127.0.0.1:8083", "127.0.0.1:8084"]);
    eventually("the new instance has an endpoint", async || {
        held(&endpointer) == serving
    })
    .await;
}
