//! How far a failed call got: the client's [`Delivery`] against real misbehaving HTTP/2
//! servers on loopback (the `h2` crate's server, and raw frames where h2 cannot misbehave
//! enough), and what that means for retries with and without `.idempotent(true)`.

use std::net::SocketAddr;
use std::time::Duration;

use h2::Reason;
use kit::error::Delivery;
use kit::{Code, Context, Endpoint, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::pb;
use crate::support::{TestServer, channel, echo_client, echo_request};

/// What a misbehaving server does with each call.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// Resets the stream with `REFUSED_STREAM` as soon as its headers arrive.
    RefuseStream,
    /// Reads the whole request, then drops the connection without answering.
    DropAfterRequest,
    /// Reads the whole request and never answers.
    Hang,
}

/// An HTTP/2 server (the `h2` crate's) that misbehaves with every call.
async fn misbehaving_server(misbehaviour: Misbehaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(misbehave(stream, misbehaviour));
        }
    });
    addr
}

async fn misbehave(stream: TcpStream, misbehaviour: Misbehaviour) {
    let Ok(mut connection) = h2::server::handshake(stream).await else {
        return;
    };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        if let Misbehaviour::RefuseStream = misbehaviour {
            respond.send_reset(Reason::REFUSED_STREAM);
            continue;
        }
        // Read the request to its end while the connection keeps being driven.
        let mut body = request.into_body();
        let read = async {
            while let Some(Ok(data)) = body.data().await {
                let _ = body.flow_control().release_capacity(data.len());
            }
        };
        tokio::select! {
            () = read => {}
            _ = std::future::poll_fn(|cx| connection.poll_closed(cx)) => return,
        }
        match misbehaviour {
            Misbehaviour::DropAfterRequest => {
                drop(connection); // closes the socket with no answer and no GOAWAY
                return;
            }
            Misbehaviour::Hang => {
                let _respond = respond;
                let _ = std::future::poll_fn(|cx| connection.poll_closed(cx)).await;
                return;
            }
            Misbehaviour::RefuseStream => unreachable!(),
        }
    }
}

/// A server speaking just enough raw HTTP/2 to answer the first request's headers with
/// `GOAWAY(last_stream_id = 0, NO_ERROR)`: it promises not to have processed the stream
/// (h2's server always counts the streams it has seen, so it cannot send this).
async fn go_away_server() -> SocketAddr {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const HEADERS: u8 = 1;
    const SETTINGS: u8 = 4;
    const GOAWAY: u8 = 7;
    fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut frame = vec![len[1], len[2], len[3], kind, flags, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut preface = [0; 24];
                if stream.read_exact(&mut preface).await.is_err() || preface != PREFACE {
                    return;
                }
                stream.write_all(&frame(SETTINGS, 0, &[])).await.unwrap();
                loop {
                    let mut header = [0; 9];
                    if stream.read_exact(&mut header).await.is_err() {
                        return;
                    }
                    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]);
                    let mut payload = vec![0; len as usize];
                    if stream.read_exact(&mut payload).await.is_err() {
                        return;
                    }
                    match header[3] {
                        SETTINGS if header[4] & 1 == 0 => {
                            stream.write_all(&frame(SETTINGS, 1, &[])).await.unwrap();
                        }
                        HEADERS => {
                            // Last stream id 0, error code NO_ERROR.
                            stream.write_all(&frame(GOAWAY, 0, &[0; 8])).await.unwrap();
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    addr
}

/// A port nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Calls `Echo` at `addr` twice, plainly and through a client marked idempotent, and
/// returns both errors.
async fn fail_both_ways(addr: SocketAddr, ctx: impl Fn() -> Context) -> (Error, Error) {
    let plain = echo_client(channel(addr))
        .call(ctx(), echo_request("hello?"))
        .await
        .unwrap_err();
    let idempotent = echo_client(channel(addr))
        .idempotent(true)
        .call(ctx(), echo_request("hello?"))
        .await
        .unwrap_err();
    (plain, idempotent)
}

/// Checks both errors of [`fail_both_ways`]: their code and delivery, whether the plain one
/// may be retried, and that the idempotent one always may (when its code is retryable).
fn assert_failure(
    (plain, idempotent): &(Error, Error),
    code: Code,
    delivery: Delivery,
    plain_retryable: bool,
) {
    for err in [plain, idempotent] {
        assert_eq!((err.code(), err.delivery()), (code, delivery), "{err:?}");
    }
    assert!(!plain.is_idempotent_call() && idempotent.is_idempotent_call());
    assert_eq!(plain.is_retryable(), plain_retryable, "{plain:?}");
    assert!(idempotent.is_retryable(), "{idempotent:?}");
}

#[tokio::test]
async fn connection_refused_was_not_sent() {
    let addr = closed_port().await;
    let errors = fail_both_ways(addr, Context::background).await;
    assert_failure(&errors, Code::Unavailable, Delivery::NotSent, true);
}

#[tokio::test]
async fn refused_stream_was_not_sent() {
    let addr = misbehaving_server(Misbehaviour::RefuseStream).await;
    let errors = fail_both_ways(addr, Context::background).await;
    assert_failure(&errors, Code::Unavailable, Delivery::NotSent, true);
}

#[tokio::test]
async fn go_away_before_processing_was_not_sent_and_is_unavailable() {
    // tonic reports this GOAWAY as INTERNAL; it is UNAVAILABLE by gRPC's spec.
    let addr = go_away_server().await;
    let errors = fail_both_ways(addr, Context::background).await;
    assert_failure(&errors, Code::Unavailable, Delivery::NotSent, true);
}

#[tokio::test]
async fn connection_lost_after_the_request_may_have_executed() {
    let addr = misbehaving_server(Misbehaviour::DropAfterRequest).await;
    let errors = fail_both_ways(addr, Context::background).await;
    assert_failure(&errors, Code::Unavailable, Delivery::MaybeExecuted, false);
}

#[tokio::test]
async fn deadline_while_waiting_may_have_executed() {
    let addr = misbehaving_server(Misbehaviour::Hang).await;
    let errors = fail_both_ways(addr, || {
        Context::background().with_timeout(Duration::from_millis(100))
    })
    .await;
    assert_failure(
        &errors,
        Code::DeadlineExceeded,
        Delivery::MaybeExecuted,
        false,
    );
}

#[tokio::test]
async fn an_expired_context_sends_nothing() {
    let addr = misbehaving_server(Misbehaviour::Hang).await;
    let ctx = Context::background().with_timeout(Duration::ZERO);
    let err = echo_client(channel(addr))
        .call(ctx, echo_request("too late"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.delivery()),
        (Code::DeadlineExceeded, Delivery::NotSent)
    );
}

#[tokio::test]
async fn statuses_the_server_answered_are_classified_by_their_code() {
    let server = TestServer::start().await;
    for (code, retryable) in [
        (Code::Unavailable, true),
        (Code::Aborted, true),
        (Code::InvalidArgument, false),
    ] {
        let request = pb::EchoRequest {
            fail_code: code.number(),
            ..echo_request("no")
        };
        for idempotent in [false, true] {
            let err = echo_client(server.channel())
                .idempotent(idempotent)
                .call(Context::background(), request.clone())
                .await
                .unwrap_err();
            assert_eq!((err.code(), err.delivery()), (code, Delivery::Answered));
            assert_eq!(err.is_retryable(), retryable, "{err:?}");
        }
    }
}
