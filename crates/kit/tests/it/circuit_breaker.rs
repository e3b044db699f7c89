use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::error::{Delivery, classify_with};
use kit::middleware::circuit_breaker::{
    CircuitBreaker, CircuitBreakerEndpoint, CircuitBreakerLayer, Counting, FailureAccrual, Policy,
    RollingWindow, State, Transition,
};
use kit::middleware::{self, Layer};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use tokio::sync::Notify;
use tokio::time::advance;

/// What the backend does with a call.
#[derive(Clone)]
enum Call {
    Ok,
    Fail(Code),
    /// Waits for the notification, then succeeds.
    Held(Arc<Notify>),
}
use Call::{Fail, Held};

const UNAVAILABLE: Call = Fail(Code::Unavailable);

/// A backend that does as each call says; the counter says how many calls reached it.
fn backend() -> (impl Endpoint<Call, Response = ()> + Clone, Arc<AtomicUsize>) {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let backend = endpoint_fn(move |_ctx: Context, call: Call| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match call {
                Call::Ok => Ok(()),
                Fail(code) => Err(Error::new(code, "backend failed")),
                Held(notify) => {
                    notify.notified().await;
                    Ok(())
                }
            }
        }
    });
    (backend, reached)
}

/// The backend guarded by `breaker`.
fn guarded(
    breaker: &CircuitBreaker,
) -> (
    CircuitBreakerEndpoint<impl Endpoint<Call, Response = ()> + Clone>,
    Arc<AtomicUsize>,
) {
    let (backend, reached) = backend();
    (
        CircuitBreakerLayer::new(breaker.clone()).layer(backend),
        reached,
    )
}

async fn run(ep: &impl Endpoint<Call, Response = ()>, calls: &[Call]) {
    for call in calls {
        let _ = ep.call(Context::background(), call.clone()).await;
    }
}

fn times(call: Call, n: usize) -> Vec<Call> {
    vec![call; n]
}

async fn assert_rejected(ep: &impl Endpoint<Call, Response = ()>, reached: &AtomicUsize) {
    let before = reached.load(Ordering::SeqCst);
    let err = ep.call(Context::background(), Call::Ok).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "circuit breaker is open")
    );
    assert_eq!(err.delivery(), Delivery::NotSent);
    assert_eq!(
        reached.load(Ordering::SeqCst),
        before,
        "a rejected call reached the backend"
    );
}

/// Trips `breaker` with failures through `ep`.
async fn trip(breaker: &CircuitBreaker, ep: &impl Endpoint<Call, Response = ()>) {
    while breaker.state() == State::Closed {
        run(ep, &[UNAVAILABLE]).await;
    }
    assert_eq!(breaker.state(), State::Open);
}

fn record_transitions(breaker: &CircuitBreaker) -> Arc<Mutex<Vec<(State, State)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    breaker.on_transition(move |t: Transition| sink.lock().unwrap().push((t.from, t.to)));
    seen
}

// ---- Counting (gobreaker) ----

#[tokio::test(start_paused = true)]
async fn counting_opens_after_more_than_five_consecutive_failures() {
    let breaker = CircuitBreaker::new(Counting::default());
    let (ep, reached) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 5)).await;
    run(&ep, &[Call::Ok]).await;
    run(&ep, &times(UNAVAILABLE, 5)).await;
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.counts().consecutive_failures, 5);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(reached.load(Ordering::SeqCst), 12);
    assert_rejected(&ep, &reached).await;
}

#[tokio::test(start_paused = true)]
async fn counting_failure_ratio_waits_for_min_requests() {
    let breaker = CircuitBreaker::new(Counting::failure_ratio(0.5, 4));
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 3)).await;
    assert_eq!(breaker.state(), State::Closed, "3 calls, fewer than 4");
    run(&ep, &[Call::Ok, Call::Ok, Call::Ok]).await;
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open, "4 failures in 7 calls");

    let breaker = CircuitBreaker::new(Counting::failure_ratio(0.5, 4));
    let (ep, _) = guarded(&breaker);
    run(
        &ep,
        &[Call::Ok, Call::Ok, Call::Ok, UNAVAILABLE, UNAVAILABLE],
    )
    .await;
    assert_eq!(breaker.state(), State::Closed, "2 failures in 5 calls");
}

#[tokio::test(start_paused = true)]
async fn counting_clears_counts_every_interval() {
    let policy = Counting::consecutive_failures(3).interval(Duration::from_secs(10));
    let breaker = CircuitBreaker::new(policy);
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 2)).await;
    advance(Duration::from_secs(9)).await;
    assert_eq!(breaker.counts().total_failures, 2);
    advance(Duration::from_secs(1)).await;
    assert_eq!(breaker.counts().total_failures, 0);
    run(&ep, &times(UNAVAILABLE, 2)).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn counting_half_opens_after_timeout_and_closes_after_max_requests_successes() {
    let policy = Counting::consecutive_failures(1)
        .timeout(Duration::from_secs(30))
        .max_requests(2);
    let breaker = CircuitBreaker::new(policy);
    let transitions = record_transitions(&breaker);
    let (ep, reached) = guarded(&breaker);
    trip(&breaker, &ep).await;
    assert_eq!(breaker.remaining_open(), Some(Duration::from_secs(30)));
    advance(Duration::from_millis(29_999)).await;
    assert_eq!(breaker.state(), State::Open);
    assert_rejected(&ep, &reached).await;
    advance(Duration::from_millis(1)).await;
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.remaining_open(), None);

    // Two probes at once; a third call is turned away.
    let gate = Arc::new(Notify::new());
    let probes = [Held(gate.clone()), Held(gate.clone())].map(|call| {
        let ep = ep.clone();
        tokio::spawn(async move { ep.call(Context::background(), call).await })
    });
    tokio::task::yield_now().await;
    assert_rejected(&ep, &reached).await;
    gate.notify_waiters();
    for probe in probes {
        probe.await.unwrap().unwrap();
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        *transitions.lock().unwrap(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn counting_half_open_stays_until_enough_successes_and_reopens_on_failure() {
    let policy = Counting::consecutive_failures(1).max_requests(3);
    let breaker = CircuitBreaker::new(policy);
    let (ep, _) = guarded(&breaker);
    trip(&breaker, &ep).await;
    advance(Duration::from_secs(60)).await;
    run(&ep, &[Call::Ok, Call::Ok]).await;
    assert_eq!(breaker.state(), State::HalfOpen);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.remaining_open(), Some(Duration::from_secs(60)));
}

#[tokio::test(start_paused = true)]
async fn outcomes_of_calls_from_an_earlier_state_are_ignored() {
    let breaker = CircuitBreaker::new(Counting::consecutive_failures(1));
    let (ep, _) = guarded(&breaker);
    let gate = Arc::new(Notify::new());
    let late = {
        let ep = ep.clone();
        let call = Held(gate.clone());
        tokio::spawn(async move { ep.call(Context::background(), call).await })
    };
    tokio::task::yield_now().await;
    trip(&breaker, &ep).await;
    advance(Duration::from_secs(60)).await;
    assert_eq!(breaker.state(), State::HalfOpen);
    // A success of a call let through while closed is no probe.
    gate.notify_waiters();
    late.await.unwrap().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.counts().requests, 0);
}

// ---- RollingWindow (Hystrix) ----

#[tokio::test(start_paused = true)]
async fn rolling_window_needs_the_request_volume() {
    let breaker = CircuitBreaker::new(RollingWindow::default());
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 19)).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn rolling_window_opens_at_the_error_percentage() {
    let breaker = CircuitBreaker::new(RollingWindow::default());
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(Call::Ok, 11)).await;
    run(&ep, &times(UNAVAILABLE, 10)).await;
    assert_eq!(breaker.state(), State::Closed, "10 of 21 is under 50 %");
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open, "11 of 22 is 50 %");
}

#[tokio::test(start_paused = true)]
async fn rolling_window_forgets_calls_older_than_the_window() {
    let breaker = CircuitBreaker::new(RollingWindow::default());
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 10)).await;
    advance(Duration::from_secs(5)).await;
    run(&ep, &times(UNAVAILABLE, 9)).await;
    advance(Duration::from_secs(5)).await;
    // The first ten are out of the window: ten failures in it.
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &times(UNAVAILABLE, 9)).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn rolling_window_sleeps_then_lets_one_probe_through() {
    let breaker = CircuitBreaker::new(RollingWindow::default());
    let (ep, reached) = guarded(&breaker);
    trip(&breaker, &ep).await;
    assert_eq!(breaker.remaining_open(), Some(Duration::from_secs(5)));
    advance(Duration::from_secs(5)).await;

    let gate = Arc::new(Notify::new());
    let probe = {
        let ep = ep.clone();
        let call = Held(gate.clone());
        tokio::spawn(async move { ep.call(Context::background(), call).await })
    };
    tokio::task::yield_now().await;
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_rejected(&ep, &reached).await;
    gate.notify_waiters();
    probe.await.unwrap().unwrap();
    assert_eq!(breaker.state(), State::Closed);

    // Closing emptied the window: 19 more failures are under the volume.
    run(&ep, &times(UNAVAILABLE, 19)).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);

    advance(Duration::from_secs(5)).await;
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(
        breaker.state(),
        State::Open,
        "a failed probe opens it again"
    );
    assert_eq!(breaker.remaining_open(), Some(Duration::from_secs(5)));
}

// ---- FailureAccrual (Finagle) ----

#[tokio::test(start_paused = true)]
async fn failure_accrual_opens_after_five_consecutive_failures() {
    let policy = FailureAccrual::default().success_rate(0.0, Duration::from_secs(30));
    let breaker = CircuitBreaker::new(policy);
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 4)).await;
    run(&ep, &[Call::Ok]).await;
    run(&ep, &times(UNAVAILABLE, 4)).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn failure_accrual_opens_on_a_low_success_rate_with_enough_calls() {
    let policy = FailureAccrual::default().consecutive_failures(100);
    let breaker = CircuitBreaker::new(policy.clone());
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(UNAVAILABLE, 4)).await;
    assert_eq!(breaker.state(), State::Closed, "4 calls, fewer than 5");

    let breaker = CircuitBreaker::new(policy);
    let (ep, _) = guarded(&breaker);
    run(&ep, &times(Call::Ok, 4)).await;
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Closed, "80 % is not under 80 %");
    advance(Duration::from_secs(30)).await;
    // The window has moved on: 4 successes and a failure in it.
    run(&ep, &times(Call::Ok, 4)).await;
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Closed);
    run(&ep, &[UNAVAILABLE]).await;
    assert_eq!(breaker.state(), State::Open, "4 of 6");
}

/// The open periods of a breaker whose probes keep failing, `n` of them.
async fn backoffs(policy: FailureAccrual, n: usize) -> Vec<Duration> {
    let breaker = CircuitBreaker::new(policy);
    let (ep, _) = guarded(&breaker);
    trip(&breaker, &ep).await;
    let mut periods = Vec::new();
    for _ in 0..n {
        let open = breaker.remaining_open().unwrap();
        periods.push(open);
        advance(open - Duration::from_nanos(1)).await;
        assert_eq!(breaker.state(), State::Open);
        advance(Duration::from_nanos(1)).await;
        assert_eq!(breaker.state(), State::HalfOpen);
        run(&ep, &[UNAVAILABLE]).await;
    }
    // A successful probe closes the breaker and resets the backoff.
    advance(breaker.remaining_open().unwrap()).await;
    run(&ep, &[Call::Ok]).await;
    assert_eq!(breaker.state(), State::Closed);
    trip(&breaker, &ep).await;
    assert_eq!(breaker.remaining_open(), Some(Duration::from_secs(5)));
    periods
}

#[tokio::test(start_paused = true)]
async fn failure_accrual_backoff_grows_from_5_s_to_300_s_with_jitter() {
    let secs = Duration::from_secs;
    let periods = backoffs(FailureAccrual::default().seed(7), 20).await;
    assert_eq!(periods[0], secs(5));
    // The n-th lies between half and all of 5 s * 2^n, capped at 300 s.
    for (n, period) in periods.iter().enumerate().skip(1) {
        let ceiling = (secs(5) * 2u32.pow(n as u32)).min(secs(300));
        assert!(
            (ceiling / 2..=ceiling).contains(period),
            "backoff {n} is {period:?}, not in {:?}..={ceiling:?}",
            ceiling / 2
        );
    }
    let capped = &periods[7..];
    assert!(
        capped.iter().any(|p| *p != capped[0]),
        "no jitter: {capped:?}"
    );
    // The same seed, the same backoffs.
    assert_eq!(
        backoffs(FailureAccrual::default().seed(7), 20).await,
        periods
    );
}

#[tokio::test(start_paused = true)]
async fn failure_accrual_lets_one_probe_through() {
    let breaker = CircuitBreaker::new(FailureAccrual::default());
    let (ep, reached) = guarded(&breaker);
    trip(&breaker, &ep).await;
    advance(Duration::from_secs(5)).await;
    let gate = Arc::new(Notify::new());
    let probe = {
        let ep = ep.clone();
        let call = Held(gate.clone());
        tokio::spawn(async move { ep.call(Context::background(), call).await })
    };
    tokio::task::yield_now().await;
    assert_rejected(&ep, &reached).await;
    gate.notify_waiters();
    probe.await.unwrap().unwrap();
    assert_eq!(breaker.state(), State::Closed);
}

// ---- Classification ----

fn every_policy() -> [Policy; 3] {
    [
        Counting::consecutive_failures(1).into(),
        RollingWindow::default().request_volume_threshold(1).into(),
        FailureAccrual::default().consecutive_failures(1).into(),
    ]
}

#[tokio::test(start_paused = true)]
async fn business_errors_never_move_a_breaker() {
    let business = [
        Code::InvalidArgument,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::Unauthenticated,
    ];
    for policy in every_policy() {
        let breaker = CircuitBreaker::new(policy.clone());
        let transitions = record_transitions(&breaker);
        let (ep, _) = guarded(&breaker);
        for code in business {
            run(&ep, &times(Fail(code), 50)).await;
        }
        assert_eq!(breaker.state(), State::Closed, "{policy:?}");
        assert!(transitions.lock().unwrap().is_empty());
        assert_eq!(breaker.counts().total_failures, 0);
        // ... while one failure opens every one of these breakers (once the successes are
        // out of the rolling windows).
        advance(Duration::from_secs(30)).await;
        run(&ep, &[UNAVAILABLE]).await;
        assert_eq!(breaker.state(), State::Open, "{policy:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_classifier_decides_what_counts() {
    for policy in every_policy() {
        let breaker = CircuitBreaker::new(policy.clone());
        let not_found_fails = classify_with(|err: &Error| {
            (err.code() == Code::NotFound).then(|| err.code().class().with_failure(true))
        });
        let ep = CircuitBreakerLayer::new(breaker.clone())
            .classifier(not_found_fails)
            .layer(endpoint_fn(|_ctx: Context, ()| async {
                Err::<(), _>(Error::not_found("gone"))
            }));
        let _ = ep.call(Context::background(), ()).await;
        assert_eq!(breaker.state(), State::Open, "{policy:?}");
    }
}

// ---- Concurrency and cancellation ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_are_counted_exactly() {
    let breaker = CircuitBreaker::new(Counting::default().ready_to_trip(|_| false));
    let (ep, reached) = guarded(&breaker);
    let ep = Arc::new(ep);
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let ep = ep.clone();
            tokio::spawn(async move {
                for i in 0..500 {
                    let call = if (task + i) % 4 == 0 {
                        UNAVAILABLE
                    } else {
                        Call::Ok
                    };
                    let _ = ep.call(Context::background(), call).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let counts = breaker.counts();
    assert_eq!(reached.load(Ordering::SeqCst), 8000);
    assert_eq!(
        (
            counts.requests,
            counts.total_failures,
            counts.total_successes
        ),
        (8000, 2000, 6000)
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_gives_its_place_back() {
    let breaker = CircuitBreaker::new(Counting::consecutive_failures(1));
    let (ep, reached) = guarded(&breaker);
    trip(&breaker, &ep).await;
    advance(Duration::from_secs(60)).await;
    let never = Arc::new(Notify::new());
    let probe = {
        let ep = ep.clone();
        let call = Held(never);
        tokio::spawn(async move { ep.call(Context::background(), call).await })
    };
    tokio::task::yield_now().await;
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_rejected(&ep, &reached).await;
    probe.abort();
    assert!(probe.await.unwrap_err().is_cancelled());
    // The cancelled probe decided nothing; the next call is the probe.
    assert_eq!(breaker.state(), State::HalfOpen);
    run(&ep, &[Call::Ok]).await;
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_call_while_closed_is_a_request_without_outcome() {
    let breaker = CircuitBreaker::new(Counting::consecutive_failures(1));
    let (ep, _) = guarded(&breaker);
    let call = ep.call(Context::background(), Held(Arc::new(Notify::new())));
    tokio::time::timeout(Duration::from_millis(1), call)
        .await
        .unwrap_err();
    let counts = breaker.counts();
    assert_eq!(
        (
            counts.requests,
            counts.total_failures,
            counts.total_successes
        ),
        (1, 0, 0)
    );
    assert_eq!(breaker.state(), State::Closed);
}

// ---- Observing ----

#[tokio::test(start_paused = true)]
async fn transitions_are_observable() {
    let breaker = CircuitBreaker::new(Counting::consecutive_failures(1));
    let transitions = record_transitions(&breaker);
    let mut state = breaker.subscribe();
    let ep = middleware::chain()
        .circuit_breaker(breaker.clone())
        .endpoint(backend().0);
    assert_eq!(*state.borrow_and_update(), State::Closed);
    trip(&breaker, &ep).await;
    assert!(state.has_changed().unwrap());
    assert_eq!(*state.borrow_and_update(), State::Open);
    advance(Duration::from_secs(60)).await;
    run(&ep, &[UNAVAILABLE]).await;
    advance(Duration::from_secs(60)).await;
    run(&ep, &[Call::Ok]).await;
    assert_eq!(*state.borrow_and_update(), State::Closed);
    use State::{Closed, HalfOpen, Open};
    assert_eq!(
        *transitions.lock().unwrap(),
        [
            (Closed, Open),
            (Open, HalfOpen),
            (HalfOpen, Open),
            (Open, HalfOpen),
            (HalfOpen, Closed)
        ]
    );
    assert_eq!(
        [Closed, Open, HalfOpen].map(|s| s.to_string()),
        ["closed", "open", "half-open"]
    );
}
