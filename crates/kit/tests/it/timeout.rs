use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::middleware::{self, TimeoutLayer};
use kit::{Code, Context, Endpoint, Error, endpoint_fn};
use tokio::time::Instant;
use tower_layer::Layer;

/// An endpoint that reports the time left on its context.
fn remaining() -> impl Endpoint<(), Response = Option<Duration>> {
    endpoint_fn(|ctx: Context, ()| async move { Ok::<_, Error>(ctx.remaining()) })
}

#[tokio::test(start_paused = true)]
async fn timeout_sets_the_deadline_seen_inside() {
    let ep = TimeoutLayer::new(Duration::from_millis(300)).layer(remaining());
    let left = ep.call(Context::background(), ()).await.unwrap();
    assert_eq!(left, Some(Duration::from_millis(300)));
}

#[tokio::test(start_paused = true)]
async fn an_earlier_caller_deadline_wins() {
    let ep = TimeoutLayer::new(Duration::from_secs(10)).layer(remaining());
    let ctx = Context::background().with_timeout(Duration::from_millis(40));
    let left = ep.call(ctx, ()).await.unwrap();
    assert_eq!(left, Some(Duration::from_millis(40)));
}

#[tokio::test(start_paused = true)]
async fn slow_calls_end_at_the_deadline() {
    let ep = TimeoutLayer::new(Duration::from_millis(25)).layer(endpoint_fn(
        |_ctx: Context, ()| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, Error>(())
        },
    ));
    let start = Instant::now();
    let err = ep.call(Context::background(), ()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::DeadlineExceeded, "deadline exceeded")
    );
    assert_eq!(start.elapsed(), Duration::from_millis(25));
}

#[tokio::test]
async fn cancellation_ends_calls_promptly() {
    let ep = TimeoutLayer::new(Duration::from_secs(3600)).layer(endpoint_fn(
        |_ctx: Context, ()| async {
            std::future::pending::<()>().await;
            Ok::<_, Error>(())
        },
    ));
    let (ctx, cancel) = Context::background().with_cancel();
    let call = tokio::spawn(async move { ep.call(ctx, ()).await });
    tokio::task::yield_now().await;
    cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ended after cancellation")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);
}

#[tokio::test]
async fn chain_applies_layers_outermost_first() {
    #[derive(Clone)]
    struct Record(&'static str, Arc<Mutex<Vec<&'static str>>>);
    struct Recorded<E>(&'static str, Arc<Mutex<Vec<&'static str>>>, E);
    impl<E> Layer<E> for Record {
        type Service = Recorded<E>;
        fn layer(&self, inner: E) -> Recorded<E> {
            Recorded(self.0, self.1.clone(), inner)
        }
    }
    impl<E: Endpoint<()>> Endpoint<()> for Recorded<E> {
        type Response = E::Response;
        async fn call(&self, ctx: Context, req: ()) -> Result<E::Response, Error> {
            self.1.lock().unwrap().push(self.0);
            self.2.call(ctx, req).await
        }
    }

    let log = Arc::new(Mutex::new(Vec::new()));
    let ep = middleware::chain()
        .layer(Record("outer", log.clone()))
        .timeout(Duration::from_secs(1))
        .layer(Record("inner", log.clone()))
        .endpoint(remaining());
    let left = ep.call(Context::background(), ()).await.unwrap();
    assert!(left.is_some(), "the timeout sits between the two records");
    assert_eq!(*log.lock().unwrap(), ["outer", "inner"]);
}
