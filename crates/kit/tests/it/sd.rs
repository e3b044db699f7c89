use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::error::Delivery;
use kit::middleware::{self, retry::RetryPolicy};
use kit::sd::{
    Balanced, Balancer, Closing, Endpointer, EndpointerOptions, Instance, Instancer,
    OutlierDetection, P2c, Random, Registrar, RoundRobin,
};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};

fn instances(addrs: &[&str]) -> Vec<Instance> {
    addrs.iter().map(|a| Instance::from(*a)).collect()
}

/// A fleet of in-memory instances: each endpoint answers with its address, fails while
/// its address is marked down, and counts how often it was made and closed.
#[derive(Default)]
struct Fleet {
    down: Mutex<BTreeSet<String>>,
    made: Mutex<BTreeMap<String, usize>>,
    closed: Mutex<BTreeMap<String, usize>>,
    refuse: Mutex<BTreeSet<String>>,
}

type FleetEndpoint = Closing<kit::BoxEndpoint<(), String>>;

impl Fleet {
    fn factory(self: &Arc<Self>) -> impl Fn(&Instance) -> Result<FleetEndpoint, Error> + use<> {
        let fleet = self.clone();
        move |instance: &Instance| {
            let addr = instance.addr().to_owned();
            if fleet.refuse.lock().unwrap().contains(&addr) {
                return Err(Error::invalid_argument(format!("bad address {addr}")));
            }
            *fleet.made.lock().unwrap().entry(addr.clone()).or_default() += 1;
            let (answering, closing) = (fleet.clone(), fleet.clone());
            let name = addr.clone();
            let endpoint = endpoint_fn(move |_ctx: Context, ()| {
                let (fleet, addr) = (answering.clone(), name.clone());
                async move {
                    if fleet.down.lock().unwrap().contains(&addr) {
                        return Err(Error::unavailable(format!("{addr}: connection refused"))
                            .with_delivery(Delivery::NotSent));
                    }
                    Ok(addr)
                }
            })
            .boxed();
            Ok(Closing::new(endpoint, move || {
                *closing.closed.lock().unwrap().entry(addr).or_default() += 1;
            }))
        }
    }

    fn made(&self, addr: &str) -> usize {
        self.made.lock().unwrap().get(addr).copied().unwrap_or(0)
    }

    fn closed(&self, addr: &str) -> usize {
        self.closed.lock().unwrap().get(addr).copied().unwrap_or(0)
    }

    fn set_down(&self, addr: &str, down: bool) {
        let mut set = self.down.lock().unwrap();
        if down {
            set.insert(addr.to_owned());
        } else {
            set.remove(addr);
        }
    }
}

fn held<E>(endpointer: &Endpointer<E>) -> Vec<String>
where
    E: Send + Sync + 'static,
{
    let endpoints = endpointer.endpoints();
    endpoints
        .entries()
        .iter()
        .map(|e| e.instance().to_string())
        .collect()
}

#[test]
fn a_publisher_sends_sorted_whole_sets_and_only_changes() {
    let (instancer, publisher) = Instancer::manual();
    let mut events = instancer.subscribe();
    assert!(!events.latest().is_resolved());
    publisher.update(instances(&["b:1", "a:1", "b:1"]));
    assert!(events.has_changed());
    assert_eq!(events.latest().instances(), instances(&["a:1", "b:1"]));
    // The same set again, in another order: nobody is told.
    publisher.update(instances(&["b:1", "a:1"]));
    assert!(!events.has_changed());
    // An error keeps the instances.
    publisher.fail(Error::unavailable("registry down"));
    let event = events.latest();
    assert_eq!(event.instances(), instances(&["a:1", "b:1"]));
    assert_eq!(event.error().unwrap().message(), "registry down");
    // The same set after an error clears it, and is news.
    publisher.update(instances(&["a:1", "b:1"]));
    assert!(events.has_changed());
    assert!(events.latest().error().is_none());
}

/// The static registry updatable from code: registrars over one publisher each add and
/// remove their own instance.
#[tokio::test]
async fn manual_registrars_on_one_publisher_add_and_remove_only_their_instance() {
    let (instancer, publisher) = Instancer::manual();
    let mut events = instancer.subscribe();
    let a = publisher.registrar("a:1");
    let b = publisher.registrar("b:1");
    // Deregistering what is not registered tells nobody, not even that the registry answered.
    a.deregister().await.unwrap();
    assert!(!events.has_changed());
    assert!(!events.latest().is_resolved());

    b.register().await.unwrap();
    a.register().await.unwrap();
    assert_eq!(events.latest().instances(), instances(&["a:1", "b:1"]));
    // Registering again changes nothing.
    a.register().await.unwrap();
    assert!(!events.has_changed());

    a.deregister().await.unwrap();
    assert_eq!(events.latest().instances(), instances(&["b:1"]));
    a.deregister().await.unwrap();
    assert!(!events.has_changed());

    // A registration after an error reports the set afresh, without the error.
    publisher.fail(Error::unavailable("registry down"));
    assert!(events.latest().error().is_some());
    a.register().await.unwrap();
    let event = events.latest();
    assert_eq!(event.instances(), instances(&["a:1", "b:1"]));
    assert!(event.error().is_none());

    // A balancer over the instancer follows the registrations.
    let fleet = Arc::new(Fleet::default());
    let balanced = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    );
    b.deregister().await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            balanced.call(Context::background(), ()).await.unwrap(),
            "a:1"
        );
    }
    assert_eq!(a.instance().addr(), "a:1");
    assert_eq!(
        format!("{a:?}"),
        r#"ManualRegistrar { instance: "a:1", .. }"#
    );
}

#[tokio::test]
async fn a_spawned_source_stops_with_its_last_instancer() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let flag = Flag(dropped.clone());
    let instancer = Instancer::spawn(move |publisher| async move {
        let _flag = flag;
        publisher.update(instances(&["a:1"]));
        std::future::pending::<()>().await;
    });
    let mut events = instancer.subscribe();
    let event = events.next().await.unwrap();
    assert_eq!(event.instances(), instances(&["a:1"]));
    let clone = instancer.clone();
    drop(instancer);
    tokio::task::yield_now().await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        0,
        "a clone and a subscription remain"
    );
    drop(clone);
    tokio::task::yield_now().await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        0,
        "the subscription remains"
    );
    drop(events);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the source task was aborted"
    );
}

#[tokio::test]
async fn instances_keep_their_endpoint_and_removed_ones_are_closed() {
    let fleet = Arc::new(Fleet::default());
    let (instancer, publisher) = Instancer::manual();
    let endpointer = Endpointer::new(&instancer, fleet.factory());
    publisher.update(instances(&["a:1", "b:1"]));
    assert_eq!(held(&endpointer), ["a:1", "b:1"]);
    let a = endpointer.endpoints().entries()[0].clone();

    publisher.update(instances(&["a:1", "c:1"]));
    assert_eq!(held(&endpointer), ["a:1", "c:1"]);
    assert!(
        Arc::ptr_eq(&a, &endpointer.endpoints().entries()[0]),
        "a kept its endpoint"
    );
    assert_eq!(
        (fleet.made("a:1"), fleet.made("b:1"), fleet.made("c:1")),
        (1, 1, 1)
    );
    assert_eq!(fleet.closed("b:1"), 1, "b was closed when it left");

    // An endpoint still in use when its instance leaves is closed when its user is done.
    publisher.update(instances(&["c:1"]));
    assert_eq!(held(&endpointer), ["c:1"]);
    assert_eq!(fleet.closed("a:1"), 0);
    drop(a);
    assert_eq!(fleet.closed("a:1"), 1);

    // Back again: a new endpoint.
    publisher.update(instances(&["a:1", "c:1"]));
    assert_eq!(held(&endpointer), ["a:1", "c:1"]);
    assert_eq!(fleet.made("a:1"), 2);
}

#[tokio::test]
async fn a_factory_that_fails_for_one_instance_leaves_the_others_serving() {
    let fleet = Arc::new(Fleet::default());
    fleet.refuse.lock().unwrap().insert("bad:1".into());
    let (instancer, publisher) = Instancer::manual();
    let balanced = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    );
    publisher.update(instances(&["a:1", "bad:1", "c:1"]));
    assert_eq!(held(balanced.endpointer()), ["a:1", "c:1"]);
    for expected in ["a:1", "c:1", "a:1"] {
        assert_eq!(
            balanced.call(Context::background(), ()).await.unwrap(),
            expected
        );
    }
    // Tried again at the registry's next change.
    fleet.refuse.lock().unwrap().clear();
    publisher.update(instances(&["a:1", "bad:1", "c:1", "d:1"]));
    assert_eq!(held(balanced.endpointer()), ["a:1", "bad:1", "c:1", "d:1"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_registry_keeps_the_last_good_set_unless_told_to_invalidate() {
    let fleet = Arc::new(Fleet::default());
    let (instancer, publisher) = Instancer::manual();
    let keeping = Endpointer::new(&instancer, fleet.factory());
    let invalidating = Endpointer::with_options(
        &instancer,
        fleet.factory(),
        EndpointerOptions::default().invalidate_after(Duration::from_secs(5)),
    );
    let balanced = Balanced::new(invalidating.clone(), RoundRobin::new());
    publisher.update(instances(&["a:1", "b:1"]));
    publisher.fail(Error::unavailable("registry down"));

    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(held(&keeping), ["a:1", "b:1"]);
    assert_eq!(held(&invalidating), ["a:1", "b:1"]);
    assert_eq!(
        invalidating.endpoints().error().unwrap().message(),
        "registry down"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(held(&keeping), ["a:1", "b:1"]);
    assert!(held(&invalidating).is_empty());
    // Dropped by the background task: the closers ran once, for the invalidating copy only.
    assert_eq!((fleet.closed("a:1"), fleet.closed("b:1")), (1, 1));
    let err = balanced.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "no endpoints available")
    );
    assert_eq!(err.delivery(), Delivery::NotSent);
    let source = std::error::Error::source(&err).expect("the registry's error as source");
    assert!(source.to_string().contains("registry down"), "{source}");

    // The registry answers again.
    publisher.update(instances(&["b:1"]));
    assert_eq!(held(&invalidating), ["b:1"]);
    assert_eq!(
        balanced.call(Context::background(), ()).await.unwrap(),
        "b:1"
    );
}

#[tokio::test(start_paused = true)]
async fn calls_before_the_first_answer_wait_for_it_within_their_deadline() {
    let fleet = Arc::new(Fleet::default());
    let (instancer, publisher) = Instancer::manual();
    let balanced = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    );

    let ctx = Context::background().with_timeout(Duration::from_secs(1));
    let err = balanced.call(ctx, ()).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);

    let waiting = tokio::spawn({
        let balanced = balanced.clone();
        async move { balanced.call(Context::background(), ()).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished());
    publisher.update(instances(&["a:1"]));
    assert_eq!(waiting.await.unwrap().unwrap(), "a:1");

    // An empty answer is an answer: no waiting, the clear error.
    publisher.update([]);
    let err = balanced.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "no endpoints available")
    );
}

/// Updates racing with calls on many threads: every instance is made once per appearance,
/// closed once per disappearance, and never held twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_racing_with_calls_never_drop_or_duplicate_an_instance() {
    let fleet = Arc::new(Fleet::default());
    let (instancer, publisher) = Instancer::manual();
    let endpointer = Endpointer::new(&instancer, fleet.factory());
    let balanced = Balanced::new(endpointer.clone(), P2c::seeded(7));
    publisher.update(instances(&["stable:1"]));

    let callers: Vec<_> = (0..8)
        .map(|_| {
            let balanced = balanced.clone();
            tokio::spawn(async move {
                for _ in 0..500 {
                    balanced.call(Context::background(), ()).await.unwrap();
                    let endpoints = balanced.endpointer().endpoints();
                    let names: Vec<_> = endpoints
                        .entries()
                        .iter()
                        .map(|e| e.instance().clone())
                        .collect();
                    let unique: BTreeSet<_> = names.iter().collect();
                    assert_eq!(
                        unique.len(),
                        names.len(),
                        "an instance held twice: {names:?}"
                    );
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut appearances = BTreeMap::<String, usize>::new();
    let mut present = BTreeSet::<String>::new();
    for round in 0..300 {
        let flapping = ["x:1", "y:1", "z:1"];
        let now: BTreeSet<String> = flapping
            .iter()
            .enumerate()
            .filter(|(i, _)| (round >> i) & 1 == 1)
            .map(|(_, a)| a.to_string())
            .collect();
        for addr in now.difference(&present) {
            *appearances.entry(addr.clone()).or_default() += 1;
        }
        present = now.clone();
        let mut set: Vec<&str> = now.iter().map(String::as_str).collect();
        set.push("stable:1");
        publisher.update(instances(&set));
        tokio::task::yield_now().await;
    }
    for caller in callers {
        caller.await.unwrap();
    }
    let _ = endpointer.endpoints(); // apply the last update
    assert_eq!(fleet.made("stable:1"), 1);
    for addr in ["x:1", "y:1", "z:1"] {
        let made = fleet.made(addr);
        // Made at most once per appearance (an appearance that came and went between two
        // reads is never seen), closed once per endpoint made, except the one held now.
        assert!(
            made <= appearances[addr],
            "{addr}: made {made} for {} appearances",
            appearances[addr]
        );
        let held_now = usize::from(present.contains(addr));
        assert_eq!(fleet.closed(addr) + held_now, made, "{addr}");
    }
}

#[tokio::test]
async fn round_robin_takes_each_in_turn_and_random_reaches_all() {
    let fleet = Arc::new(Fleet::default());
    let instancer = Instancer::fixed(instances(&["a:1", "b:1", "c:1"]));
    let rr = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    );
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(rr.call(Context::background(), ()).await.unwrap());
    }
    assert_eq!(seen, ["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"]);

    let random = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        Random::seeded(1),
    );
    let mut counts = BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        *counts
            .entry(random.call(Context::background(), ()).await.unwrap())
            .or_default() += 1;
    }
    assert_eq!(counts.len(), 3);
    assert!(counts.values().all(|&n| n > 50), "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn p2c_prefers_the_faster_instance_and_shuns_one_that_failed() {
    let instancer = Instancer::fixed(instances(&["fast:1", "slow:1"]));
    let factory = |instance: &Instance| {
        let addr = instance.addr().to_owned();
        Ok(endpoint_fn(move |_ctx: Context, ()| {
            let addr = addr.clone();
            async move {
                let took = if addr == "slow:1" { 100 } else { 1 };
                tokio::time::sleep(Duration::from_millis(took)).await;
                Ok::<_, Error>(addr)
            }
        }))
    };
    let balanced = Balanced::new(Endpointer::new(&instancer, factory), P2c::seeded(3));
    // Both get measured once (an unmeasured instance costs nothing), then the fast one wins.
    for _ in 0..4 {
        balanced.call(Context::background(), ()).await.unwrap();
    }
    let mut fast = 0;
    for _ in 0..20 {
        if balanced.call(Context::background(), ()).await.unwrap() == "fast:1" {
            fast += 1;
        }
    }
    assert_eq!(fast, 20);
    let stats = balanced.stats();
    assert_eq!(stats[0].instance.addr(), "fast:1");
    assert!(stats[0].latency < stats[1].latency, "{stats:?}");
    assert_eq!(stats.iter().map(|s| s.requests).sum::<u64>(), 24);

    // A refused call raises the estimate to the failure penalty: the next calls go elsewhere.
    let fleet = Arc::new(Fleet::default());
    let instancer = Instancer::fixed(instances(&["a:1", "b:1"]));
    let balanced = Balanced::new(Endpointer::new(&instancer, fleet.factory()), P2c::seeded(5));
    for _ in 0..4 {
        balanced.call(Context::background(), ()).await.unwrap();
    }
    fleet.set_down("a:1", true);
    let mut failures = 0;
    for _ in 0..20 {
        if balanced.call(Context::background(), ()).await.is_err() {
            failures += 1;
        }
    }
    assert_eq!(failures, 1, "only the first call found a:1 down");
    let stats = balanced.stats();
    assert_eq!((stats[0].failures, stats[0].consecutive_failures), (1, 1));
    assert!(stats[0].latency >= Duration::from_millis(900), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn outlier_detection_ejects_an_instance_that_keeps_failing_for_a_growing_time() {
    let fleet = Arc::new(Fleet::default());
    let instancer = Instancer::fixed(instances(&["a:1", "b:1", "c:1"]));
    let policy = OutlierDetection::default()
        .consecutive_failures(3)
        .ejection(Duration::from_secs(10), Duration::from_secs(15));
    let balanced = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    )
    .outlier_detection(policy);
    fleet.set_down("a:1", true);
    let mut answers = Vec::new();
    for _ in 0..9 {
        answers.push(
            balanced
                .call(Context::background(), ())
                .await
                .map_err(|e| e.code()),
        );
    }
    // a:1 failed on its turns (calls 1, 4, 7) and was ejected after the third.
    assert_eq!(answers.iter().filter(|a| a.is_err()).count(), 3);
    let stats = balanced.stats();
    assert_eq!(stats[0].ejections, 1);
    assert_eq!(stats[0].ejected_for, Some(Duration::from_secs(10)));
    for _ in 0..10 {
        let answer = balanced.call(Context::background(), ()).await.unwrap();
        assert_ne!(answer, "a:1");
    }
    // Back after 10 s, still failing: ejected again after three more failures, for 15 s
    // (twice the base, capped).
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(balanced.stats()[0].ejected_for, None);
    let mut failures = 0;
    for _ in 0..9 {
        if balanced.call(Context::background(), ()).await.is_err() {
            failures += 1;
        }
    }
    assert_eq!(failures, 3);
    let stats = balanced.stats();
    assert_eq!(
        (stats[0].ejections, stats[0].ejected_for),
        (2, Some(Duration::from_secs(15)))
    );
}

#[tokio::test(start_paused = true)]
async fn outlier_detection_keeps_to_its_share_and_tries_all_when_all_are_out() {
    let fleet = Arc::new(Fleet::default());
    let instancer = Instancer::fixed(instances(&["a:1", "b:1"]));
    let policy = OutlierDetection::default().consecutive_failures(1);
    let balanced = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    )
    .outlier_detection(policy);
    fleet.set_down("a:1", true);
    fleet.set_down("b:1", true);
    for _ in 0..4 {
        balanced.call(Context::background(), ()).await.unwrap_err();
    }
    // 10 % of two is less than one: one instance may be ejected, never both.
    let stats = balanced.stats();
    let ejected = stats.iter().filter(|s| s.ejected_for.is_some()).count();
    assert_eq!(ejected, 1, "{stats:?}");
    // With every candidate ejected, all are tried again rather than none.
    let instancer = Instancer::fixed(instances(&["a:1"]));
    let single = Balanced::new(
        Endpointer::new(&instancer, fleet.factory()),
        RoundRobin::new(),
    )
    .outlier_detection(policy);
    single.call(Context::background(), ()).await.unwrap_err();
    assert!(single.stats()[0].ejected_for.is_some());
    fleet.set_down("a:1", false);
    assert_eq!(single.call(Context::background(), ()).await.unwrap(), "a:1");
}

#[tokio::test(start_paused = true)]
async fn a_retry_around_the_balancer_goes_to_another_instance() {
    for balancer in ["round robin", "p2c"] {
        let fleet = Arc::new(Fleet::default());
        let instancer = Instancer::fixed(instances(&["a:1", "b:1", "c:1"]));
        let endpointer = Endpointer::new(&instancer, fleet.factory());
        let policy = RetryPolicy::default()
            .max_attempts(3)
            .timeout(Duration::from_millis(500));
        let client = match balancer {
            "round robin" => middleware::chain()
                .retry(policy)
                .endpoint(Balanced::new(endpointer, RoundRobin::new()))
                .boxed(),
            _ => middleware::chain()
                .retry(policy)
                .endpoint(Balanced::new(endpointer, P2c::seeded(11)))
                .boxed(),
        };
        fleet.set_down("b:1", true);
        for _ in 0..30 {
            let answer = client.call(Context::background(), ()).await.unwrap();
            assert_ne!(answer, "b:1", "{balancer}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_leaves_the_in_flight_count() {
    let instancer = Instancer::fixed(instances(&["a:1"]));
    let factory = |_: &Instance| {
        Ok(endpoint_fn(|_ctx: Context, ()| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Error>(())
        }))
    };
    let balanced = Balanced::new(Endpointer::new(&instancer, factory), RoundRobin::new());
    let call = tokio::spawn({
        let balanced = balanced.clone();
        async move { balanced.call(Context::background(), ()).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(balanced.stats()[0].in_flight, 1);
    call.abort();
    let _ = call.await;
    assert_eq!(balanced.stats()[0].in_flight, 0);
    assert_eq!(balanced.stats()[0].requests, 1);
}

/// A balancer written outside kit: the policy is a trait.
#[tokio::test]
async fn a_custom_balancer_picks_from_the_candidates() {
    struct Last;
    impl Balancer for Last {
        fn pick<E>(&self, candidates: &kit::sd::Candidates<'_, E>) -> usize {
            candidates.len() - 1
        }
    }
    let fleet = Arc::new(Fleet::default());
    let instancer = Instancer::fixed(instances(&["a:1", "b:1"]));
    let balanced = Balanced::new(Endpointer::new(&instancer, fleet.factory()), Last);
    assert_eq!(
        balanced.call(Context::background(), ()).await.unwrap(),
        "b:1"
    );
}
