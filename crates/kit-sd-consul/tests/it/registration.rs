//! Registration: registered, kept passing past the TTL, deregistered; and what happens
//! without keep-alives.

use std::time::Duration;

use kit::sd::Registrar;
use kit_sd_consul::{Client, HealthQuery, Registration};
use kit_testkit::consul::{ConsulStandIn, Health, Service};

use crate::{wait_for_instances, wait_until};

#[tokio::test]
async fn registers_keeps_alive_past_the_ttl_and_deregisters() {
    let consul = ConsulStandIn::start().await;
    let client = Client::new(&consul.addr().to_string()).unwrap();
    let instancer = client.instancer(HealthQuery::new("addsvc").tag("http"));
    let registration = Registration::new("addsvc-1", "addsvc", "127.0.0.1", 8081)
        .tag("http")
        .ttl(Duration::from_secs(1))
        .keep_alive_every(Duration::from_millis(100))
        .deregister_critical_after(Some(Duration::from_secs(1)));
    let registrar = client.registrar(registration);

    registrar.register().await.unwrap();
    // Registered with its check passing: there as soon as register returns.
    assert_eq!(consul.service_ids(), ["addsvc-1"]);
    assert_eq!(consul.health_of("addsvc-1"), Some(Health::Passing));
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;

    // Twice the TTL's worth of passes: still passing, never registered again.
    wait_until("the check was passed 20 times", || {
        consul.check_passes("service:addsvc-1") >= 20
    })
    .await;
    assert_eq!(consul.health_of("addsvc-1"), Some(Health::Passing));
    assert_eq!(consul.registrations("addsvc-1"), 1);
    assert_eq!(
        instancer.current().instances(),
        crate::instances(&["127.0.0.1:8081"])
    );

    registrar.deregister().await.unwrap();
    assert!(consul.service_ids().is_empty());
    wait_for_instances(&instancer, &[]).await;
    // Deregistering what is gone already is no error; registering again works.
    registrar.deregister().await.unwrap();
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;
    assert_eq!(consul.registrations("addsvc-1"), 2);
}

#[tokio::test]
async fn without_keep_alives_the_service_turns_critical_and_is_removed() {
    let consul = ConsulStandIn::start().await;
    let client = Client::new(&consul.addr().to_string()).unwrap();
    let instancer = client.instancer(HealthQuery::new("addsvc"));
    let every = client.instancer(HealthQuery::new("addsvc").passing_only(false));

    // A registrar dropped without deregistering: its keep-alives stop with it.
    let registration = Registration::new("addsvc-1", "addsvc", "127.0.0.1", 8081)
        .ttl(Duration::from_millis(500))
        .deregister_critical_after(Some(Duration::from_secs(1)));
    let registrar = client.registrar(registration);
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;
    wait_for_instances(&every, &["127.0.0.1:8081"]).await;
    drop(registrar);

    // Critical after the TTL: out of the passing set, still registered...
    wait_for_instances(&instancer, &[]).await;
    // ...until Consul reaps it.
    wait_for_instances(&every, &[]).await;
    assert!(consul.service_ids().is_empty());
    assert_eq!(consul.check_passes("service:addsvc-1"), 0);

    // The same for a service registered by someone else that nobody keeps alive.
    consul
        .add_service(Service::new("other-1", "addsvc", "10.0.0.1", 80).ttl(Duration::from_secs(2)));
    wait_for_instances(&instancer, &["10.0.0.1:80"]).await;
    wait_for_instances(&instancer, &[]).await;
    wait_until("the stand-in reaped it", || consul.service_ids().is_empty()).await;
}
