//! Discovery: the health API's answers, its filters, and blocking queries.

use std::time::Duration;

use kit_sd_consul::{Client, HealthQuery};
use kit_testkit::consul::{ConsulStandIn, Health, Service};

use crate::{wait_for_instances, wait_until};

fn client(consul: &ConsulStandIn) -> Client {
    Client::new(&consul.addr().to_string()).unwrap()
}

#[tokio::test]
async fn discovers_instances_and_follows_changes() {
    let consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    // No service address: the node's.
    consul.add_service(Service::new("add-2", "addsvc", "", 9000));
    consul.add_service(Service::new("other-1", "othersvc", "10.0.0.9", 8080));

    let instancer = client(&consul).instancer(HealthQuery::new("addsvc"));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "127.0.0.1:9000"]).await;

    consul.add_service(Service::new("add-3", "addsvc", "10.0.0.3", 8080));
    wait_for_instances(
        &instancer,
        &["10.0.0.1:8080", "10.0.0.3:8080", "127.0.0.1:9000"],
    )
    .await;

    consul.remove_service("add-1");
    wait_for_instances(&instancer, &["10.0.0.3:8080", "127.0.0.1:9000"]).await;

    // A service nobody registered is an empty set, not an error.
    let none = client(&consul).instancer(HealthQuery::new("nobody"));
    wait_for_instances(&none, &[]).await;
}

#[tokio::test]
async fn a_blocking_query_wakes_on_change() {
    let consul = ConsulStandIn::start().await;
    consul.add_service(Service::new("add-1", "addsvc", "10.0.0.1", 8080));
    // A wait far longer than the test's patience: only a wake-up on change can deliver the
    // update in time.
    let query = HealthQuery::new("addsvc").wait(Duration::from_secs(120));
    let instancer = client(&consul).instancer(query);
    wait_for_instances(&instancer, &["10.0.0.1:8080"]).await;

    consul.add_service(Service::new("add-2", "addsvc", "10.0.0.2", 8080));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "10.0.0.2:8080"]).await;

    // One query from index 0, one held until the change, at most one held since: the
    // loop blocks, it does not poll.
    assert!(
        consul.health_requests() <= 3,
        "{} health queries for one change",
        consul.health_requests()
    );
}

#[tokio::test]
async fn passing_only_and_tags_filter() {
    let consul = ConsulStandIn::start().await;
    let service = |id: &str, health, tags: &[&str]| {
        let addr = format!("10.0.0.{}", consul.service_ids().len() + 1);
        let mut service = Service::new(id, "addsvc", &addr, 8080).health(health);
        for tag in tags {
            service = service.tag(tag);
        }
        consul.add_service(service);
    };
    service("passing-http", Health::Passing, &["http"]); // 10.0.0.1
    service("warning-http", Health::Warning, &["http"]); // 10.0.0.2
    service("critical-http", Health::Critical, &["http"]); // 10.0.0.3
    service("passing-grpc", Health::Passing, &["grpc"]); // 10.0.0.4
    service("passing-http-v2", Health::Passing, &["http", "v2"]); // 10.0.0.5

    let client = client(&consul);
    let http = client.instancer(HealthQuery::new("addsvc").tag("http"));
    let every_http = client.instancer(HealthQuery::new("addsvc").tag("http").passing_only(false));
    let http_v2 = client.instancer(HealthQuery::new("addsvc").tag("http").tag("v2"));
    let passing = client.instancer(HealthQuery::new("addsvc"));
    wait_for_instances(&http, &["10.0.0.1:8080", "10.0.0.5:8080"]).await;
    wait_for_instances(
        &every_http,
        &[
            "10.0.0.1:8080",
            "10.0.0.2:8080",
            "10.0.0.3:8080",
            "10.0.0.5:8080",
        ],
    )
    .await;
    wait_for_instances(&http_v2, &["10.0.0.5:8080"]).await;
    wait_for_instances(
        &passing,
        &["10.0.0.1:8080", "10.0.0.4:8080", "10.0.0.5:8080"],
    )
    .await;

    // Health changes wake the queries too, both ways.
    consul.set_health("critical-http", Health::Passing);
    consul.set_health("passing-http", Health::Critical);
    wait_for_instances(&http, &["10.0.0.3:8080", "10.0.0.5:8080"]).await;
}

#[tokio::test]
async fn an_index_that_goes_backwards_starts_over() {
    let consul = ConsulStandIn::start().await;
    for n in 1..=5 {
        consul.add_service(Service::new(
            &format!("add-{n}"),
            "addsvc",
            &format!("10.0.0.{n}"),
            80,
        ));
    }
    // Short waits, so that the held query comes back with the rewound index.
    let query = HealthQuery::new("addsvc").wait(Duration::from_millis(200));
    let instancer = client(&consul).instancer(query);
    wait_for_instances(
        &instancer,
        &[
            "10.0.0.1:80",
            "10.0.0.2:80",
            "10.0.0.3:80",
            "10.0.0.4:80",
            "10.0.0.5:80",
        ],
    )
    .await;

    // As after restoring an older snapshot: the index is now below the one the client
    // holds. The client must not keep blocking on its old index (whose queries would only
    // come back when their wait runs out, until the index caught up): it starts over and
    // blocks on the new history's index.
    wait_until("the client blocks on the current index", || {
        consul.last_health_index() > Some(2)
    })
    .await;
    consul.rewind_index(1);
    consul.remove_service("add-1");
    wait_for_instances(
        &instancer,
        &["10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80", "10.0.0.5:80"],
    )
    .await;
    wait_until("the client blocks on the rewound index", || {
        consul.last_health_index() == Some(2)
    })
    .await;
}
