//! Registration → use latency on a real etcd (loopback), measured up to the calls of a
//! balancer: the time from a registrar's `register()` call until a call through a
//! round-robin `kit::sd::Balanced` over an instancer of the prefix reaches the new
//! instance, and from `deregister()` until no call reaches it and the balancer no longer
//! holds it ([`kit_testkit::sd::BalancerProbe`]). Another instance stays registered
//! throughout, so that the balancer always has one to call. Prints the median and
//! maximum over 20 rounds.
//!
//! Run with `cargo bench -p kit-sd-etcd --bench latency` (needs Debian's `etcd-server` and
//! `etcd-client`).

use std::time::Instant;

use kit::sd::{Instance, Registrar as _};
use kit_sd_etcd::{Client, Config, service_prefix};
use kit_testkit::etcd::Etcd;
use kit_testkit::sd::{BalancerProbe, report};

const ROUNDS: usize = 20;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let etcd = Etcd::started().await;
    let client = Client::new(Config::new([etcd.client_addr().to_string()]));
    let prefix = service_prefix("bench", "http");
    let instancer = client.instancer(prefix.as_str());
    let probe = BalancerProbe::new(&instancer);
    probe.ready().await;

    let resident = "127.0.0.1:8080";
    let resident = client.registrar(format!("{prefix}{resident}"), resident);
    resident.register().await.expect("registered");
    let addr = "127.0.0.1:8081";
    let instance = Instance::from(addr);
    let registrar = client.registrar(format!("{prefix}{addr}"), addr);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        registrar.register().await.expect("registered");
        added.push(probe.until_called(&instance, start).await);

        let start = Instant::now();
        registrar.deregister().await.expect("deregistered");
        removed.push(probe.until_dropped(&instance, start).await);
    }
    report(
        "register -> a call through the balancer reaches it",
        &mut added,
    );
    report("deregister -> no call reaches it", &mut removed);
}
