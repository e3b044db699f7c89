//! Waiting on a [`kit::sd::Instancer`], for the tests of registries: for an event that
//! satisfies a check, a set of instances, an error, or any condition, each bounded by
//! [`PATIENCE`] and failing with what was last seen.
//!
//! And the discovery latency benches' one measuring loop: a [`BalancerProbe`] calls
//! through a balancer over a registry's instancer and times how long a registry change
//! takes to reach (or leave) those calls; [`report`] prints the figures.

use std::time::Duration;

use kit::sd::{Balanced, Endpointer, Event, Instance, Instancer, RoundRobin};
use kit::{BoxEndpoint, Context, Endpoint, Error, endpoint_fn};
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

/// A round-robin [`Balanced`] over an instancer, whose endpoints answer each call with the
/// instance they were made for: what the discovery latency benches call through, so that
/// they time a registry change up to the calls a client makes, not up to the registry's
/// event.
///
/// Each wait polls every millisecond (so the figures are good to about a millisecond), and
/// each poll makes one call per instance the balancer holds, so that round robin tries
/// every one of them.
pub struct BalancerProbe {
    balanced: Balanced<BoxEndpoint<(), Instance>, RoundRobin>,
}

impl BalancerProbe {
    /// A probe over `instancer`'s instances.
    pub fn new(instancer: &Instancer) -> BalancerProbe {
        let factory = |instance: &Instance| {
            let instance = instance.clone();
            let endpoint = endpoint_fn(move |_ctx: Context, ()| {
                let instance = instance.clone();
                async move { Ok::<_, Error>(instance) }
            });
            Ok::<_, Error>(endpoint.boxed())
        };
        let endpointer = Endpointer::new(instancer, factory);
        BalancerProbe {
            balanced: Balanced::new(endpointer, RoundRobin::new()),
        }
    }

    /// Waits for the registry's first answer.
    ///
    /// # Panics
    ///
    /// When none comes within [`PATIENCE`].
    pub async fn ready(&self) {
        let ctx = Context::background().with_timeout(PATIENCE);
        if let Err(err) = self.balanced.endpointer().ready(&ctx).await {
            panic!("the registry did not answer: {err}");
        }
    }

    /// Calls until a call reaches `instance`, and returns the time since `start` then.
    ///
    /// # Panics
    ///
    /// When none has within [`PATIENCE`] of `start`.
    pub async fn until_called(&self, instance: &Instance, start: std::time::Instant) -> Duration {
        self.poll(start, &format!("a call reaches {instance}"), async || {
            self.round_reaches(instance).await
        })
        .await
    }

    /// Calls until no call reaches `instance` and the balancer no longer lists it in its
    /// [statistics](Balanced::stats) (so that no later call can reach it), and returns the
    /// time since `start` then.
    ///
    /// # Panics
    ///
    /// When it is still there [`PATIENCE`] after `start`.
    pub async fn until_dropped(&self, instance: &Instance, start: std::time::Instant) -> Duration {
        self.poll(
            start,
            &format!("calls no longer reach {instance}"),
            async || {
                !self.round_reaches(instance).await
                    && !self
                        .balanced
                        .stats()
                        .iter()
                        .any(|s| s.instance == *instance)
            },
        )
        .await
    }

    /// Whether one call per instance held (at least one call) reaches `instance`; failed
    /// calls (no endpoints) reach nothing.
    async fn round_reaches(&self, instance: &Instance) -> bool {
        let calls = self.balanced.stats().len().max(1);
        for _ in 0..calls {
            if let Ok(reached) = self.balanced.call(Context::background(), ()).await
                && reached == *instance
            {
                return true;
            }
        }
        false
    }

    /// Checks `done` every millisecond; returns the time since `start` when it holds.
    async fn poll(
        &self,
        start: std::time::Instant,
        what: &str,
        mut done: impl AsyncFnMut() -> bool,
    ) -> Duration {
        loop {
            if done().await {
                return start.elapsed();
            }
            assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Prints `what`'s median and maximum over `samples` (sorting them), in milliseconds.
///
/// # Panics
///
/// When `samples` is empty.
pub fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    println!(
        "{what}: median {:.1} ms, max {:.1} ms over {} rounds",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        samples.len()
    );
}
