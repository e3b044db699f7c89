//! Registration: registered, kept past the lease by heartbeats, cancelled; and what happens
//! without heartbeats.

use std::time::Duration;

use kit::Code;
use kit::sd::Registrar;
use kit_sd_eureka::{AppQuery, Client, Registration};
use kit_testkit::eureka::EurekaStandIn;

use crate::{wait_for_instances, wait_until};

fn query() -> AppQuery {
    AppQuery::new("addsvc").interval(Duration::from_millis(50))
}

#[tokio::test]
async fn registers_heartbeats_past_the_lease_and_deregisters() {
    let eureka = EurekaStandIn::start().await;
    let client = Client::new(&eureka.url()).unwrap();
    let instancer = client.instancer(query());
    let registration = Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081)
        .lease(Duration::from_secs(1))
        .heartbeat_every(Duration::from_millis(100));
    let registrar = client.registrar(registration);

    registrar.register().await.unwrap();
    assert_eq!(eureka.instance_ids("addsvc"), ["addsvc-1"]);
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;

    // Twice the lease's worth of heartbeats: still there, never registered again.
    wait_until("20 heartbeats renewed the lease", || {
        eureka.renewals("addsvc", "addsvc-1") >= 20
    })
    .await;
    assert_eq!(eureka.instance_ids("addsvc"), ["addsvc-1"]);
    assert_eq!(eureka.registrations("addsvc", "addsvc-1"), 1);
    assert_eq!(
        instancer.current().instances(),
        crate::instances(&["127.0.0.1:8081"])
    );

    registrar.deregister().await.unwrap();
    assert!(eureka.instance_ids("addsvc").is_empty());
    wait_for_instances(&instancer, &[]).await;
    // Cancelling what is gone already is no error; registering again works.
    registrar.deregister().await.unwrap();
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;
    assert_eq!(eureka.registrations("addsvc", "addsvc-1"), 2);
}

#[tokio::test]
async fn without_heartbeats_the_lease_runs_out() {
    let eureka = EurekaStandIn::start().await;
    let client = Client::new(&eureka.url()).unwrap();
    let instancer = client.instancer(query());
    let registration = Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081)
        .lease(Duration::from_secs(1))
        .heartbeat_every(Duration::from_millis(100));
    let registrar = client.registrar(registration);
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;

    // Dropped without deregistering: its heartbeats stop with it.
    drop(registrar);
    wait_for_instances(&instancer, &[]).await;
    assert!(eureka.instance_ids("addsvc").is_empty());
}

#[tokio::test]
async fn a_refused_registration_is_a_clear_error() {
    let eureka = EurekaStandIn::start().await;
    let client = Client::new(&eureka.url()).unwrap();
    let registrar = client.registrar(Registration::new("addsvc", "addsvc-1", "", 8081));
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        format!(
            "eureka at http://{}/eureka: POST /apps/ADDSVC: 400 Bad Request: Missing hostname",
            eureka.addr()
        )
    );
}
