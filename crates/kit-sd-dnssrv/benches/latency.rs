//! How long a DNS record change takes to reach the calls of a balancer over a DNS SRV
//! instancer, against a real unbound on loopback (`cargo bench -p kit-sd-dnssrv`).
//!
//! Each round adds an SRV record with `unbound-control` and times until a call through a
//! round-robin `kit::sd::Balanced` over the instancer reaches its instance, then removes
//! it and times until no call reaches it and the balancer no longer holds it
//! ([`kit_testkit::sd::BalancerProbe`]). The clock starts before the control command runs,
//! so the figures include starting `unbound-control` (a few milliseconds). DNS is polled:
//! a change waits for the next poll, so the figures follow the poll period, and two are
//! measured: a short interval (TTLs longer), and a short TTL (interval longer). Changes
//! are made at phases spread evenly over the period (a round waits a growing fraction of
//! it after the last poll), so the median is about half a period and the maximum about a
//! whole one, as with changes made at random times.

use std::time::{Duration, Instant};

use kit::sd::Instance;
use kit_sd_dnssrv::DnsSrv;
use kit_testkit::dns::Unbound;
use kit_testkit::sd::{BalancerProbe, report};

const NAME: &str = "_bench._tcp.svc.test.";
const ROUNDS: u16 = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let short = Duration::from_millis(100);
        measure("interval 100 ms, TTL 60 s", short, 60, short).await;
        let hour = Duration::from_secs(3600);
        measure("interval 1 h, TTL 1 s", hour, 1, Duration::from_secs(1)).await;
    });
}

/// Measures with polls every `interval` or `ttl`, whichever is shorter: `period`.
async fn measure(label: &str, interval: Duration, ttl: u32, period: Duration) {
    let dns = Unbound::start(&[]).await;
    let instancer = DnsSrv::new(NAME)
        .resolver(dns.addr())
        .interval(interval)
        .instancer()
        .expect("instancer");
    let probe = BalancerProbe::new(&instancer);
    // The name does not exist yet: an empty answer first.
    probe.ready().await;

    let mut added = Vec::new();
    let mut removed = Vec::new();
    for round in 0..ROUNDS {
        let port = 10_000 + round;
        let instance = Instance::from(format!("127.0.0.1:{port}"));

        // Just after a poll (the one that saw the last change): wait into the period.
        let phase = period * u32::from(round) / u32::from(ROUNDS);
        tokio::time::sleep(phase).await;
        let start = Instant::now();
        dns.add(&format!("{NAME} {ttl} IN SRV 0 0 {port} 127.0.0.1."))
            .await;
        added.push(probe.until_called(&instance, start).await);

        tokio::time::sleep(phase).await;
        let start = Instant::now();
        dns.remove(NAME).await;
        removed.push(probe.until_dropped(&instance, start).await);
    }
    println!("dns srv, {label}:");
    report(
        "  record added   -> a call through the balancer reaches it",
        &mut added,
    );
    report("  record removed -> no call reaches it", &mut removed);
}
