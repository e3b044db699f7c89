//! Discovery: polling the apps API, `UP` instances only, lease expiry.

use std::time::Duration;

use kit_sd_eureka::{AppQuery, Client};
use kit_testkit::eureka::{EurekaStandIn, Instance};

use crate::wait_for_instances;

/// Polls every 50 ms: quick updates in tests.
fn query(app: &str) -> AppQuery {
    AppQuery::new(app).interval(Duration::from_millis(50))
}

#[tokio::test]
async fn discovers_up_instances_and_follows_changes() {
    let eureka = EurekaStandIn::start().await;
    eureka.add_instance(Instance::new("addsvc", "add-1", "10.0.0.1", 8080));
    eureka.add_instance(Instance::new("addsvc", "add-2", "10.0.0.2", 8080).status("DOWN"));
    eureka.add_instance(Instance::new("addsvc", "add-3", "10.0.0.3", 8080).status("STARTING"));
    eureka.add_instance(Instance::new("othersvc", "other-1", "10.0.0.9", 8080));

    let client = Client::new(&eureka.url()).unwrap();
    // Application names are case-insensitive: Eureka upper-cases them.
    let instancer = client.instancer(query("addsvc"));
    wait_for_instances(&instancer, &["10.0.0.1:8080"]).await;

    eureka.set_status("addsvc", "add-2", "UP");
    eureka.add_instance(Instance::new("ADDSVC", "add-4", "10.0.0.4", 8081));
    wait_for_instances(
        &instancer,
        &["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.4:8081"],
    )
    .await;

    eureka.set_status("addsvc", "add-1", "OUT_OF_SERVICE");
    wait_for_instances(&instancer, &["10.0.0.2:8080", "10.0.0.4:8081"]).await;

    // An application Eureka does not know is an empty set, not an error.
    let none = client.instancer(query("nobody"));
    wait_for_instances(&none, &[]).await;
}

#[tokio::test]
async fn an_instance_without_heartbeats_expires() {
    let eureka = EurekaStandIn::start().await;
    eureka.add_instance(Instance::new("addsvc", "add-1", "10.0.0.1", 8080));
    eureka.add_instance(
        Instance::new("addsvc", "add-2", "10.0.0.2", 8080).lease(Duration::from_secs(3)),
    );
    let instancer = Client::new(&eureka.url())
        .unwrap()
        .instancer(query("addsvc"));
    wait_for_instances(&instancer, &["10.0.0.1:8080", "10.0.0.2:8080"]).await;
    // Nobody renews add-2's lease.
    wait_for_instances(&instancer, &["10.0.0.1:8080"]).await;
    assert_eq!(eureka.instance_ids("addsvc"), ["add-1"]);
}
