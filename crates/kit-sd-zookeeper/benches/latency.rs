//! How long a registration takes to reach a balancer's calls through ZooKeeper, and a
//! deregistration to leave them (issue 10's measure; the target is under 100 ms on
//! loopback).
//!
//! Starts a real ZooKeeper (`kit_testkit::zookeeper`) with one instance registered
//! throughout, then for each round registers another with the [`Registrar`] and times until
//! a call through a round-robin `kit::sd::Balanced` over the [`instancer`] reaches it, then
//! deregisters it and times until no call reaches it and the balancer no longer holds it
//! ([`kit_testkit::sd::BalancerProbe`]). Prints the median and the maximum of each.
//!
//! Run with `cargo bench -p kit-sd-zookeeper --bench latency`.

use std::time::Instant;

use kit::sd::{Instance, Registrar as _};
use kit_sd_zookeeper::{Client, Registrar, instancer};
use kit_testkit::sd::{BalancerProbe, report};
use kit_testkit::zookeeper::ZooKeeper;

const ROUNDS: usize = 20;
const SERVICE: &str = "/services/addsvc/http";
const RESIDENT: &str = "127.0.0.1:8080";
const ADDR: &str = "127.0.0.1:8081";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let zk = ZooKeeper::start().await;
    let client = Client::builder(zk.connect_string()).build().unwrap();
    let instancer = instancer(&client, SERVICE).unwrap();
    let probe = BalancerProbe::new(&instancer);
    let resident = Registrar::new(&client, SERVICE, RESIDENT).unwrap();
    // The session and the service's node exist before the first round.
    resident.register().await.unwrap();
    probe.ready().await;
    probe
        .until_called(&Instance::from(RESIDENT), Instant::now())
        .await;

    let instance = Instance::from(ADDR);
    let registrar = Registrar::new(&client, SERVICE, ADDR).unwrap();
    let mut joins = Vec::new();
    let mut leaves = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        registrar.register().await.unwrap();
        joins.push(probe.until_called(&instance, start).await);
        let start = Instant::now();
        registrar.deregister().await.unwrap();
        leaves.push(probe.until_dropped(&instance, start).await);
    }
    report(
        "registration -> a call through the balancer reaches it",
        &mut joins,
    );
    report("deregistration -> no call reaches it", &mut leaves);
}
