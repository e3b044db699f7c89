//! kit-sd-dnssrv against a real DNS server: unbound on a loopback port
//! (`kit_testkit::dns`), records changed live while the instancer polls.

mod answers;
mod faults;
mod polling;

use std::net::SocketAddr;
use std::time::Duration;

use kit::sd::{Event, Instance, Instancer};
use kit_sd_dnssrv::DnsSrv;

/// The SRV name every test asks for (each test has a server of its own).
const NAME: &str = "_http._tcp.svc.test.";

/// How long a test waits for the instancer to see what it expects: generous, for a loaded
/// 2-CPU machine; a passing test waits only as long as a poll takes.
const WAIT: Duration = Duration::from_secs(30);

/// An SRV record of [`NAME`] with `ttl`, `port` and `target`.
fn srv(ttl: u32, port: u16, target: &str) -> String {
    format!("{NAME} {ttl} IN SRV 0 0 {port} {target}")
}

/// The instancer of [`NAME`] at `server`, polling every `interval`.
fn instancer(server: SocketAddr, interval: Duration) -> Instancer {
    DnsSrv::new(NAME)
        .resolver(server)
        .interval(interval)
        .timeout(Duration::from_millis(500))
        .instancer()
        .expect("instancer")
}

/// `addrs` as instances, in the sorted order events keep them in.
fn instances(addrs: &[&str]) -> Vec<Instance> {
    let mut instances: Vec<Instance> = addrs.iter().copied().map(Instance::from).collect();
    instances.sort();
    instances
}

/// Waits (at most [`WAIT`]) for an event of `instancer` that satisfies `pred`, and
/// returns it; panics with the last event seen when none comes.
async fn wait_for(instancer: &Instancer, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let mut events = instancer.subscribe();
    let mut event = events.latest();
    let waited = tokio::time::timeout(WAIT, async {
        while !pred(&event) {
            event = events.next().await.expect("the instancer's source stopped");
        }
    })
    .await;
    if waited.is_err() {
        panic!("no event with {what} within {WAIT:?}; the last was {event:?}");
    }
    event
}

/// Waits for `instancer` to publish exactly `addrs`, with no error.
async fn wait_for_set(instancer: &Instancer, addrs: &[&str]) -> Event {
    let expected = instances(addrs);
    wait_for(instancer, &format!("the instances {addrs:?}"), |event| {
        event.is_resolved() && event.error().is_none() && event.instances() == expected
    })
    .await
}
