//! Faults: the agent down at start, restarted mid-run, a refused ACL token, a flapping
//! instance, a factory that fails for one instance.

use std::time::{Duration, Instant};

use kit::middleware::retry::Backoff;
use kit::sd::{Endpointer, Instance, Registrar};
use kit::{Code, Error};
use kit_sd_consul::{Client, HealthQuery, Registration};
use kit_testkit::attempts::Attempts;
use kit_testkit::consul::{ConsulStandIn, Health, Service};
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

/// Retries after 50 ms, doubling to 1 s: quick recovery in tests.
fn quick(query: HealthQuery) -> HealthQuery {
    query.backoff(Backoff::new(
        Duration::from_millis(50),
        Duration::from_secs(1),
    ))
}

#[tokio::test]
async fn agent_down_at_start_then_recovers() {
    let addr = free_addr();
    let client = Client::new(&addr.to_string()).unwrap();
    let instancer = client.instancer(quick(HealthQuery::new("addsvc")));

    let event = wait_for_error(&instancer).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "consul at http://{addr}: GET /v1/health/service/addsvc: Connection refused (os error 111)"
        )
    );
    assert!(event.instances().is_empty());

    let registrar = client.registrar(Registration::new("addsvc-1", "addsvc", "127.0.0.1", 8081));
    let err = registrar.register().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "consul at http://{addr}: PUT /v1/agent/service/register: Connection refused (os error 111)"
        )
    );

    // The agent comes up: the instancer's retries find it, registration works.
    let consul = ConsulStandIn::start_on(addr).await;
    consul.add_service(Service::new("add-2", "addsvc", "10.0.0.2", 8080));
    wait_for_instances(&instancer, &["10.0.0.2:8080"]).await;
    registrar.register().await.unwrap();
    wait_for_instances(&instancer, &["10.0.0.2:8080", "127.0.0.1:8081"]).await;
}

/// While the agent is down, the instancer's attempts are spaced as its backoff says (each
/// attempt here fails at once: a connection accepted and closed).
#[tokio::test]
async fn attempts_against_a_down_agent_back_off() {
    let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(100));
    let attempts = Attempts::tcp(free_addr());
    let addr = attempts.addr();
    let since = Instant::now();
    let client = Client::new(&addr.to_string()).unwrap();
    let instancer = client.instancer(HealthQuery::new("addsvc").backoff(backoff));
    let event = wait_for_error(&instancer).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "consul at http://{addr}: GET /v1/health/service/addsvc: Connection reset by peer (os error 104)"
        )
    );
    attempts
        .check_backs_off(backoff, 1, since, Duration::from_secs(2))
        .await;
}

#[tokio::test]
async fn agent_restarted_mid_run() {
    let mut consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    consul.add_service(Service::new("add-2", "addsvc", "10.0.0.2", 8080));
    let client = Client::new(&consul.addr().to_string()).unwrap();
    let registration = Registration::new("self-1", "addsvc", "127.0.0.1", 8081)
        .ttl(Duration::from_secs(5))
        .keep_alive_every(Duration::from_millis(100));
    let registrar = client.registrar(registration);
    registrar.register().await.unwrap();

    let instancer = client.instancer(quick(HealthQuery::new("addsvc")));
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| Ok(instance.clone()));
    let all = ["10.0.0.1:8080", "10.0.0.2:8080", "127.0.0.1:8081"];
    wait_for_instances(&instancer, &all).await;
    assert_eq!(held(&endpointer), instances(&all));

    // Down: the instancer reports the error, the endpointer keeps the last good set.
    consul.stop().await;
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

    // Back without its state: the registrar's next keep-alive finds its check unknown and
    // registers again; the instancer resumes and reports what the agent now has.
    consul.restart().await;
    wait_for_instances(&instancer, &["127.0.0.1:8081"]).await;
    assert_eq!(consul.registrations("self-1"), 1);
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "127.0.0.1:8081"]).await;
    wait_until("the endpointer follows", || {
        held(&endpointer) == instances(&["10.0.0.1:8080", "127.0.0.1:8081"])
            && endpointer.endpoints().error().is_none()
    })
    .await;
}

#[tokio::test]
async fn a_refused_acl_token_is_a_clear_error() {
    let consul = ConsulStandIn::start().await;
    consul.require_acl_token("right-token");
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    let addr = consul.addr();
    let registration = Registration::new("addsvc-1", "addsvc", "127.0.0.1", 8081);

    let wrong = Client::new(&addr.to_string())
        .unwrap()
        .acl_token("wrong-token")
        .unwrap();
    let event = wait_for_error(&wrong.instancer(HealthQuery::new("addsvc"))).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        format!(
            "consul at http://{addr}: GET /v1/health/service/addsvc: 403 Forbidden: ACL not found \
             (the ACL token is missing, unknown, or lacks the permission)"
        )
    );
    let err = wrong
        .registrar(registration.clone())
        .register()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        format!(
            "consul at http://{addr}: PUT /v1/agent/service/register: 403 Forbidden: ACL not found \
             (the ACL token is missing, unknown, or lacks the permission)"
        )
    );

    let missing = Client::new(&addr.to_string()).unwrap();
    let err = missing
        .registrar(registration.clone())
        .register()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message()
            .contains(": 403 Forbidden: Permission denied (the ACL token is missing"),
        "{}",
        err.message()
    );

    let right = Client::new(&addr.to_string())
        .unwrap()
        .acl_token("right-token")
        .unwrap();
    right.registrar(registration).register().await.unwrap();
    let instancer = right.instancer(HealthQuery::new("addsvc"));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "127.0.0.1:8081"]).await;
}

/// An instance whose check goes critical and passing again and again, beside a stable one.
#[tokio::test]
async fn a_flapping_check_never_disturbs_the_stable_instance() {
    let consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    consul.add_service(Service::new("add-2", "addsvc", "10.0.0.2", 8080).health(Health::Critical));
    let client = Client::new(&consul.addr().to_string()).unwrap();
    let instancer = client.instancer(HealthQuery::new("addsvc"));
    check_flapping(
        &instancer,
        &["10.0.0.1:8080"],
        "10.0.0.2:8080",
        async || consul.set_health("add-2", Health::Passing),
        async || consul.set_health("add-2", Health::Critical),
    )
    .await;
}

/// An instance registering and deregistering again and again, beside a stable one.
#[tokio::test]
async fn a_flapping_registration_never_disturbs_the_stable_instance() {
    let consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    let client = Client::new(&consul.addr().to_string()).unwrap();
    let instancer = client.instancer(HealthQuery::new("addsvc"));
    let flapping = client.registrar(Registration::new("add-2", "addsvc", "127.0.0.1", 8081));
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
    let consul = ConsulStandIn::start().await;
    for n in 1..=3 {
        consul.add_service(Service::new(
            &format!("add-{n}"),
            "addsvc",
            &format!("10.0.0.{n}"),
            80,
        ));
    }
    let client = Client::new(&consul.addr().to_string()).unwrap();
    let instancer = client.instancer(HealthQuery::new("addsvc"));
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
