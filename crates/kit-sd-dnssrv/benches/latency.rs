//! How long a DNS record change takes to reach a `kit::sd::Endpointer` over a DNS SRV
//! instancer, against a real unbound on loopback (`cargo bench -p kit-sd-dnssrv`).
//!
//! Each round adds an SRV record with `unbound-control` and times until the endpointer
//! holds its instance, then removes it and times until the endpointer has dropped it
//! (reading `endpoints()` every millisecond). The clock starts before the control command
//! runs, so the figures include starting `unbound-control` (a few milliseconds). DNS is
//! polled: a change waits for the next poll, so the figures follow the poll period, and
//! two are measured: a short interval (TTLs longer), and a short TTL (interval longer).
//! Changes are made at phases spread evenly over the period (a round waits a growing
//! fraction of it after the last poll), so the median is about half a period and the
//! maximum about a whole one, as with changes made at random times.

use std::time::{Duration, Instant};

use kit::Error;
use kit::sd::{Endpointer, Instance};
use kit_sd_dnssrv::DnsSrv;
use kit_testkit::dns::Unbound;

const NAME: &str = "_bench._tcp.svc.test.";
const ROUNDS: u16 = 20;
/// Longest wait for one change, so that a broken run ends.
const GIVE_UP: Duration = Duration::from_secs(30);

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
    let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
        Ok::<_, Error>(instance.clone())
    });
    // The name does not exist yet: an empty answer first.
    wait_until(&endpointer, &[]).await;

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
        wait_until(&endpointer, std::slice::from_ref(&instance)).await;
        added.push(start.elapsed());

        tokio::time::sleep(phase).await;
        let start = Instant::now();
        dns.remove(NAME).await;
        wait_until(&endpointer, &[]).await;
        removed.push(start.elapsed());
    }
    println!("dns srv, {label}, {ROUNDS} rounds:");
    report("  record added   -> endpointer holds it", &mut added);
    report("  record removed -> endpointer dropped it", &mut removed);
}

/// Waits until the endpointer holds endpoints for exactly `instances`.
async fn wait_until(endpointer: &Endpointer<Instance>, instances: &[Instance]) {
    let deadline = Instant::now() + GIVE_UP;
    loop {
        let endpoints = endpointer.endpoints();
        let held: Vec<&Instance> = endpoints.entries().iter().map(|e| e.endpoint()).collect();
        if endpoints.is_resolved() && held.iter().copied().eq(instances) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the endpointer did not reach {instances:?} within {GIVE_UP:?}: {endpointer:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{what}: median {:.1} ms, max {:.1} ms",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}
