//! Waiting on a [`kit::sd::Instancer`], for the tests of registries: for an event that
//! satisfies a check, a set of instances, an error, or any condition, each bounded by
//! [`PATIENCE`] and failing with what was last seen.

use std::time::Duration;

use kit::sd::{Event, Instance, Instancer};
use tokio::time::{Instant, timeout_at};

/// How long any of these waits may take: generous, for a loaded 2-CPU machine; a passing
/// test waits only as long as the registry takes.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `addrs` as instances, sorted as events keep them.
pub fn instances(addrs: &[&str]) -> Vec<Instance> {
    let mut instances: Vec<Instance> = addrs.iter().copied().map(Instance::from).collect();
    instances.sort();
    instances
}

/// Waits for an event of `instancer` that satisfies `done`, and returns it.
///
/// # Panics
///
/// When none comes within [`PATIENCE`], naming `what` and the last event seen.
pub async fn wait_for(
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
        match timeout_at(deadline, events.next()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!(
                "the instancer's source stopped while waiting for {what}; last event: {event:?}"
            ),
            Err(_) => panic!("timed out waiting for {what}; last event: {event:?}"),
        }
    }
}

/// Waits until `instancer` reports exactly `addrs`, without an error.
///
/// # Panics
///
/// As [`wait_for`].
pub async fn wait_for_set(instancer: &Instancer, addrs: &[&str]) -> Event {
    let want = instances(addrs);
    wait_for(instancer, &format!("the instances {addrs:?}"), |event| {
        event.is_resolved() && event.error().is_none() && event.instances() == want
    })
    .await
}

/// Waits until `instancer` reports an error, and returns the event.
///
/// # Panics
///
/// As [`wait_for`].
pub async fn wait_for_error(instancer: &Instancer) -> Event {
    wait_for(instancer, "an error", |event| event.error().is_some()).await
}

/// Polls `condition` every 10 ms until it holds.
///
/// # Panics
///
/// After [`PATIENCE`], naming `what`.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
