//! Request checks over raw HTTP/2 (the `h2` crate's client): requests that are not gRPC,
//! and a second message on a unary call, get grpc-go's (or the C core's) exact answer, and
//! the connection keeps serving.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use h2::client::SendRequest;
use http::{Method, Request};
use kit_grpc::checks::RequestChecksLayer;
use prost::Message;
use tokio::net::{TcpListener, TcpStream};
use tower_layer::Layer;

use crate::codegen::file_descriptor_set;
use crate::support::{Events, echo_request, percent_decode, routes};

/// Serves the test routes behind the checks (with `require_te` as given), over
/// `kit_grpc::serve`.
async fn checked_server(require_te: bool) -> (SocketAddr, Arc<Events>) {
    let events = Arc::new(Events::default());
    let (routes, _health) = routes(&events).await;
    let layer = RequestChecksLayer::from_descriptor_sets(&[
        file_descriptor_set(),
        kit_grpc::health::FILE_DESCRIPTOR_SET,
    ])
    .unwrap()
    .require_te(require_te);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kit_grpc::serve(listener, layer.layer(routes)).into_future());
    (addr, events)
}

/// An HTTP/2 connection to `addr`.
async fn connect(addr: SocketAddr) -> SendRequest<Bytes> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    sender
}

/// `message` with gRPC's framing.
fn framed(message: &impl Message) -> Vec<u8> {
    let encoded = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(encoded.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(&encoded);
    framed
}

/// What came back: the HTTP status, `grpc-status` and decoded `grpc-message` (from the
/// headers of a trailers-only answer, else from the trailers) and the body's bytes.
#[derive(Debug)]
struct Answer {
    http: u16,
    grpc_status: String,
    grpc_message: String,
    body: Vec<u8>,
}

/// Sends one request: `method` to `path` with `headers`, the body in `data_frames`.
async fn send(
    sender: &mut SendRequest<Bytes>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    data_frames: &[&[u8]],
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let sender = sender.clone();
    let mut sender = sender.ready().await.unwrap();
    let (response, mut body) = sender
        .send_request(request.body(()).unwrap(), data_frames.is_empty())
        .unwrap();
    for (i, frame) in data_frames.iter().enumerate() {
        let last = i + 1 == data_frames.len();
        body.send_data(Bytes::copy_from_slice(frame), last).unwrap();
    }
    let response = response.await.unwrap();
    let http = response.status().as_u16();
    let (parts, mut received) = response.into_parts();
    let mut fields = parts.headers;
    let mut bytes = Vec::new();
    while let Some(data) = received.data().await {
        let data = data.unwrap();
        let _ = received.flow_control().release_capacity(data.len());
        bytes.extend_from_slice(&data);
    }
    if let Some(trailers) = received.trailers().await.unwrap() {
        fields.extend(trailers);
    }
    let field = |name: &str| {
        fields
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    Answer {
        http,
        grpc_status: field("grpc-status"),
        grpc_message: percent_decode(&field("grpc-message")),
        body: bytes,
    }
}

const GRPC: [(&str, &str); 2] = [("content-type", "application/grpc"), ("te", "trailers")];

/// A well-formed `Echo` call on `sender`: it must succeed.
async fn assert_still_serving(sender: &mut SendRequest<Bytes>) {
    let message = framed(&echo_request("still there?"));
    let answer = send(sender, Method::POST, "/test.Echo/Echo", &GRPC, &[&message]).await;
    assert_eq!(
        (answer.http, &*answer.grpc_status),
        (200, "0"),
        "{answer:?}"
    );
}

/// Asserts the exact answer, then that the connection still serves.
async fn assert_refused(
    sender: &mut SendRequest<Bytes>,
    answer: Answer,
    http: u16,
    grpc_status: &str,
    grpc_message: &str,
) {
    assert_eq!(
        (answer.http, &*answer.grpc_status, &*answer.grpc_message),
        (http, grpc_status, grpc_message),
        "{answer:?}"
    );
    assert!(answer.body.is_empty());
    assert_still_serving(sender).await;
}

#[tokio::test]
async fn a_well_formed_call_passes() {
    let (addr, events) = checked_server(true).await;
    let mut sender = connect(addr).await;
    for content_type in [
        "application/grpc",
        "application/grpc+proto",
        "Application/GRPC; charset=utf-8",
    ] {
        let headers = [("content-type", content_type), ("te", "trailers")];
        let message = framed(&echo_request("hi"));
        let answer = send(
            &mut sender,
            Method::POST,
            "/test.Echo/Echo",
            &headers,
            &[&message],
        )
        .await;
        assert_eq!(
            (answer.http, &*answer.grpc_status),
            (200, "0"),
            "{answer:?}"
        );
    }
    assert_eq!(events.outcomes(), [None, None, None]);
}

#[tokio::test]
async fn a_content_type_that_is_not_grpc_is_415() {
    let (addr, events) = checked_server(true).await;
    let mut sender = connect(addr).await;
    let message = framed(&echo_request("hi"));
    for (content_type, echoed) in [
        (Some("text/plain"), "text/plain"),
        (Some("application/grpc-web"), "application/grpc-web"),
        (Some("application/json"), "application/json"),
        (None, ""),
    ] {
        let mut headers = vec![("te", "trailers")];
        headers.extend(content_type.map(|ct| ("content-type", ct)));
        let answer = send(
            &mut sender,
            Method::POST,
            "/test.Echo/Echo",
            &headers,
            &[&message],
        )
        .await;
        let expected = format!("invalid gRPC request content-type \"{echoed}\"");
        assert_refused(&mut sender, answer, 415, "3", &expected).await;
    }
    // Only the well-formed calls reached the endpoint.
    assert_eq!(events.outcomes().len(), 4);
    assert!(events.outcomes().iter().all(Option::is_none));
}

#[tokio::test]
async fn a_method_other_than_post_is_405() {
    let (addr, events) = checked_server(true).await;
    let mut sender = connect(addr).await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let expected =
            format!("Received a HEADERS frame with :method \"{method}\" which should be POST");
        let answer = send(&mut sender, method, "/test.Echo/Echo", &GRPC, &[]).await;
        assert_refused(&mut sender, answer, 405, "13", &expected).await;
    }
    assert_eq!(events.outcomes().len(), 3);
}

#[tokio::test]
async fn a_missing_te_is_refused_as_the_c_core_does() {
    let (addr, events) = checked_server(true).await;
    let mut sender = connect(addr).await;
    let message = framed(&echo_request("hi"));
    let headers = [("content-type", "application/grpc")];
    let answer = send(
        &mut sender,
        Method::POST,
        "/test.Echo/Echo",
        &headers,
        &[&message],
    )
    .await;
    assert_refused(&mut sender, answer, 200, "2", "Missing :te header").await;
    assert_eq!(events.outcomes().len(), 1);
}

#[tokio::test]
async fn a_missing_te_can_be_allowed() {
    let (addr, _events) = checked_server(false).await;
    let mut sender = connect(addr).await;
    let message = framed(&echo_request("hi"));
    let headers = [("content-type", "application/grpc")];
    let answer = send(
        &mut sender,
        Method::POST,
        "/test.Echo/Echo",
        &headers,
        &[&message],
    )
    .await;
    assert_eq!(
        (answer.http, &*answer.grpc_status),
        (200, "0"),
        "{answer:?}"
    );
}

const SECOND_MESSAGE: &str =
    "cardinality violation: received more than one request message for a method that takes one";

#[tokio::test]
async fn a_second_message_on_a_unary_call_is_internal() {
    let (addr, events) = checked_server(true).await;
    let mut sender = connect(addr).await;
    let first = framed(&echo_request("one"));
    let second = framed(&echo_request("two"));

    // In separate DATA frames, and in one.
    let answer = send(
        &mut sender,
        Method::POST,
        "/test.Echo/Echo",
        &GRPC,
        &[&first, &second],
    )
    .await;
    assert_refused(&mut sender, answer, 200, "13", SECOND_MESSAGE).await;
    let both = [first.clone(), second].concat();
    let answer = send(
        &mut sender,
        Method::POST,
        "/test.Echo/Echo",
        &GRPC,
        &[&both],
    )
    .await;
    assert_refused(&mut sender, answer, 200, "13", SECOND_MESSAGE).await;

    // Even the first byte of a second message is one too many.
    let answer = send(
        &mut sender,
        Method::POST,
        "/test.Echo/Echo",
        &GRPC,
        &[&first, &[0]],
    )
    .await;
    assert_refused(&mut sender, answer, 200, "13", SECOND_MESSAGE).await;

    // The health service's unary Check is counted too (from its descriptors).
    let check = framed(&tonic_health::pb::HealthCheckRequest::default());
    let answer = send(
        &mut sender,
        Method::POST,
        "/grpc.health.v1.Health/Check",
        &GRPC,
        &[&check, &check],
    )
    .await;
    assert_refused(&mut sender, answer, 200, "13", SECOND_MESSAGE).await;

    // The endpoint never saw the refused calls, only the well-formed ones after each.
    assert_eq!(events.outcomes(), [None, None, None, None]);
}

#[tokio::test]
async fn a_streaming_method_takes_many_messages() {
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

    let (addr, _events) = checked_server(true).await;
    let mut sender = connect(addr).await;
    let list = framed(&ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    });
    let answer = send(
        &mut sender,
        Method::POST,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        &GRPC,
        &[&list, &list, &list],
    )
    .await;
    assert_eq!(
        (answer.http, &*answer.grpc_status),
        (200, "0"),
        "{answer:?}"
    );
    // Three answers came back.
    let mut rest = &answer.body[..];
    let mut answers = 0;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        ServerReflectionResponse::decode(&rest[5..5 + len]).unwrap();
        rest = &rest[5 + len..];
        answers += 1;
    }
    assert_eq!(answers, 3);
}
