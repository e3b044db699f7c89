//! The retry middleware, driven through its public API on a paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::error::Delivery;
use kit::middleware::retry::{Backoff, RetryBudget, RetryPolicy};
use kit::middleware::{self, RetryLayer};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use tokio::time::Instant;
use tower_layer::Layer;

/// An endpoint whose `n`th call (from 1) answers `answer(n)`, and the count of its calls.
fn scripted(
    answer: impl Fn(u32) -> Result<u32, Error> + Send + Sync + 'static,
) -> (impl Endpoint<(), Response = u32>, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let ep = endpoint_fn(move |_ctx: Context, ()| {
        let result = answer(counted.fetch_add(1, Ordering::SeqCst) + 1);
        async move { result }
    });
    (ep, calls)
}

fn refused() -> Error {
    Error::unavailable("connection refused").with_delivery(Delivery::NotSent)
}

fn lost() -> Error {
    Error::unavailable("connection reset").with_delivery(Delivery::MaybeExecuted)
}

/// The default policy without waits between attempts.
fn quick() -> RetryPolicy {
    RetryPolicy::default().backoff(Backoff::none())
}

#[tokio::test(start_paused = true)]
async fn failed_attempts_are_retried_until_one_succeeds() {
    let (ep, calls) = scripted(|n| if n < 3 { Err(refused()) } else { Ok(n) });
    let ep = middleware::chain().retry(quick()).endpoint(ep);
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn the_final_error_keeps_the_last_code_and_lists_every_message() {
    let (ep, calls) = scripted(|n| {
        Err(match n {
            3 => Error::resource_exhausted("service unavailable")
                .with_details(serde_json::json!({"retry_after": 2})),
            _ => refused(),
        })
    });
    let ep = RetryLayer::new(quick()).layer(ep);
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.message(),
        "3 attempts failed: connection refused; connection refused; service unavailable"
    );
    assert_eq!(err.details(), Some(&serde_json::json!({"retry_after": 2})));
    assert_eq!(err.delivery(), Delivery::Answered);

    // Attempts that all said the same are summed up once.
    let (ep, _) = scripted(|_| Err(refused()));
    let ep = RetryLayer::new(quick()).layer(ep);
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(err.message(), "3 attempts failed: connection refused");
}

#[tokio::test(start_paused = true)]
async fn business_errors_are_never_retried_and_come_back_unchanged() {
    for err in [
        Error::invalid_argument("bad"),
        Error::not_found("gone"),
        Error::internal("broken"),
    ] {
        let code = err.code();
        let message = err.message().to_owned();
        let err = Mutex::new(Some(err));
        let (ep, calls) = scripted(move |_| Err(err.lock().unwrap().take().unwrap()));
        let ep = RetryLayer::new(quick()).layer(ep);
        let got = ep.call(Context::background(), ()).await.unwrap_err();
        assert_eq!((got.code(), got.message()), (code, &*message));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_call_that_may_have_run_is_retried_only_when_idempotent() {
    let (ep, calls) = scripted(|_| Err(lost()));
    let ep = RetryLayer::new(quick()).layer(ep);
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(err.message(), "connection reset");

    // The policy says the calls are idempotent.
    let (ep, calls) = scripted(|_| Err(lost()));
    let ep = RetryLayer::new(quick().idempotent(true)).layer(ep);
    ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // The error says the call is idempotent.
    let (ep, calls) = scripted(|_| Err(lost().idempotent_call()));
    let ep = RetryLayer::new(quick()).layer(ep);
    ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_was_never_sent_is_retried_even_when_not_idempotent() {
    let (ep, calls) = scripted(|_| Err(refused()));
    let ep = RetryLayer::new(quick().idempotent(false).max_attempts(5)).layer(ep);
    ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn the_classifier_decides_what_is_retryable() {
    let (ep, calls) = scripted(|_| Err(Error::aborted("conflict")));
    let never = |err: &Error| err.code().class().with_retryable(false);
    let ep = RetryLayer::new(quick().classifier(never)).layer(ep);
    ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn one_deadline_covers_every_attempt() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let slow = endpoint_fn(move |ctx: Context, ()| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            // Each attempt runs with what is left of the one deadline.
            let left = ctx.remaining().unwrap();
            tokio::time::sleep(Duration::from_millis(40)).await;
            Err::<(), _>(Error::unavailable(format!("{}ms left", left.as_millis())))
        }
    });
    let policy = quick().max_attempts(10).timeout(Duration::from_millis(100));
    let ep = RetryLayer::new(policy).layer(slow);
    let start = Instant::now();
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(
        err.message(),
        "3 attempts failed: 100ms left; 60ms left; deadline exceeded"
    );
}

#[tokio::test(start_paused = true)]
async fn an_earlier_caller_deadline_wins() {
    let (ep, calls) = scripted(|_| Err(refused()));
    let policy = RetryPolicy::default()
        .max_attempts(10)
        .timeout(Duration::from_secs(60))
        .backoff(Backoff::new(Duration::from_secs(1), Duration::from_secs(1)))
        .jitter_seed(1);
    let ep = RetryLayer::new(policy).layer(ep);
    let ctx = Context::background().with_timeout(Duration::from_millis(1));
    let start = Instant::now();
    let err = ep.call(ctx, ()).await.unwrap_err();
    // The wait drawn (up to 1 s) would pass the caller's deadline: no wait, no retry, the
    // last error at once.
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(err.message(), "connection refused");
}

#[tokio::test(start_paused = true)]
async fn the_callback_sees_each_retry_and_may_stop_early() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let policy = quick().max_attempts(5).on_retry(move |attempt, err| {
        log.lock()
            .unwrap()
            .push((attempt, err.message().to_owned()));
        attempt < 2
    });
    let (ep, calls) = scripted(|n| Err(Error::unavailable(format!("down {n}"))));
    let ep = RetryLayer::new(policy).layer(ep);
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(err.message(), "2 attempts failed: down 1; down 2");
    assert_eq!(
        *seen.lock().unwrap(),
        [(1, "down 1".to_owned()), (2, "down 2".to_owned())]
    );
}

/// The waits between the attempts of a call that fails `attempts` times.
async fn waits(policy: RetryPolicy, attempts: u32) -> Vec<Duration> {
    let times = Arc::new(Mutex::new(Vec::new()));
    let log = times.clone();
    let ep = endpoint_fn(move |_ctx: Context, ()| {
        log.lock().unwrap().push(Instant::now());
        async { Err::<(), _>(refused()) }
    });
    let ep = RetryLayer::new(policy.max_attempts(attempts)).layer(ep);
    ep.call(Context::background(), ()).await.unwrap_err();
    let times = times.lock().unwrap();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn backoff_waits_are_jittered_below_an_exponential_ceiling() {
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
    let policy = || RetryPolicy::default().backoff(backoff).jitter_seed(42);
    let first = waits(policy(), 6).await;
    assert_eq!(first.len(), 5);
    let ceilings = [100, 200, 300, 300, 300].map(Duration::from_millis);
    for (wait, ceiling) in first.iter().zip(ceilings) {
        assert!(*wait <= ceiling, "{wait:?} > {ceiling:?}");
    }
    // Jittered: not all alike, not all zero.
    assert!(first.iter().any(|w| *w != first[0]));
    // The same seed draws the same waits; another seed others.
    assert_eq!(waits(policy(), 6).await, first);
    assert_ne!(waits(policy().jitter_seed(43), 6).await, first);
}

#[tokio::test(start_paused = true)]
async fn a_budget_bounds_the_retries_of_many_failing_calls() {
    // 20% of the calls plus 10 retries per second over 10 s: a reserve of 100 retries.
    let budget = RetryBudget::new(0.2, 10, Duration::from_secs(10));
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let failing = endpoint_fn(move |_ctx: Context, ()| {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Err::<(), _>(refused())
        }
    });
    let ep = Arc::new(RetryLayer::new(quick().budget(budget.clone())).layer(failing));
    let run = |n: u32| {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let ep = ep.clone();
                tokio::spawn(async move { ep.call(Context::background(), ()).await })
            })
            .collect();
        async move {
            for task in tasks {
                assert_eq!(task.await.unwrap().unwrap_err().code(), Code::Unavailable);
            }
        }
    };
    // 100 calls of up to 3 attempts: 100 first attempts, and retries for the reserve
    // (100) and 20% of the calls (20), not the 200 the calls would make.
    run(100).await;
    assert_eq!(calls.load(Ordering::SeqCst), 100 + 120);
    assert!(!budget.withdraw());
    // Ten seconds later the spent retries have left the window: the reserve is back.
    tokio::time::advance(Duration::from_secs(11)).await;
    calls.store(0, Ordering::SeqCst);
    run(1).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn only_the_last_attempts_response_metadata_reaches_the_caller() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let ep = RetryLayer::new(quick()).layer(endpoint_fn(move |ctx: Context, ()| {
        let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if first {
                ctx.set_response_metadata("x-failed", "yes");
                return Err(refused());
            }
            ctx.set_response_metadata("x-answered", "yes");
            Ok(())
        }
    }));
    let (ctx, call) = Context::background().with_call();
    ctx.set_response_metadata("x-caller", "kept");
    ep.call(ctx, ()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let response = call.take_response().unwrap();
    assert_eq!(response.get("x-caller"), Some("kept"));
    assert_eq!(response.get("x-answered"), Some("yes"));
    assert_eq!(response.get("x-failed"), None);
}

#[tokio::test(start_paused = true)]
async fn a_retry_and_a_hedge_sharing_one_budget_stay_within_it_together() {
    // 20% of the calls and no reserve. Each call deposits at both layers (the retry's and the
    // hedge's): 100 calls put in 2 × 100 × 0.2 = 40 extra attempts, and the hedges, which
    // come first (at 50 ms, before any attempt has failed), spend all of them; the retries
    // then find the budget empty. With the hedge's handle `without_deposits`, each call is
    // counted once: 20 extra attempts.
    for (hedge_deposits, extra) in [(true, 40), (false, 20)] {
        let budget = RetryBudget::new(0.2, 0, Duration::from_secs(10));
        let hedge_budget = if hedge_deposits {
            budget.clone()
        } else {
            budget.without_deposits()
        };
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        let slow_failure = endpoint_fn(move |_ctx: Context, ()| {
            counted.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err::<(), _>(refused())
            }
        });
        let ep = Arc::new(
            middleware::chain()
                .retry(quick().budget(budget.clone()))
                .layer(middleware::HedgeLayer::new(Duration::from_millis(50)).budget(hedge_budget))
                .endpoint(slow_failure),
        );
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let ep = ep.clone();
                tokio::spawn(async move { ep.call(Context::background(), ()).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap_err().code(), Code::Unavailable);
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            100 + extra,
            "hedge deposits: {hedge_deposits}"
        );
        assert!(!budget.withdraw());
    }
}
