//! The hedging middleware, driven through its public API on a paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::guard::DropGuard;
use kit::middleware::retry::RetryBudget;
use kit::middleware::{self, HedgeLayer};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use tokio::time::Instant;
use tower_layer::Layer;

/// What the attempts of a call saw.
#[derive(Default)]
struct Seen {
    /// Each attempt's context, in the order they started.
    contexts: Mutex<Vec<Context>>,
    /// How many attempts' futures were dropped before they finished.
    abandoned: AtomicU32,
}

/// An endpoint whose `n`th attempt (from 1) takes `latency(n)` and answers `answer(n)`.
fn scripted(
    latency: impl Fn(u32) -> Duration + Send + Sync + 'static,
    answer: impl Fn(u32) -> Result<u32, Error> + Send + Sync + 'static,
) -> (impl Endpoint<(), Response = u32>, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let log = seen.clone();
    let ep = endpoint_fn(move |ctx: Context, ()| {
        let n = {
            let mut contexts = log.contexts.lock().unwrap();
            contexts.push(ctx.clone());
            contexts.len() as u32
        };
        let (latency, result, log) = (latency(n), answer(n), log.clone());
        async move {
            let abandoned = DropGuard::new(|| {
                log.abandoned.fetch_add(1, Ordering::SeqCst);
            });
            ctx.set_response_metadata(format!("x-attempt-{n}"), "yes");
            tokio::time::sleep(latency).await;
            abandoned.disarm();
            result
        }
    });
    (ep, seen)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn a_fast_call_is_not_hedged() {
    let (ep, seen) = scripted(|_| ms(10), Ok);
    let ep = middleware::chain().hedge(ms(50)).endpoint(ep);
    let start = Instant::now();
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 1);
    assert_eq!(start.elapsed(), ms(10));
    assert_eq!(seen.contexts.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_call_is_hedged_the_backup_wins_and_the_first_is_cancelled() {
    let (ep, seen) = scripted(|n| if n == 1 { ms(1000) } else { ms(10) }, Ok);
    let ep = HedgeLayer::new(ms(50)).layer(ep);
    let (ctx, call) = Context::background().with_call();
    let start = Instant::now();
    assert_eq!(ep.call(ctx.clone(), ()).await.unwrap(), 2);
    assert_eq!(start.elapsed(), ms(60));
    let contexts = seen.contexts.lock().unwrap();
    assert_eq!(contexts.len(), 2);
    assert!(
        contexts[0].is_cancelled(),
        "the loser's context is cancelled"
    );
    assert!(!ctx.is_cancelled(), "the caller's is not");
    assert_eq!(seen.abandoned.load(Ordering::SeqCst), 1);
    // Only the winner's response metadata reaches the caller.
    let response = call.take_response().unwrap();
    assert_eq!(
        response.iter().collect::<Vec<_>>(),
        [("x-attempt-2", "yes")]
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_attempt_wins_when_it_answers_first() {
    let (ep, seen) = scripted(|n| if n == 1 { ms(70) } else { ms(100) }, Ok);
    let ep = HedgeLayer::new(ms(50)).layer(ep);
    let start = Instant::now();
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 1);
    assert_eq!(start.elapsed(), ms(70));
    let contexts = seen.contexts.lock().unwrap();
    assert_eq!(contexts.len(), 2);
    assert!(contexts[1].is_cancelled() && !contexts[0].is_cancelled());
    assert_eq!(seen.abandoned.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_lets_the_other_attempt_answer() {
    let answer = |n| match n {
        1 => Err(Error::unavailable("instance draining")),
        _ => Ok(n),
    };
    let (ep, _) = scripted(|n| if n == 1 { ms(70) } else { ms(100) }, answer);
    let ep = HedgeLayer::new(ms(50)).layer(ep);
    let start = Instant::now();
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 2);
    assert_eq!(start.elapsed(), ms(150));
}

#[tokio::test(start_paused = true)]
async fn a_business_error_is_the_answer() {
    let answer = |n| match n {
        1 => Err(Error::invalid_argument("no such account")),
        _ => Ok(n),
    };
    let (ep, seen) = scripted(|n| if n == 1 { ms(70) } else { ms(100) }, answer);
    let ep = HedgeLayer::new(ms(50)).layer(ep);
    let start = Instant::now();
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(start.elapsed(), ms(70));
    assert!(seen.contexts.lock().unwrap()[1].is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn no_hedge_without_budget() {
    let (ep, seen) = scripted(|_| ms(1000), Ok);
    let empty = RetryBudget::new(0.0, 0, Duration::from_secs(10));
    let ep = HedgeLayer::new(ms(50)).budget(empty).layer(ep);
    let start = Instant::now();
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 1);
    assert_eq!(start.elapsed(), ms(1000));
    assert_eq!(seen.contexts.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn hedges_of_many_slow_calls_stay_within_the_budget() {
    // 20% of the calls, no reserve: 100 slow calls make 20 hedges.
    let budget = RetryBudget::new(0.2, 0, Duration::from_secs(10));
    let (ep, seen) = scripted(|_| ms(1000), Ok);
    let ep = Arc::new(HedgeLayer::new(ms(50)).budget(budget).layer(ep));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let ep = ep.clone();
            tokio::spawn(async move { ep.call(Context::background(), ()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(seen.contexts.lock().unwrap().len(), 120);
}

#[tokio::test(start_paused = true)]
async fn a_tracked_percentile_sets_the_delay_once_enough_latencies_are_known() {
    // Calls 1 and 18 stall; every other attempt takes 10 ms.
    let (ep, seen) = scripted(|n| if n == 1 || n == 18 { ms(1000) } else { ms(10) }, Ok);
    let ep = HedgeLayer::percentile(0.9, ms(300)).layer(ep);
    // Too few latencies known: hedged after the initial delay.
    let start = Instant::now();
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 2);
    assert_eq!(start.elapsed(), ms(310));
    for _ in 0..15 {
        ep.call(Context::background(), ()).await.unwrap();
    }
    assert_eq!(seen.contexts.lock().unwrap().len(), 17);
    // 16 answers of 10 ms known: hedged after their 90th percentile, the top of the
    // histogram bucket of 10 ms (10.239 ms, which tokio's timer rounds up to 11 ms).
    let start = Instant::now();
    assert_eq!(ep.call(Context::background(), ()).await.unwrap(), 19);
    assert_eq!(start.elapsed(), ms(11 + 10));
}
