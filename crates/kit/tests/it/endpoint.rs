use std::sync::Arc;

use kit::{BoxEndpoint, Code, Context, Endpoint, Error, endpoint_fn, middleware};

fn concat() -> impl Endpoint<(String, String), Response = String> {
    endpoint_fn(|_ctx: Context, (a, b): (String, String)| async move {
        let joined = a + &b;
        if joined.len() > 10 {
            return Err(Error::invalid_argument("result exceeds maximum size"));
        }
        Ok(joined)
    })
}

#[tokio::test]
async fn endpoint_fn_passes_context_and_request() {
    let who = endpoint_fn(|ctx: Context, greeting: &'static str| async move {
        Ok::<_, Error>(format!(
            "{greeting}, {}",
            ctx.metadata("user").unwrap_or("nobody")
        ))
    });
    let ctx = Context::background().with_metadata("user", "ann");
    assert_eq!(who.call(ctx, "hello").await.unwrap(), "hello, ann");
}

#[tokio::test]
async fn boxed_endpoints_clone_and_keep_errors() {
    let boxed: BoxEndpoint<(String, String), String> = concat().boxed();
    let copy = boxed.clone();
    assert_eq!(
        copy.call(Context::background(), ("a".into(), "b".into()))
            .await
            .unwrap(),
        "ab"
    );
    let err = boxed
        .call(Context::background(), ("0123456789".into(), "x".into()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "result exceeds maximum size")
    );
    // Boxing a boxed endpoint does not box twice: it is still usable and equal in effect.
    let again = boxed.boxed();
    assert_eq!(
        again
            .call(Context::background(), ("x".into(), "y".into()))
            .await
            .unwrap(),
        "xy"
    );
}

#[tokio::test]
async fn shared_endpoints_serve_concurrent_calls() {
    let shared = Arc::new(middleware::chain().logging("concat").endpoint(concat()));
    let calls = (0..8).map(|i| {
        let shared = shared.clone();
        tokio::spawn(async move {
            shared
                .call(Context::background(), (i.to_string(), "!".into()))
                .await
        })
    });
    for (i, call) in calls.enumerate() {
        assert_eq!(call.await.unwrap().unwrap(), format!("{i}!"));
    }
}
