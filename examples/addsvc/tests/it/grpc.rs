//! The gRPC contract of CONTRACTS.md against the real binary, with tonic's generated client
//! (what any gRPC client, Go kit's included, sends), plus health and reflection.

use crate::pb;
use pb::add_client::AddClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::start_async;

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connecting")
}

#[tokio::test]
async fn business_errors_travel_in_the_reply() {
    let svc = start_async().await;
    let mut add = AddClient::new(channel(svc.grpc).await);
    for (a, b, v, err) in [
        (1, 2, 3, ""),
        (3_000_000_000, 0, 3_000_000_000, ""),
        (0, 0, 0, "can't sum two zeroes"),
        (2_147_483_647, 1, 0, "integer overflow"),
    ] {
        let reply = add
            .sum(pb::SumRequest { a, b })
            .await
            .expect("status OK")
            .into_inner();
        assert_eq!(
            reply,
            pb::SumReply {
                v,
                err: err.to_owned()
            },
            "{a} + {b}"
        );
    }
    for (a, b, v, err) in [
        ("x", "y", "xy", ""),
        ("01234", "567890", "", "result exceeds maximum size"),
    ] {
        let reply = add
            .concat(pb::ConcatRequest {
                a: a.into(),
                b: b.into(),
            })
            .await
            .expect("status OK")
            .into_inner();
        assert_eq!(
            reply,
            pb::ConcatReply {
                v: v.into(),
                err: err.into()
            },
            "{a} + {b}"
        );
    }
}

#[tokio::test]
async fn unknown_methods_are_unimplemented() {
    let svc = start_async().await;
    let channel = channel(svc.grpc).await;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<pb::SumRequest, pb::SumReply>::default();
    let status = grpc
        .unary(
            tonic::Request::new(pb::SumRequest { a: 1, b: 2 }),
            http::uri::PathAndQuery::from_static("/pb.Add/Multiply"),
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn a_message_that_does_not_decode_is_an_error_and_the_server_keeps_serving() {
    let svc = start_async().await;
    let channel = channel(svc.grpc).await;
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    // A ConcatRequest's field 1 is a string where SumRequest's is an int64: wrong wire type.
    let codec = tonic_prost::ProstCodec::<pb::ConcatRequest, pb::SumReply>::default();
    let status = grpc
        .unary(
            tonic::Request::new(pb::ConcatRequest {
                a: "x".into(),
                b: "y".into(),
            }),
            http::uri::PathAndQuery::from_static("/pb.Add/Sum"),
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(status.message().contains("decode"), "{status:?}");

    let reply = AddClient::new(channel)
        .sum(pb::SumRequest { a: 1, b: 2 })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().v, 3);
}

#[tokio::test]
async fn health_and_reflection() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let svc = start_async().await;
    let channel = channel(svc.grpc).await;
    let mut health = HealthClient::new(channel.clone());
    crate::support::assert_health(&mut health, ServingStatus::Serving).await;

    // Both reflection versions list the service and the health service beside it.
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream_once(request))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "pb.Add"
        ]
    );

    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    };
    let mut answers = AlphaClient::new(channel)
        .server_reflection_info(tokio_stream_once(request))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let Some(AlphaResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&"pb.Add".to_owned()), "{names:?}");
}

/// A request stream of one message.
fn tokio_stream_once<T: Send + 'static>(item: T) -> impl tonic::IntoStreamingRequest<Message = T> {
    futures_util::stream::iter([item])
}

#[tokio::test]
async fn health_turns_not_serving_when_shutdown_starts() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let svc = crate::support::start_with_async(&["--shutdown-grace", "1s"]).await;
    let mut health = HealthClient::new(channel(svc.grpc).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "pb.Add".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().expect("a status");
    assert_eq!(first.status, ServingStatus::Serving as i32);

    svc.process.signal(kit_testkit::Signal::Term);
    let next = watch.message().await.unwrap().expect("a status change");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
}

/// One request over raw HTTP/2: the HTTP status and `grpc-status` of the answer (from the
/// headers of a trailers-only answer, else from the trailers).
async fn raw_grpc(
    addr: std::net::SocketAddr,
    method: http::Method,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    let mut sender = sender.ready().await.unwrap();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}/pb.Add/Sum"))
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut stream) = sender.send_request(request, false).unwrap();
    stream.send_data(bytes::Bytes::from(body), true).unwrap();
    let response = response.await.unwrap();
    let status = response.status().as_u16();
    let (parts, mut received) = response.into_parts();
    let mut fields = parts.headers;
    while let Some(data) = received.data().await {
        let _ = data.unwrap();
    }
    if let Some(trailers) = received.trailers().await.unwrap() {
        fields.extend(trailers);
    }
    let grpc_status = fields
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, grpc_status)
}

#[tokio::test]
async fn requests_that_are_not_grpc_are_refused() {
    use prost::Message;
    let svc = start_async().await;
    let message = pb::SumRequest { a: 1, b: 2 }.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(&message);

    let post = http::Method::POST;
    assert_eq!(
        raw_grpc(svc.grpc, post.clone(), "application/grpc", framed.clone()).await,
        (200, "0".to_owned())
    );
    assert_eq!(
        raw_grpc(svc.grpc, post.clone(), "text/plain", framed.clone()).await,
        (415, "3".to_owned())
    );
    assert_eq!(
        raw_grpc(
            svc.grpc,
            http::Method::PUT,
            "application/grpc",
            framed.clone()
        )
        .await,
        (405, "13".to_owned())
    );
    let twice = [framed.clone(), framed].concat();
    assert_eq!(
        raw_grpc(svc.grpc, post, "application/grpc", twice).await,
        (200, "13".to_owned())
    );
}
