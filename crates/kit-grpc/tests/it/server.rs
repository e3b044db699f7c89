//! The server adapter in process: tonic requests straight into `Server::serve`.

use std::sync::{Arc, Mutex};

use kit::{Code, Context, Error, endpoint_fn};
use tokio::sync::oneshot;
use tonic::Request;

/// A server of `(a, b) -> a + b` whose finalizer records outcomes in `log`.
fn adder(log: &Arc<Mutex<Vec<Option<Code>>>>) -> kit_grpc::BoxServer<(i64, i64), i64> {
    let log = log.clone();
    kit_grpc::Server::new(
        endpoint_fn(|_ctx: Context, (a, b): (i64, i64)| async move { Ok::<_, Error>(a + b) }),
        |(a, b): (i64, i64)| {
            if a < 0 || b < 0 {
                return Err(Error::invalid_argument("negative operand"));
            }
            Ok((a, b))
        },
        Ok,
    )
    .finalizer(move |_ctx, err| log.lock().unwrap().push(err.map(Error::code)))
    .boxed()
}

#[tokio::test]
async fn decoder_errors_are_answered_with_their_code() {
    let log = Arc::default();
    let server = adder(&log);
    assert_eq!(
        *server.serve(Request::new((1, 2))).await.unwrap().get_ref(),
        3
    );
    let status = server.serve(Request::new((-1, 2))).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::InvalidArgument, "negative operand")
    );
    assert_eq!(*log.lock().unwrap(), [None, Some(Code::InvalidArgument)]);
}

#[tokio::test]
async fn a_malformed_grpc_timeout_is_invalid_argument() {
    let log = Arc::default();
    let server = adder(&log);
    let mut request = Request::new((1, 2));
    request
        .metadata_mut()
        .insert("grpc-timeout", "soon".parse().unwrap());
    let status = server.serve(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("grpc-timeout"), "{status:?}");
    assert_eq!(*log.lock().unwrap(), [Some(Code::InvalidArgument)]);
}

#[tokio::test]
async fn before_hooks_run_in_order_after_the_deadline_is_installed() {
    let server = kit_grpc::Server::new(
        endpoint_fn(|ctx: Context, ()| async move {
            Ok::<_, Error>(format!(
                "{} {}",
                ctx.metadata("order").unwrap_or_default(),
                ctx.remaining().is_some()
            ))
        }),
        Ok,
        Ok,
    )
    .before(|ctx, _| {
        let deadline = ctx.deadline().is_some();
        ctx.with_metadata("order", format!("first(deadline={deadline})"))
    })
    .before(|ctx, _| {
        let previous = ctx.metadata("order").unwrap_or_default().to_owned();
        ctx.with_metadata("order", format!("{previous},second"))
    });
    let mut request = Request::new(());
    request
        .metadata_mut()
        .insert("grpc-timeout", "1M".parse().unwrap());
    let reply = server.serve(request).await.unwrap().into_inner();
    assert_eq!(reply, "first(deadline=true),second true");
}

#[tokio::test]
async fn a_call_dropped_before_its_answer_is_finalized_as_cancelled() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let started_tx = Mutex::new(Some(started_tx));
    let server = kit_grpc::Server::new(
        endpoint_fn(move |_ctx: Context, ()| {
            if let Some(tx) = started_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            std::future::pending::<Result<(), Error>>()
        }),
        Ok,
        Ok,
    )
    .finalizer({
        let log = log.clone();
        move |_ctx, err| log.lock().unwrap().push(err.map(Error::code))
    });
    {
        let call = server.serve(Request::new(()));
        tokio::select! {
            _ = call => unreachable!("the endpoint never answers"),
            _ = started_rx => {}
        }
        // `call` is dropped here, as hyper drops a stream the client reset.
    }
    assert_eq!(*log.lock().unwrap(), [Some(Code::Cancelled)]);
}

/// A server whose endpoint fails with `err`, redacting as told; its finalizer logs the
/// messages it saw.
fn failing(
    err: fn() -> Error,
    redact: bool,
    log: &Arc<Mutex<Vec<String>>>,
) -> kit_grpc::BoxServer<(), ()> {
    let log = log.clone();
    kit_grpc::Server::new(
        endpoint_fn(move |_ctx: Context, ()| async move { Err::<(), _>(err()) }),
        Ok,
        Ok,
    )
    .finalizer(move |_ctx, err| {
        log.lock()
            .unwrap()
            .push(err.map(|e| e.message().to_owned()).unwrap_or_default());
    })
    .redact_private_errors(redact)
    .boxed()
}

#[tokio::test]
async fn private_errors_are_redacted_by_default_and_finalizers_see_the_original() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let server = kit_grpc::Server::new(
        endpoint_fn(|_ctx: Context, ()| async move {
            Err::<(), _>(Error::internal("open /var/db: permission denied"))
        }),
        Ok,
        Ok,
    )
    .finalizer({
        let log = Arc::clone(&log);
        move |_ctx, err| {
            let message = err.map(|e| e.message().to_owned()).unwrap_or_default();
            log.lock().unwrap().push(message);
        }
    });
    let status = server.serve(Request::new(())).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::Internal, "internal error")
    );
    assert_eq!(*log.lock().unwrap(), ["open /var/db: permission denied"]);

    // Other codes keep their text.
    let server = failing(|| Error::not_found("no such profile"), true, &log);
    let status = server.serve(Request::new(())).await.unwrap_err();
    assert_eq!(status.message(), "no such profile");
}

#[tokio::test]
async fn redaction_can_be_turned_off() {
    let log = Arc::default();
    let server = failing(
        || Error::data_loss("checksum mismatch in block 7"),
        false,
        &log,
    );
    let status = server.serve(Request::new(())).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (tonic::Code::DataLoss, "checksum mismatch in block 7")
    );
}
