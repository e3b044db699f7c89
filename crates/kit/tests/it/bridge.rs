//! The tower bridge: stock tower middleware applied to kit endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kit::{Code, Context, Endpoint, Error, endpoint_fn, service_endpoint};
use tower::{ServiceBuilder, ServiceExt};

/// An endpoint that records how many calls run at once.
fn gauge(
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
) -> impl Endpoint<u32, Response = u32> {
    endpoint_fn(move |_ctx: Context, n: u32| {
        let in_flight = in_flight.clone();
        let peak = peak.clone();
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, Error>(n * 2)
        }
    })
}

#[tokio::test(start_paused = true)]
async fn tower_concurrency_limit_applies_to_a_kit_endpoint() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let limited = ServiceBuilder::new()
        .concurrency_limit(2)
        .service(gauge(in_flight.clone(), peak.clone()).into_service());
    let endpoint = Arc::new(service_endpoint(limited));

    let calls: Vec<_> = (0..6)
        .map(|n| {
            let endpoint = endpoint.clone();
            tokio::spawn(async move { endpoint.call(Context::background(), n).await })
        })
        .collect();
    for (n, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap(), n as u32 * 2);
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "the limit of 2 was reached, not passed"
    );
    assert_eq!(in_flight.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn endpoint_service_is_a_tower_service() {
    let svc = gauge(Default::default(), Default::default()).into_service();
    let out = svc.oneshot((Context::background(), 21)).await.unwrap();
    assert_eq!(out, 42);
}

#[tokio::test(start_paused = true)]
async fn tower_errors_keep_their_meaning() {
    let slow = endpoint_fn(|_ctx: Context, ()| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, Error>(())
    });
    let timed = ServiceBuilder::new()
        .timeout(Duration::from_millis(10))
        .service(slow.into_service());
    let err = service_endpoint(timed)
        .call(Context::background(), ())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // kit errors cross the bridge twice unchanged.
    let failing =
        endpoint_fn(|_ctx: Context, ()| async { Err::<(), _>(Error::not_found("no such thing")) });
    let err = service_endpoint(failing.into_service())
        .call(Context::background(), ())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::NotFound, "no such thing")
    );
}

#[tokio::test(start_paused = true)]
async fn the_context_deadline_bounds_a_tower_service() {
    let never = tower::service_fn(|(_ctx, ()): (Context, ())| async {
        std::future::pending::<()>().await;
        Ok::<_, Error>(())
    });
    let ctx = Context::background().with_timeout(Duration::from_millis(20));
    let err = service_endpoint(never).call(ctx, ()).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
}
