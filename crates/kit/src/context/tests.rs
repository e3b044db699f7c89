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

    // A newer local entry for a key is seen locally but neither travels nor hides the
    // propagated value.
    let local = ctx.with_metadata("x-user", "private");
    assert_eq!(local.metadata("x-user"), Some("private"));
    assert_eq!(
        local.propagated().collect::<Vec<_>>(),
        [("x-request-id", "b"), ("x-user", "u")]
    );
}

#[test]
fn propagated_keeps_the_newest_of_each_key_among_many() {
    let mut ctx = Context::background();
    for i in 0..2_000 {
        ctx = ctx.with_propagated(format!("k{}", i % 500), i.to_string());
    }
    let sent: Vec<_> = ctx.propagated().collect();
    assert_eq!(sent.len(), 500);
    assert!(sent.contains(&("k0", "1500")));
    assert!(sent.contains(&("k499", "1999")));
}

#[test]
fn keys_no_transport_can_send_stay_local() {
    let ctx = Context::background()
        .with_propagated("x ok?", "1")
        .with_propagated("", "2")
        .with_propagated("X-Fine_Key.1", "3");
    assert_eq!(ctx.metadata("x ok?"), Some("1"));
    assert_eq!(
        ctx.propagated().collect::<Vec<_>>(),
        [("x-fine_key.1", "3")]
    );
}

#[test]
fn a_timeout_too_long_to_represent_sets_no_deadline() {
    assert_eq!(
        Context::background().with_timeout(Duration::MAX).deadline(),
        None
    );
    let parent = Context::background().with_timeout(Duration::from_secs(5));
    assert_eq!(
        parent.with_timeout(Duration::MAX).deadline(),
        parent.deadline()
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

#[test]
fn response_metadata_reaches_the_call_handle() {
    let (ctx, call) = Context::background().with_call();
    let clone = ctx.with_metadata("k", "v");
    assert!(clone.set_response_metadata("Retry-After", "1"));
    assert!(ctx.set_response_metadata("retry-after", "2"));
    assert!(ctx.append_response_metadata("set-cookie", "a=1"));
    assert!(ctx.append_response_metadata("set-cookie", "b=2"));
    assert!(ctx.set_response_hint(201u16));
    let response = call.take_response().unwrap();
    assert_eq!(
        response.iter().collect::<Vec<_>>(),
        [
            ("retry-after", "2"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2")
        ]
    );
    assert_eq!(response.hint::<u16>(), Some(&201));
    assert!(call.take_response().unwrap().is_empty());
    // A context no server made has nowhere to put it.
    assert!(!Context::background().set_response_metadata("x", "y"));
    // A call that set nothing has nothing to take.
    let (_ctx, quiet) = Context::background().with_call();
    assert!(quiet.take_response().is_none());
}

#[test]
fn attempts_have_their_own_response_merged_into_the_callers() {
    let (ctx, call) = Context::background().with_call();
    ctx.set_response_metadata("x-kept", "caller");
    let (attempt, attempt_call) = ctx.with_call();
    attempt.set_response_metadata("x-attempt", "winner");
    attempt.set_response_hint(7u8);
    assert!(call.take_response().unwrap().get("x-attempt").is_none());
    ctx.set_response_metadata("x-kept", "caller");
    ctx.merge_response(attempt_call.take_response().unwrap());
    let merged = call.take_response().unwrap();
    assert_eq!(merged.get("x-kept"), Some("caller"));
    assert_eq!(merged.get("x-attempt"), Some("winner"));
    assert_eq!(merged.hint::<u8>(), Some(&7));
}

#[tokio::test]
async fn a_call_context_is_cancelled_when_the_call_ends() {
    let (ctx, call) = Context::background().with_call();
    let (child, _handle) = ctx.with_cancel();
    // Work spawned under the call's context, waiting on it before the call ends.
    let spawned = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.run(std::future::pending::<Result<(), Error>>()).await }
    });
    tokio::task::yield_now().await;
    assert!(!ctx.is_cancelled() && !child.is_cancelled());
    drop(call); // the server dropped the call: answered, abandoned or out of grace
    assert_eq!(spawned.await.unwrap().unwrap_err().code(), Code::Cancelled);
    assert!(ctx.is_cancelled());
    assert!(child.is_cancelled());
    // Work that must outlive the call keeps its metadata but not the cancellation.
    let detached = ctx.with_metadata("k", "v").without_cancel();
    assert!(!detached.is_cancelled());
    assert_eq!(detached.metadata("k"), Some("v"));
}

#[tokio::test]
async fn a_call_cancelled_before_anyone_waits_is_seen_by_later_waiters() {
    let (ctx, call) = Context::background().with_call();
    call.cancel();
    assert_eq!(ctx.done().await.code(), Code::Cancelled);
    let (child, _) = ctx.with_cancel();
    assert!(child.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn run_until_deadline_leaves_cancellation_to_the_caller() {
    let (ctx, call) = Context::background().with_call();
    call.cancel();
    // Not cancelled by the context: the server drops the future itself.
    assert_eq!(ctx.run_until_deadline(async { Ok(1) }).await.unwrap(), 1);
    let ctx = ctx.with_timeout(Duration::from_millis(20));
    let start = Instant::now();
    let err = ctx
        .run_until_deadline(std::future::pending::<Result<(), Error>>())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[test]
fn the_peer_travels_with_the_context() {
    let peer = std::sync::Arc::new(
        Peer::new("192.0.2.1:4000".parse().unwrap())
            .with_local_addr("127.0.0.1:8081".parse().unwrap()),
    );
    let ctx = Context::background()
        .with_peer(peer)
        .with_metadata("k", "v");
    let seen = ctx.peer().unwrap();
    assert_eq!(seen.remote_addr.to_string(), "192.0.2.1:4000");
    assert_eq!(seen.local_addr.unwrap().port(), 8081);
    assert!(ctx.without_cancel().peer().is_some());
    assert!(Context::background().peer().is_none());
}

#[tokio::test]
async fn a_served_context_is_a_call_with_its_peer_and_deadline() {
    let peer = std::sync::Arc::new(Peer::new("192.0.2.9:1".parse().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(5);
    let (ctx, call) = Context::served(Some(peer.clone()), Some(deadline));
    assert_eq!(ctx.deadline(), Some(deadline));
    assert_eq!(ctx.peer(), Some(&*peer));
    assert!(ctx.set_response_metadata("k", "v"));
    assert_eq!(call.take_response().unwrap().get("k"), Some("v"));
    let (child, _) = ctx.with_cancel();
    drop(call);
    assert!(ctx.is_cancelled() && child.is_cancelled());
    let (ctx, call) = Context::served(None, None);
    assert!(ctx.peer().is_none() && ctx.deadline().is_none());
    drop(ctx);
    drop(call); // no context left to cancel
}

#[test]
fn a_call_made_under_a_call_ends_with_it_even_when_no_context_of_the_outer_call_is_left() {
    let (outer, outer_call) = Context::served(None, None);
    // A call made under the outer one (a client's attempt, a nested server) keeps only a
    // token derived from the outer call, not the outer call itself.
    let (inner, _inner_call) = outer.with_call();
    drop(outer);
    assert!(!inner.is_cancelled());
    drop(outer_call);
    assert!(inner.is_cancelled());
}

#[test]
fn a_call_made_under_a_cancellable_context_is_cancelled_by_its_own_handle() {
    // A hedge's attempts: each a call of its own under the served call; the loser's
    // handle cancels the loser only.
    let (outer, _outer_call) = Context::served(None, None);
    let (loser, loser_call) = outer.with_call();
    let (winner, _winner_call) = outer.with_call();
    loser_call.cancel();
    assert!(loser.is_cancelled());
    assert!(!winner.is_cancelled() && !outer.is_cancelled());
}

#[test]
fn a_call_state_used_before_comes_back_as_new() {
    let (ctx, call) = Context::served(None, None);
    assert!(ctx.set_response_metadata("k", "v"));
    call.cancel();
    assert!(ctx.is_cancelled());
    drop(ctx);
    drop(call); // kept as this thread's spare
    let (ctx, call) = Context::served(None, None);
    assert!(!ctx.is_cancelled());
    assert!(call.take_response().is_none());
    assert!(ctx.set_response_hint(3u8));
    assert_eq!(call.take_response().unwrap().hint::<u8>(), Some(&3));
    let (child, _) = ctx.with_cancel();
    drop(call);
    assert!(child.is_cancelled());
}

#[test]
fn work_done_at_once_arms_no_timer() {
    // A runtime without a timer panics at the first timer armed: running ready work under
    // a deadline must not arm one (the deadline is watched only if the work waits).
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = Context::background().with_deadline(Instant::now() + Duration::from_secs(5));
        assert_eq!(ctx.run(async { Ok(7) }).await.unwrap(), 7);
        let (served, _call) = Context::served(None, ctx.deadline());
        assert_eq!(served.run(async { Ok(8) }).await.unwrap(), 8);
    });
}
