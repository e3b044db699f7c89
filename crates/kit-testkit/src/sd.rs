//! Waiting on a [`kit::sd::Instancer`], for the tests of registries: for an event that
//! satisfies a check, a set of instances, an error, or any condition, each bounded by
//! [`PATIENCE`] and failing with what was last seen. Also what every registry's tests check
//! the same way: the events an instancer sent ([`Recording`]), and an instance flapping
//! beside stable ones ([`check_flapping`]).
//!
//! And the discovery latency benches' one measuring loop: a [`BalancerProbe`] calls
//! through a balancer over a registry's instancer and times how long a registry change
//! takes to reach (or leave) those calls; [`report`] prints the figures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::sd::{Balanced, Endpointer, Event, Instance, Instancer, RoundRobin};
use kit::{BoxEndpoint, Context, Endpoint, Error, endpoint_fn};
use tokio::task::JoinHandle;
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

/// Every event an instancer sends from the start of the recording (its latest event then
/// first), in order, as a subscriber sees them: quick successive events may be merged into
/// the last of them, which is never lost. Recording stops when this is dropped.
#[derive(Debug)]
pub struct Recording {
    events: Arc<Mutex<Vec<Event>>>,
    task: JoinHandle<()>,
}

impl Recording {
    /// Starts recording `instancer`'s events.
    pub fn start(instancer: &Instancer) -> Recording {
        let mut subscription = instancer.subscribe();
        let events = Arc::new(Mutex::new(vec![subscription.latest()]));
        let sink = events.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = subscription.next().await {
                sink.lock().unwrap().push(event);
            }
        });
        Recording { events, task }
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How many times [`check_flapping`] flaps its instance without waiting.
const QUICK_FLAPS: usize = 10;

/// How many times [`check_flapping`] flaps its instance waiting for each change.
const SEEN_FLAPS: usize = 3;

/// Flaps the instance `flapping` beside the instances `stable` (`up` makes the registry
/// report it, `down` takes it away) and checks that `instancer` follows it without ever
/// disturbing the others:
///
/// 1. 10 times (`QUICK_FLAPS`) up and down with no wait, then up: the instancer ends with
///    `stable` and `flapping`; down: it ends with `stable` alone;
/// 2. 3 times (`SEEN_FLAPS`) up, waiting for the instancer to report it, then down, waiting
///    again: the recording of that phase holds exactly that many appearances and as many
///    disappearances (none lost, none doubled);
/// 3. every event of both phases has no error and is `stable` with or without `flapping`:
///    a stable instance never left the published sets, nothing else came in.
///
/// The instancer must report `stable` alone to begin with (this waits for it).
///
/// # Panics
///
/// When a check fails (with the events recorded), or a wait expires as in [`wait_for`].
pub async fn check_flapping(
    instancer: &Instancer,
    stable: &[&str],
    flapping: &str,
    mut up: impl AsyncFnMut(),
    mut down: impl AsyncFnMut(),
) {
    let with: Vec<&str> = stable.iter().copied().chain([flapping]).collect();
    wait_for_set(instancer, stable).await;

    let quick = Recording::start(instancer);
    for _ in 0..QUICK_FLAPS {
        up().await;
        down().await;
    }
    up().await;
    wait_for_set(instancer, &with).await;
    down().await;
    wait_for_set(instancer, stable).await;
    drop_and_check(quick, stable, &with, None);

    let seen = Recording::start(instancer);
    for _ in 0..SEEN_FLAPS {
        up().await;
        wait_for_set(instancer, &with).await;
        down().await;
        wait_for_set(instancer, stable).await;
    }
    drop_and_check(seen, stable, &with, Some(SEEN_FLAPS));
}

/// Stops `recording` and checks its events for [`check_flapping`]: each without an error
/// and exactly `stable` or `with`; and, if given, the number of changes from one to the
/// other each way.
fn drop_and_check(recording: Recording, stable: &[&str], with: &[&str], flaps: Option<usize>) {
    let events = recording.events();
    drop(recording);
    let (stable, with) = (instances(stable), instances(with));
    for event in &events {
        assert!(
            event.error().is_none() && (event.instances() == stable || event.instances() == with),
            "an event of a flapping instance is neither {stable:?} nor {with:?}: {event:?}; all: {events:?}"
        );
    }
    if let Some(flaps) = flaps {
        let changes = |from: &[Instance], to: &[Instance]| {
            events
                .windows(2)
                .filter(|pair| pair[0].instances() == from && pair[1].instances() == to)
                .count()
        };
        assert_eq!(
            (changes(&stable, &with), changes(&with, &stable)),
            (flaps, flaps),
            "appearances and disappearances of the flapping instance; events: {events:?}"
        );
    }
}
