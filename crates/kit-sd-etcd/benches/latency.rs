//! Registration → use latency on a real etcd (loopback): the time from a registrar's
//! `register()` call until an `Endpointer` over an instancer of the prefix holds the new
//! instance, and from `deregister()` until it has dropped it. Polls the endpointer every
//! millisecond; prints the median and maximum over 20 rounds.
//!
//! Run with `cargo bench -p kit-sd-etcd --bench latency` (needs Debian's `etcd-server` and
//! `etcd-client`).

use std::time::{Duration, Instant};

use kit::sd::{Endpointer, Instance, Registrar as _};
use kit_sd_etcd::{Client, Config, service_prefix};
use kit_testkit::etcd::Etcd;

const ROUNDS: usize = 20;
/// Longest wait for one change, so that a broken run ends.
const GIVE_UP: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let etcd = Etcd::started().await;
    let client = Client::new(Config::new([etcd.client_addr().to_string()]));
    let prefix = service_prefix("bench", "http");
    let instancer = client.instancer(prefix.as_str());
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
        Ok::<_, kit::Error>(instance.clone())
    });
    endpointer
        .ready(&kit::Context::background())
        .await
        .expect("etcd answers");

    let addr = "127.0.0.1:8081";
    let registrar = client.registrar(format!("{prefix}{addr}"), addr);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        registrar.register().await.expect("registered");
        until(&endpointer, true).await;
        added.push(start.elapsed());

        let start = Instant::now();
        registrar.deregister().await.expect("deregistered");
        until(&endpointer, false).await;
        removed.push(start.elapsed());
    }
    report("register -> in the endpointer", &mut added);
    report("deregister -> out of the endpointer", &mut removed);
}

/// Polls every millisecond until the endpointer holds an endpoint (`present`) or none.
async fn until(endpointer: &Endpointer<Instance>, present: bool) {
    let start = Instant::now();
    while endpointer.endpoints().entries().is_empty() == present {
        assert!(start.elapsed() < GIVE_UP, "no change within {GIVE_UP:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    println!(
        "{what}: median {:.1} ms, max {:.1} ms ({} rounds)",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        samples.len()
    );
}
