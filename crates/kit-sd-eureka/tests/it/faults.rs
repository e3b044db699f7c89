//! Faults: the server down at start, restarted mid-run, a flapping instance, a factory that
//! fails for one instance.

use std::time::{Duration, Instant};

use kit::middleware::retry::Backoff;

use kit::sd::{Endpointer, Instance, Registrar};
use kit::{Code, Error};
use kit_sd_eureka::{AppQuery, Client, Registration};
use kit_testkit::attempts::Attempts;
use kit_testkit::eureka::{EurekaStandIn, Instance as EurekaInstance};
use kit_testkit::free_addr;
use kit_testkit::sd::check_flapping;

use crate::{instances, wait_for_error, wait_for_instances, wait_until};

/// The addresses an endpointer holds.
fn held<E: Send + Sync + 'static>(endpointer: &Endpointer<E>) -> Vec<Instance> {
    let endpoints = endpointer.endpoints();
    endpoints
        .entries()
        .iter()
        .map(|entry| entry.instance().clone())
        .collect()
}

fn query() -> AppQuery {
    AppQuery::new("addsvc").interval(Duration::from_millis(50))
}

#[tokio::test]
async fn server_down_at_start_then_recovers() {
    let addr = free_addr();
    let client = Client::new(&format!("http://{addr}/eureka")).unwrap();
    let instancer = client.instancer(query());

    let event = wait_for_error(&instancer).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "eureka at http://{addr}/eureka: GET /apps/ADDSVC: Connection refused (os error 111)"
        )
    );
    assert!(event.instances().is_empty());

    let registrar = client.registrar(Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081));
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "eureka at http://{addr}/eureka: POST /apps/ADDSVC: Connection refused (os error 111)"
        )
    );

    // The server comes up: the instancer's retries find it, registration works.
    let eureka = EurekaStandIn::start_on(addr).await;
    eureka.add_instance(EurekaInstance::new("addsvc", "add-2", "10.0.0.2", 8080));
    wait_for_instances(&instancer, &["10.0.0.2:8080"]).await;
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["10.0.0.2:8080", "127.0.0.1:8081"]).await;
}

/// While the server is down, the instancer's attempts are spaced as its backoff says (each
/// attempt here fails at once: a connection accepted and closed).
#[tokio::test]
async fn attempts_against_a_down_server_back_off() {
    let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(100));
    let attempts = Attempts::tcp(free_addr());
    let addr = attempts.addr();
    let since = Instant::now();
    let client = Client::new(&format!("http://{addr}/eureka")).unwrap();
    // An interval far above the backoff: only the backoff spaces the attempts.
    let query = AppQuery::new("addsvc")
        .interval(Duration::from_secs(3600))
        .backoff(backoff);
    let instancer = client.instancer(query);
    let event = wait_for_error(&instancer).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "eureka at http://{addr}/eureka: GET /apps/ADDSVC: Connection reset by peer (os error 104)"
        )
    );
    attempts
        .check_backs_off(backoff, 1, since, Duration::from_secs(2))
        .await;
}

#[tokio::test]
async fn server_restarted_mid_run() {
    let mut eureka = EurekaStandIn::start().await;
    eureka.add_instance(EurekaInstance::new("addsvc", "add-1", "10.0.0.1", 8080));
    eureka.add_instance(EurekaInstance::new("addsvc", "add-2", "10.0.0.2", 8080));
    let client = Client::new(&eureka.url()).unwrap();
    let registration = Registration::new("addsvc", "self-1", "127.0.0.1", 8081)
        .lease(Duration::from_secs(5))
        .heartbeat_every(Duration::from_millis(100));
    let registrar = client.registrar(registration);
    registrar.register().await.unwrap();

    let instancer = client.instancer(query());
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| Ok(instance.clone()));
    let all = ["10.0.0.1:8080", "10.0.0.2:8080", "127.0.0.1:8081"];
    wait_for_instances(&instancer, &all).await;
    assert_eq!(held(&endpointer), instances(&all));

    // Down: the instancer reports the error, the endpointer keeps the last good set.
    eureka.stop().await;
    wait_for_error(&instancer).await;
    wait_until("the endpointer sees the error", || {
        endpointer.endpoints().error().is_some()
    })
    .await;
    assert_eq!(
        endpointer.endpoints().error().unwrap().code(),
        Code::Unavailable
    );
    assert_eq!(held(&endpointer), instances(&all));

    // Back without its state: the registrar's next heartbeat is answered 404 and it
    // registers again; the instancer resumes with what the server now has.
    eureka.restart().await;
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;
    assert_eq!(eureka.registrations("addsvc", "self-1"), 1);
    eureka.add_instance(EurekaInstance::new("addsvc", "add-1", "10.0.0.1", 8080));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "127.0.0.1:8081"]).await;
    wait_until("the endpointer follows", || {
        held(&endpointer) == instances(&["10.0.0.1:8080", "127.0.0.1:8081"])
            && endpointer.endpoints().error().is_none()
    })
    .await;
}

/// An instance registering and cancelling again and again, beside a stable one.
#[tokio::test]
async fn a_flapping_instance_never_disturbs_the_stable_one() {
    let eureka = EurekaStandIn::start().await;
    eureka.add_instance(EurekaInstance::new("addsvc", "add-1", "10.0.0.1", 8080));
    let client = Client::new(&eureka.url()).unwrap();
    let instancer = client.instancer(query());
    let flapping = client.registrar(Registration::new("addsvc", "add-2", "127.0.0.1", 8081));
    check_flapping(
        &instancer,
        &["10.0.0.1:8080"],
        "127.0.0.1:8081",
        async || flapping.register().await.unwrap(),
        async || flapping.deregister().await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_factory_failing_for_one_instance_leaves_the_others_serving() {
    let eureka = EurekaStandIn::start().await;
    for n in 1..=3 {
        eureka.add_instance(EurekaInstance::new(
            "addsvc",
            &format!("add-{n}"),
            &format!("10.0.0.{n}"),
            80,
        ));
    }
    let instancer = Client::new(&eureka.url()).unwrap().instancer(query());
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
        if instance.addr() == "10.0.0.2:80" {
            return Err(Error::invalid_argument("no client for this one"));
        }
        Ok(format!("client of {instance}"))
    });
    wait_for_instances(&instancer, &["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]).await;
    wait_until("the endpointer has the two it could make", || {
        held(&endpointer) == instances(&["10.0.0.1:80", "10.0.0.3:80"])
    })
    .await;
    let endpoints = endpointer.endpoints();
    let clients: Vec<&str> = endpoints
        .entries()
        .iter()
        .map(|entry| entry.endpoint().as_str())
        .collect();
    assert_eq!(clients, ["client of 10.0.0.1:80", "client of 10.0.0.3:80"]);
}
