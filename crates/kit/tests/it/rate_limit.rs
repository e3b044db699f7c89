use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kit::context::Peer;
use kit::middleware::{self, rate_limit::RateLimit};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use tokio::time::Instant;

/// An endpoint that counts the calls that reach it.
fn counted(calls: &Arc<AtomicUsize>) -> impl Endpoint<(), Response = ()> + Clone {
    let calls = calls.clone();
    endpoint_fn(move |_ctx: Context, ()| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Error>(()) }
    })
}

fn ok() -> impl Endpoint<(), Response = ()> + Clone {
    endpoint_fn(|_ctx: Context, ()| async { Ok::<_, Error>(()) })
}

fn assert_rate_limited(result: Result<(), Error>) {
    let err = result.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::ResourceExhausted, "rate limit exceeded")
    );
}

#[tokio::test(start_paused = true)]
async fn calls_over_the_burst_are_refused_until_the_bucket_refills() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ep = middleware::chain()
        .rate_limit(RateLimit::per_second(10).burst(3))
        .endpoint(counted(&calls));
    for _ in 0..3 {
        ep.call(Context::background(), ()).await.unwrap();
    }
    assert_rate_limited(ep.call(Context::background(), ()).await);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "a refused call never reaches the endpoint"
    );

    tokio::time::advance(Duration::from_millis(99)).await;
    assert_rate_limited(ep.call(Context::background(), ()).await);
    tokio::time::advance(Duration::from_millis(1)).await;
    ep.call(Context::background(), ()).await.unwrap();
    assert_rate_limited(ep.call(Context::background(), ()).await);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_says_when_to_retry_in_whole_seconds() {
    let ep = middleware::chain()
        .rate_limit(RateLimit::per_minute(1))
        .endpoint(ok());
    let refused = || async {
        let (ctx, call) = Context::background().with_call();
        assert_rate_limited(ep.call(ctx, ()).await);
        let response = call.take_response().expect("response metadata was set");
        response.get("retry-after").map(str::to_owned)
    };
    ep.call(Context::background(), ()).await.unwrap();
    assert_eq!(refused().await.as_deref(), Some("60"));
    tokio::time::advance(Duration::from_millis(59_001)).await;
    assert_eq!(refused().await.as_deref(), Some("1"));
}

#[tokio::test(start_paused = true)]
async fn clones_of_a_limit_share_its_bucket() {
    let limit = RateLimit::per_minute(2);
    let a = middleware::chain().rate_limit(limit.clone()).endpoint(ok());
    let b = middleware::chain().rate_limit(limit).endpoint(ok());
    // A limit made separately, with the same rate, is a bucket of its own.
    let other = middleware::chain()
        .rate_limit(RateLimit::per_minute(2))
        .endpoint(ok());
    a.call(Context::background(), ()).await.unwrap();
    b.call(Context::background(), ()).await.unwrap();
    assert_rate_limited(a.call(Context::background(), ()).await);
    assert_rate_limited(b.call(Context::background(), ()).await);
    other.call(Context::background(), ()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn of_100_concurrent_calls_exactly_the_burst_go_through() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ep = Arc::new(
        middleware::chain()
            .rate_limit(RateLimit::per_second(10))
            .endpoint(counted(&calls)),
    );
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let ep = ep.clone();
            tokio::spawn(async move { ep.call(Context::background(), ()).await })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        if let Err(err) = task.await.unwrap() {
            assert_eq!(err.message(), "rate limit exceeded");
            refused += 1;
        }
    }
    assert_eq!((calls.load(Ordering::SeqCst), refused), (10, 90));
}

#[tokio::test(start_paused = true)]
async fn a_delaying_limit_spaces_calls_out() {
    let ep = Arc::new(
        middleware::chain()
            .rate_limit_delaying(RateLimit::per_second(10).burst(1))
            .endpoint(ok()),
    );
    let start = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let ep = ep.clone();
            tokio::spawn(async move {
                ep.call(Context::background(), ()).await.unwrap();
                start.elapsed()
            })
        })
        .collect();
    let mut finished = Vec::new();
    for task in tasks {
        finished.push(task.await.unwrap());
    }
    finished.sort();
    let expected: Vec<_> = (0..20).map(|i| Duration::from_millis(100 * i)).collect();
    assert_eq!(finished, expected);
}

#[tokio::test(start_paused = true)]
async fn a_delaying_limit_waits_within_the_deadline() {
    let ep = middleware::chain()
        .rate_limit_delaying(RateLimit::per_second(10).burst(1))
        .endpoint(ok());
    ep.call(Context::background(), ()).await.unwrap();
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::from_millis(101));
    ep.call(ctx, ()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_delaying_limit_fails_at_once_when_the_permit_comes_after_the_deadline() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ep = middleware::chain()
        .rate_limit_delaying(RateLimit::per_second(10).burst(1))
        .endpoint(counted(&calls));
    ep.call(Context::background(), ()).await.unwrap();
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::from_millis(100));
    let err = ep.call(ctx, ()).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::ZERO, "no waiting in vain");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_context_ends_a_delayed_call() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ep = Arc::new(
        middleware::chain()
            .rate_limit_delaying(RateLimit::per_minute(1))
            .endpoint(counted(&calls)),
    );
    ep.call(Context::background(), ()).await.unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let waiting = tokio::spawn({
        let ep = ep.clone();
        async move { ep.call(ctx, ()).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished());
    let start = Instant::now();
    cancel.cancel();
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

fn from(addr: &str) -> Context {
    let addr: SocketAddr = addr.parse().unwrap();
    Context::background().with_peer(Arc::new(Peer::new(addr)))
}

fn peer_ip(ctx: &Context) -> Option<std::net::IpAddr> {
    ctx.peer().map(|peer| peer.remote_addr.ip())
}

#[tokio::test(start_paused = true)]
async fn a_keyed_limit_gives_each_key_its_own_bucket() {
    let per_client = RateLimit::per_minute(2).keyed_by(peer_ip);
    let ep = middleware::chain()
        .rate_limit(per_client.clone())
        .endpoint(ok());
    for _ in 0..2 {
        ep.call(from("10.0.0.1:1000"), ()).await.unwrap();
    }
    // Another connection from the same address shares the address's bucket.
    assert_rate_limited(ep.call(from("10.0.0.1:2000"), ()).await);
    ep.call(from("10.0.0.2:1000"), ()).await.unwrap();
    // Calls without a peer share the `None` key.
    ep.call(Context::background(), ()).await.unwrap();
    assert_eq!(per_client.tracked_keys(), 3);
}

#[tokio::test(start_paused = true)]
async fn many_distinct_keys_cannot_grow_the_table_or_reset_existing_limits() {
    let per_client = RateLimit::per_second(1)
        .burst(2)
        .keyed_by(peer_ip)
        .max_keys(100);
    let ep = middleware::chain()
        .rate_limit(per_client.clone())
        .endpoint(ok());
    let good = "192.168.0.1:443";
    ep.call(from(good), ()).await.unwrap();

    // A hostile client with 10,000 addresses.
    let mut refused = 0;
    for i in 0..10_000u32 {
        let [_, _, a, b] = i.to_be_bytes();
        if let Err(err) = ep.call(from(&format!("10.1.{a}.{b}:80")), ()).await {
            assert_eq!(err.code(), Code::ResourceExhausted);
            assert_eq!(
                err.message(),
                "rate limit exceeded: already tracking 100 clients, new ones are refused until \
                 some are idle"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 10_000 - 99);
    assert_eq!(per_client.tracked_keys(), 100);

    // The good client kept its bucket: one permit left of its burst of two, then refused.
    ep.call(from(good), ()).await.unwrap();
    assert_rate_limited(ep.call(from(good), ()).await);

    // Once the hostile keys are idle (their buckets refilled), a new client gets in, and
    // the idle keys are gone.
    // The good client is still active, so it stays.
    tokio::time::advance(Duration::from_millis(1999)).await;
    ep.call(from(good), ()).await.unwrap();
    assert!(ep.call(from("172.16.0.1:80"), ()).await.is_err());
    tokio::time::advance(Duration::from_millis(1)).await;
    ep.call(from("172.16.0.1:80"), ()).await.unwrap();
    assert_eq!(
        per_client.tracked_keys(),
        2,
        "the good client and the new one"
    );
}

#[tokio::test(start_paused = true)]
async fn a_keyed_limit_can_delay_each_key_on_its_own() {
    let per_client = RateLimit::per_second(10)
        .burst(1)
        .keyed_by(peer_ip)
        .max_keys(2);
    let ep = middleware::chain()
        .rate_limit_delaying(per_client)
        .endpoint(ok());
    let start = Instant::now();
    ep.call(from("10.0.0.1:1"), ()).await.unwrap();
    ep.call(from("10.0.0.2:1"), ()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    // A new key that the full table refuses is not worth waiting for.
    let err = ep.call(from("10.0.0.3:1"), ()).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(start.elapsed(), Duration::ZERO);
    ep.call(from("10.0.0.1:1"), ()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_full_table_is_swept_at_most_once_per_refill_time() {
    // A key is idle one second after its last call.
    let per_client = RateLimit::per_second(1).keyed_by(peer_ip).max_keys(2);
    let ep = middleware::chain()
        .rate_limit(per_client.clone())
        .endpoint(ok());
    let step = |ms| tokio::time::advance(Duration::from_millis(ms));
    ep.call(from("10.0.0.1:1"), ()).await.unwrap();
    step(500).await;
    ep.call(from("10.0.0.2:1"), ()).await.unwrap();
    step(100).await;
    // Full, and nothing idle: refused, and the next sweep is a second away.
    assert!(ep.call(from("10.0.0.3:1"), ()).await.is_err());
    step(500).await;
    // The first key has been idle for 100 ms, but the table is not swept yet.
    assert!(ep.call(from("10.0.0.3:1"), ()).await.is_err());
    assert_eq!(per_client.tracked_keys(), 2);
    step(500).await;
    ep.call(from("10.0.0.3:1"), ()).await.unwrap();
    assert_eq!(per_client.tracked_keys(), 1, "both idle keys were dropped");
}
