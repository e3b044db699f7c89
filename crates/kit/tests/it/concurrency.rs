use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kit::error::{ByCode, Classifier};
use kit::middleware::{
    self,
    concurrency::{Aimd, ConcurrencyLimit},
};
use kit::{Class, Code, Context, Endpoint, Error, endpoint_fn};
use tokio::time::Instant;

/// Counts the calls in flight inside an endpoint, and the most seen at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    calls: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An endpoint that takes `took` and returns `result`, measured by `gauge`.
fn sleeper(gauge: &Arc<Gauge>, took: Duration) -> impl Endpoint<(), Response = ()> + Clone + use<> {
    let gauge = gauge.clone();
    endpoint_fn(move |_ctx: Context, ()| {
        let gauge = gauge.clone();
        async move {
            gauge.enter();
            tokio::time::sleep(took).await;
            gauge.leave();
            Ok::<_, Error>(())
        }
    })
}

fn spawn_calls<E>(ep: &Arc<E>, n: usize) -> Vec<tokio::task::JoinHandle<Result<(), Error>>>
where
    E: Endpoint<(), Response = ()>,
{
    (0..n)
        .map(|_| {
            let ep = ep.clone();
            tokio::spawn(async move { ep.call(Context::background(), ()).await })
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_of_10_lets_100_calls_through_10_at_a_time() {
    let gauge = Arc::new(Gauge::default());
    let ep = Arc::new(
        middleware::chain()
            .concurrency_limit(ConcurrencyLimit::new(10))
            .endpoint(sleeper(&gauge, Duration::from_millis(10))),
    );
    let start = Instant::now();
    for task in spawn_calls(&ep, 100) {
        task.await.unwrap().unwrap();
    }
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 100);
    assert_eq!(gauge.max.load(Ordering::SeqCst), 10);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(100),
        "ten waves of ten"
    );
}

#[tokio::test(start_paused = true)]
async fn shedding_refuses_exactly_the_calls_over_the_limit() {
    let gauge = Arc::new(Gauge::default());
    let limit = ConcurrencyLimit::new(10).shed_load();
    let ep = Arc::new(
        middleware::chain()
            .concurrency_limit(limit.clone())
            .endpoint(sleeper(&gauge, Duration::from_secs(1))),
    );
    let tasks = spawn_calls(&ep, 100);
    tokio::task::yield_now().await;
    assert_eq!(limit.in_flight(), 10);
    let mut refused = 0;
    for task in tasks {
        if let Err(err) = task.await.unwrap() {
            assert_eq!(
                (err.code(), err.message()),
                (Code::ResourceExhausted, "overloaded: 10 calls in flight")
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 90);
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 10);
    assert_eq!(gauge.max.load(Ordering::SeqCst), 10);
    assert_eq!(limit.in_flight(), 0);
}

/// A limit of one, taken by a call that holds it for an hour.
async fn taken() -> (
    Arc<impl Endpoint<(), Response = ()>>,
    Arc<Gauge>,
    tokio::task::JoinHandle<Result<(), Error>>,
) {
    let gauge = Arc::new(Gauge::default());
    let ep = Arc::new(
        middleware::chain()
            .concurrency_limit(ConcurrencyLimit::new(1))
            .endpoint(sleeper(&gauge, Duration::from_secs(3600))),
    );
    let holder = spawn_calls(&ep, 1).pop().unwrap();
    tokio::task::yield_now().await;
    assert_eq!(gauge.now.load(Ordering::SeqCst), 1);
    (ep, gauge, holder)
}

#[tokio::test(start_paused = true)]
async fn a_waiting_call_fails_when_its_deadline_passes() {
    let (ep, gauge, _holder) = taken().await;
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::from_millis(100));
    let err = ep.call(ctx, ()).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_call_with_no_time_left_fails_at_once() {
    let (ep, gauge, _holder) = taken().await;
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::ZERO);
    let err = ep.call(ctx, ()).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_caller_leaves_the_queue() {
    let gauge = Arc::new(Gauge::default());
    let ep = Arc::new(
        middleware::chain()
            .concurrency_limit(ConcurrencyLimit::new(1))
            .endpoint(sleeper(&gauge, Duration::from_secs(1))),
    );
    let holder = spawn_calls(&ep, 1).pop().unwrap();
    tokio::task::yield_now().await;
    // Two callers queue behind it; the first of them gives up.
    let (ctx, cancel) = Context::background().with_cancel();
    let quitter = tokio::spawn({
        let ep = ep.clone();
        async move { ep.call(ctx, ()).await }
    });
    tokio::task::yield_now().await;
    let patient = spawn_calls(&ep, 1).pop().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    cancel.cancel();
    let err = quitter.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);

    // The place the quitter queued for goes to the caller behind it.
    let start = Instant::now();
    holder.await.unwrap().unwrap();
    patient.await.unwrap().unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_call_in_flight_gives_its_place_back() {
    let limit = ConcurrencyLimit::new(1).shed_load();
    let gauge = Arc::new(Gauge::default());
    let ep = Arc::new(
        middleware::chain()
            .concurrency_limit(limit.clone())
            .endpoint(sleeper(&gauge, Duration::from_secs(3600))),
    );
    let holder = spawn_calls(&ep, 1).pop().unwrap();
    tokio::task::yield_now().await;
    assert_eq!(limit.in_flight(), 1);
    assert!(ep.call(Context::background(), ()).await.is_err());

    // The client goes away: the server drops the call's future.
    holder.abort();
    assert!(holder.await.unwrap_err().is_cancelled());
    assert_eq!(limit.in_flight(), 0);
    let next = spawn_calls(&ep, 1).pop().unwrap();
    tokio::task::yield_now().await;
    assert_eq!(limit.in_flight(), 1);
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 2);
    next.abort();
}

#[tokio::test(start_paused = true)]
async fn a_timeout_above_the_limit_gives_the_place_back() {
    let limit = ConcurrencyLimit::new(1);
    let gauge = Arc::new(Gauge::default());
    let ep = middleware::chain()
        .timeout(Duration::from_millis(10))
        .concurrency_limit(limit.clone())
        .endpoint(sleeper(&gauge, Duration::from_secs(3600)));
    for _ in 0..3 {
        let err = ep.call(Context::background(), ()).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        assert_eq!(limit.in_flight(), 0);
    }
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 3);
}

/// An endpoint that fails with `code` (or succeeds, for `None`) after `took`.
fn answering(code: Option<Code>, took: Duration) -> impl Endpoint<(), Response = ()> {
    endpoint_fn(move |_ctx: Context, ()| async move {
        tokio::time::sleep(took).await;
        match code {
            Some(code) => Err(Error::new(code, "no")),
            None => Ok(()),
        }
    })
}

/// The limit after one call answered with `code` after `took`, starting from `aimd`.
async fn limit_after(aimd: Aimd, code: Option<Code>, took: Duration) -> usize {
    let limit = ConcurrencyLimit::adaptive(aimd);
    let ep = middleware::chain()
        .concurrency_limit(limit.clone())
        .endpoint(answering(code, took));
    let _ = ep.call(Context::background(), ()).await;
    limit.limit()
}

#[tokio::test(start_paused = true)]
async fn the_callees_failures_shrink_an_adaptive_limit() {
    let aimd = || Aimd::new().initial_limit(10);
    let fast = Duration::ZERO;
    assert_eq!(limit_after(aimd(), Some(Code::Unavailable), fast).await, 9);
    assert_eq!(limit_after(aimd(), Some(Code::Internal), fast).await, 9);
    // The caller's errors say nothing of the callee.
    assert_eq!(
        limit_after(aimd(), Some(Code::InvalidArgument), fast).await,
        10
    );
    assert_eq!(limit_after(aimd(), Some(Code::NotFound), fast).await, 10);
    // Unless a classifier says otherwise.
    let strict = |err: &Error| -> Class { ByCode.classify(err).with_failure(true) };
    let aimd_strict = aimd().classifier(strict);
    assert_eq!(
        limit_after(aimd_strict, Some(Code::NotFound), fast).await,
        9
    );
}

#[tokio::test(start_paused = true)]
async fn slow_calls_shrink_an_adaptive_limit() {
    let aimd = || {
        Aimd::new()
            .initial_limit(10)
            .latency_threshold(Duration::from_millis(100))
    };
    assert_eq!(
        limit_after(aimd(), None, Duration::from_millis(101)).await,
        9
    );
    assert_eq!(
        limit_after(aimd(), None, Duration::from_millis(100)).await,
        10
    );
    let aimd = aimd().backoff_ratio(0.5);
    assert_eq!(limit_after(aimd, None, Duration::from_millis(101)).await, 5);
}

#[tokio::test(start_paused = true)]
async fn an_adaptive_limit_stays_between_its_minimum_and_maximum() {
    let failure = Some(Code::Unavailable);
    let aimd = Aimd::new().min_limit(3).initial_limit(3);
    assert_eq!(limit_after(aimd, failure, Duration::ZERO).await, 3);
    let aimd = Aimd::new().initial_limit(1);
    assert_eq!(limit_after(aimd, failure, Duration::ZERO).await, 1);
    let aimd = Aimd::new().max_limit(2).initial_limit(2);
    assert_eq!(limit_after(aimd, None, Duration::ZERO).await, 2);
    // An initial limit out of bounds starts at the nearest bound, whatever the order set.
    let limit = ConcurrencyLimit::adaptive(Aimd::new().initial_limit(500).max_limit(300));
    assert_eq!(limit.limit(), 300);
    let limit = ConcurrencyLimit::adaptive(Aimd::new().initial_limit(500).max_limit(1000));
    assert_eq!(limit.limit(), 500);
}

#[tokio::test(start_paused = true)]
async fn an_adaptive_limit_grows_only_while_it_is_used() {
    let limit = ConcurrencyLimit::adaptive(Aimd::new().initial_limit(2));
    let ep = middleware::chain()
        .concurrency_limit(limit.clone())
        .endpoint(answering(None, Duration::from_millis(1)));
    // One call in flight is half of 2: the limit is in use, and grows.
    ep.call(Context::background(), ()).await.unwrap();
    assert_eq!(limit.limit(), 3);
    // One call in flight is less than half of 3: nothing learnt.
    ep.call(Context::background(), ()).await.unwrap();
    assert_eq!(limit.limit(), 3);
    // Several at once grow it again, once per call that saw the limit in use.
    let ep = Arc::new(ep);
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let ep = ep.clone();
            tokio::spawn(async move { ep.call(Context::background(), ()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // In flight at their starts: 1, 2 and 3 (of 3, then 4): the second and third grow it.
    assert_eq!(limit.limit(), 5);
}

#[tokio::test(start_paused = true)]
async fn shrinking_below_the_calls_in_flight_takes_effect_as_they_end() {
    let limit =
        ConcurrencyLimit::adaptive(Aimd::new().initial_limit(4).backoff_ratio(0.5)).shed_load();
    let failing = Arc::new(
        middleware::chain()
            .concurrency_limit(limit.clone())
            .endpoint(answering(
                Some(Code::Unavailable),
                Duration::from_millis(10),
            )),
    );
    let tasks = spawn_calls(&failing, 4);
    tokio::task::yield_now().await;
    assert_eq!((limit.limit(), limit.in_flight()), (4, 4));
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err().code(), Code::Unavailable);
    }
    // 4 -> 2 -> 1 -> 1 -> 1, while the places held were given back.
    assert_eq!((limit.limit(), limit.in_flight()), (1, 0));
    let gauge = Arc::new(Gauge::default());
    let ep = Arc::new(
        middleware::chain()
            .concurrency_limit(limit.clone())
            .endpoint(sleeper(&gauge, Duration::from_millis(10))),
    );
    let refused = spawn_calls(&ep, 5)
        .into_iter()
        .map(|task| async move { task.await.unwrap().is_err() });
    let mut n = 0;
    for r in refused {
        n += usize::from(r.await);
    }
    assert_eq!((n, gauge.max.load(Ordering::SeqCst)), (4, 1));
}
