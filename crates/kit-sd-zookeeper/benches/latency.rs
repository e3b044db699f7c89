//! How long a registration takes to reach a balancer through ZooKeeper, and a
//! deregistration to leave it (issue 10's measure; the target is under 100 ms on loopback).
//!
//! Starts a real ZooKeeper (`kit_testkit::zookeeper`), then for each round registers an
//! instance with the [`Registrar`] and times until a [`kit::sd::Endpointer`] over the
//! [`instancer`] holds its endpoint, then deregisters it and times until the endpoint is
//! gone, polling every millisecond. Prints the median and the maximum of each.
//!
//! Run with `cargo bench -p kit-sd-zookeeper --bench latency`.

use std::time::{Duration, Instant};

use kit::sd::{Endpointer, Instance, Registrar as _};
use kit_sd_zookeeper::{Client, Registrar, instancer};
use kit_testkit::zookeeper::ZooKeeper;

const ROUNDS: usize = 20;
const SERVICE: &str = "/services/addsvc/http";
const ADDR: &str = "127.0.0.1:8081";

/// Longest a round may wait before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let zk = ZooKeeper::start().await;
    let client = Client::builder(zk.connect_string()).build().unwrap();
    let instancer = instancer(&client, SERVICE).unwrap();
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
        Ok(instance.addr().to_owned())
    });
    let registrar = Registrar::new(&client, SERVICE, ADDR).unwrap();
    // The session and the service's node exist before the first round.
    registrar.register().await.unwrap();
    registrar.deregister().await.unwrap();

    let holds = |endpointer: &Endpointer<String>| {
        let endpoints = endpointer.endpoints();
        endpoints
            .entries()
            .iter()
            .any(|entry| entry.instance().addr() == ADDR)
    };
    let mut joins = Vec::new();
    let mut leaves = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        registrar.register().await.unwrap();
        joins.push(wait_until(start, || holds(&endpointer)).await);
        let start = Instant::now();
        registrar.deregister().await.unwrap();
        leaves.push(wait_until(start, || !holds(&endpointer)).await);
    }
    report("registration -> endpointer holds it", &mut joins);
    report("deregistration -> endpointer dropped it", &mut leaves);
}

/// Polls `done` every millisecond; returns the time since `start` when it holds.
async fn wait_until(start: Instant, mut done: impl FnMut() -> bool) -> Duration {
    while !done() {
        assert!(start.elapsed() < PATIENCE, "not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{what}: median {:.1} ms, max {:.1} ms over {} rounds",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        times.len()
    );
}
