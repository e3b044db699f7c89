//! Integration tests of kit-sd-consul against the Consul stand-in of `kit_testkit::consul`
//! (Consul itself cannot be installed here; see the crate docs).

mod discovery;
mod faults;
mod registration;

use std::time::Duration;

use kit::sd::{Event, Instance, Instancer};
use tokio::time::{Instant, timeout_at};

/// How long any wait in these tests may take: generous, for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// Instances from addresses.
fn instances(addrs: &[&str]) -> Vec<Instance> {
    addrs.iter().copied().map(Instance::from).collect()
}

/// Waits until the instancer reports `want` without an error; panics with the last event
/// after [`PATIENCE`].
async fn wait_for_instances(instancer: &Instancer, want: &[&str]) -> Event {
    let want = instances(want);
    wait_for_event(instancer, "the instances", |event| {
        event.error().is_none() && event.is_resolved() && event.instances() == want
    })
    .await
}

/// Waits until the instancer reports an error, and returns the event.
async fn wait_for_error(instancer: &Instancer) -> Event {
    wait_for_event(instancer, "an error", |event| event.error().is_some()).await
}

async fn wait_for_event(
    instancer: &Instancer,
    what: &str,
    mut done: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + PATIENCE;
    let mut events = instancer.subscribe();
    loop {
        let event = events.latest();
        if done(&event) {
            return event;
        }
        if timeout_at(deadline, events.next()).await.is_err() {
            panic!("timed out waiting for {what}; last event: {event:?}");
        }
    }
}

/// Polls `condition` every 10 ms until it holds; panics naming `what` after [`PATIENCE`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
