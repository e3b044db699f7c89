//! Calls over loopback: kit client → tonic service → kit server adapter → endpoint.

use std::sync::{Arc, Mutex};

use kit::{Code, Context, Endpoint};
use tokio::net::TcpListener;

use crate::pb;
use crate::support::{TestServer, channel, echo_client, echo_request, sum_client};

#[tokio::test]
async fn unary_round_trip() {
    let server = TestServer::start().await;
    let sum = sum_client(server.channel());
    for (a, b) in [(1, 2), (-5, 3), (0, 7)] {
        assert_eq!(
            sum.call(Context::background(), (a, b)).await.unwrap(),
            a + b
        );
    }
    let echo = echo_client(server.channel());
    let reply = echo
        .call(Context::background(), echo_request("hello"))
        .await
        .unwrap();
    assert_eq!(reply.message, "hello");
    assert_eq!(server.events.outcomes(), [None, None, None, None]);
}

/// Everything works on tokio's multi-thread runtime as on the current-thread one the other
/// tests use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_round_trip_on_a_multi_thread_runtime() {
    let server = TestServer::start().await;
    let sum = sum_client(server.channel());
    let calls = (0..8).map(|i| {
        let sum = sum.clone();
        tokio::spawn(async move { sum.call(Context::background(), (i, 1)).await })
    });
    for (i, call) in calls.collect::<Vec<_>>().into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap(), i as i64 + 1);
    }
}

#[tokio::test]
async fn business_error_keeps_its_code_and_message_both_ways() {
    let server = TestServer::start().await;

    // On the wire: the status of the error's code, with its message.
    let mut raw = pb::echo_client::EchoClient::new(server.channel());
    let status = raw.sum(pb::SumRequest { a: 0, b: 0 }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "can't sum two zeroes");

    // Through kit's client: the same kit error again.
    let err = sum_client(server.channel())
        .call(Context::background(), (0, 0))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::InvalidArgument, "can't sum two zeroes")
    );
    assert!(!err.code().class().failure);
    assert_eq!(
        server.events.outcomes(),
        [Some(Code::InvalidArgument), Some(Code::InvalidArgument)]
    );
}

#[tokio::test]
async fn every_code_crosses_the_wire_unchanged() {
    let server = TestServer::start().await;
    let echo = echo_client(server.channel());
    for n in 1..=16 {
        let code = Code::from_number(n).unwrap();
        let request = pb::EchoRequest {
            message: format!("failed with {code}"),
            fail_code: n,
            ..Default::default()
        };
        let err = echo.call(Context::background(), request).await.unwrap_err();
        assert_eq!(err.code(), code, "{n}");
        // Servers redact the messages of private codes by default.
        if code.is_private() {
            assert_eq!(err.message(), code.description());
        } else {
            assert_eq!(err.message(), format!("failed with {code}"));
        }
    }
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = sum_client(channel(addr))
        .call(Context::background(), (1, 2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn propagated_metadata_arrives_as_grpc_metadata() {
    let server = TestServer::start().await;
    let echo = echo_client(server.channel());

    // Propagated entries travel; local ones stay in this process.
    let ctx = Context::background()
        .with_propagated("x-request-id", "req-42")
        .with_metadata("tenant", "blue");
    let reply = echo.call(ctx, echo_request("hi")).await.unwrap();
    assert_eq!((&*reply.request_id, &*reply.tenant), ("req-42", ""));

    // Without one, the server makes a request id of its own (kit::request_id::generate).
    let ctx = Context::background().with_propagated("tenant", "green");
    let reply = echo.call(ctx, echo_request("hi")).await.unwrap();
    assert_eq!((reply.request_id.len(), &*reply.tenant), (32, "green"));
}

#[tokio::test]
async fn metadata_that_grpc_cannot_carry_is_skipped() {
    let server = TestServer::start().await;
    let ctx = Context::background()
        .with_propagated("grpc-status", "13") // gRPC's own key
        .with_propagated("x-blob-bin", "not base64") // binary metadata
        .with_propagated("x-request-id", "line\nbreak") // not a header value
        .with_propagated("tenant", "kept");
    let reply = echo_client(server.channel())
        .call(ctx, echo_request("hi"))
        .await
        .unwrap();
    // The request id was not sent, so the server made one.
    assert_eq!((reply.request_id.len(), &*reply.tenant), (32, "kept"));
}

#[tokio::test]
async fn client_hooks_see_request_and_reply_metadata() {
    let server = TestServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let echo = echo_client(server.channel())
        .before(|ctx, metadata| {
            // A before hook may add metadata from the context.
            let tenant = ctx.metadata("tenant").unwrap_or("none").to_owned();
            metadata.insert("tenant", tenant.parse().unwrap());
        })
        .after({
            let seen = seen.clone();
            move |_ctx, metadata| {
                let served_by = metadata
                    .get("x-served-by")
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.lock().unwrap().push(served_by);
            }
        });
    let ctx = Context::background().with_metadata("tenant", "local-only");
    let reply = echo.call(ctx, echo_request("hi")).await.unwrap();
    assert_eq!(reply.tenant, "local-only");

    // The server's after hook runs for errors too, and its metadata reaches the client.
    let failing = pb::EchoRequest {
        fail_code: Code::NotFound.number(),
        ..echo_request("gone")
    };
    let err = echo.call(Context::background(), failing).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Some("kit-grpc-test".to_owned()),
            Some("kit-grpc-test".to_owned())
        ]
    );
}

/// `google.rpc.Status`, as a grpc-go client would unpack the status details.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

#[tokio::test]
async fn error_details_cross_the_wire_in_the_standard_form() {
    use prost::Message;

    let server = TestServer::start().await;
    let details = serde_json::json!({"field": "a", "reasons": ["zero", 2]});
    let request = pb::EchoRequest {
        fail_code: Code::InvalidArgument.number(),
        fail_details_json: details.to_string(),
        ..echo_request("bad a")
    };

    // On the wire: a google.rpc.Status holding one google.protobuf.Value.
    let mut raw = pb::echo_client::EchoClient::new(server.channel());
    let status = raw.echo(request.clone()).await.unwrap_err();
    let rpc = RpcStatus::decode(status.details()).unwrap();
    assert_eq!((rpc.code, &*rpc.message), (3, "bad a"));
    assert_eq!(rpc.details.len(), 1);
    assert_eq!(rpc.details[0].type_url, kit_grpc::VALUE_TYPE_URL);
    assert_eq!(
        rpc.details[0].type_url,
        "type.googleapis.com/google.protobuf.Value"
    );
    let value = prost_types::Value::decode(&*rpc.details[0].value).unwrap();
    assert!(matches!(
        value.kind,
        Some(prost_types::value::Kind::StructValue(_))
    ));

    // Through kit's client: the same details again.
    let err = echo_client(server.channel())
        .call(Context::background(), request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.details(), Some(&details));
}
