use std::time::Duration;

use super::*;
use crate::Code;

#[test]
fn child_deadline_never_extends_the_parent() {
    let parent = Context::background().with_timeout(Duration::from_millis(100));
    let child = parent.with_timeout(Duration::from_secs(60));
    assert_eq!(child.deadline(), parent.deadline());
    let shorter = parent.with_timeout(Duration::from_millis(1));
    assert!(shorter.deadline() < parent.deadline());
    assert!(Context::background().deadline().is_none());
}

#[test]
fn metadata_is_case_insensitive_and_shadowed() {
    let ctx = Context::background()
        .with_propagated("X-Request-Id", "a")
        .with_metadata("local", "1")
        .with_propagated("x-request-id", "b")
        .with_propagated("x-user", "u");
    assert_eq!(ctx.metadata("x-request-id"), Some("b"));
    assert_eq!(ctx.metadata("X-REQUEST-ID"), Some("b"));
    assert_eq!(ctx.metadata("missing"), None);
    let mut sent: Vec<_> = ctx.propagated().collect();
    sent.sort();
    assert_eq!(sent, [("x-request-id", "b"), ("x-user", "u")]);

    // A newer local entry for a key stops it from travelling.
    let hidden = ctx.with_metadata("x-user", "private");
    assert_eq!(
        hidden.propagated().collect::<Vec<_>>(),
        [("x-request-id", "b")]
    );
}

#[test]
fn parent_is_unchanged_by_children() {
    let parent = Context::background().with_metadata("k", "parent");
    let _child = parent.with_metadata("k", "child").with_value(7u32);
    assert_eq!(parent.metadata("k"), Some("parent"));
    assert_eq!(parent.value::<u32>(), None);
}

#[test]
fn typed_values_by_type() {
    #[derive(Debug, PartialEq)]
    struct User(&'static str);
    let ctx = Context::background()
        .with_value(User("ann"))
        .with_value(5u64)
        .with_value(User("bob"));
    assert_eq!(ctx.value::<User>(), Some(&User("bob")));
    assert_eq!(ctx.value::<u64>(), Some(&5));
    assert_eq!(ctx.value::<i8>(), None);
}

#[tokio::test(start_paused = true)]
async fn run_ends_promptly_at_the_deadline() {
    let ctx = Context::background().with_timeout(Duration::from_millis(50));
    let start = Instant::now();
    let result: Result<(), Error> = ctx
        .run(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .await;
    assert_eq!(result.unwrap_err().code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::from_millis(50));
}

#[tokio::test]
async fn run_ends_promptly_when_cancelled() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (grandchild, _) = ctx.with_metadata("k", "v").with_cancel();
    let work = grandchild.run(async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let canceller = async {
        tokio::task::yield_now().await;
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(work, canceller);
    assert_eq!(result.unwrap_err().code(), Code::Cancelled);
    assert!(grandchild.is_cancelled());
    assert_eq!(grandchild.err().unwrap().code(), Code::Cancelled);
}

#[tokio::test]
async fn run_does_not_start_work_on_a_done_context() {
    let ctx = Context::background().with_deadline(Instant::now() - Duration::from_millis(1));
    let mut started = false;
    let result = ctx
        .run(async {
            started = true;
            Ok(())
        })
        .await;
    assert_eq!(result.unwrap_err().code(), Code::DeadlineExceeded);
    assert!(!started);
}

#[tokio::test]
async fn run_passes_results_through() {
    let ctx = Context::background().with_timeout(Duration::from_secs(60));
    assert_eq!(ctx.run(async { Ok(1) }).await.unwrap(), 1);
    let err = Context::background()
        .run(async { Err::<(), _>(Error::not_found("gone")) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
