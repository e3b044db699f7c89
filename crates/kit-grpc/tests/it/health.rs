//! The standard health service, asked through tonic-health's own client.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kit::shutdown::Shutdown;
use kit_grpc::health::ServingStatus;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::pb;
use crate::support::{Events, TestServer, channel, routes_with_shutdown, within_bound};

async fn check(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> Result<Wire, tonic::Status> {
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

#[tokio::test]
async fn the_server_and_its_services_are_serving() {
    let server = TestServer::start().await;
    let mut client = HealthClient::new(server.channel());
    assert_eq!(check(&mut client, "").await.unwrap(), Wire::Serving);
    assert_eq!(
        check(&mut client, pb::echo_server::SERVICE_NAME)
            .await
            .unwrap(),
        Wire::Serving
    );
    let status = check(&mut client, "test.Unknown").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn the_reporter_changes_what_is_reported() {
    let server = TestServer::start().await;
    server
        .health
        .set_service_status(pb::echo_server::SERVICE_NAME, ServingStatus::NotServing)
        .await;
    let mut client = HealthClient::new(server.channel());
    assert_eq!(
        check(&mut client, pb::echo_server::SERVICE_NAME)
            .await
            .unwrap(),
        Wire::NotServing
    );
    assert_eq!(check(&mut client, "").await.unwrap(), Wire::Serving);
}

/// A health client's `Watch` stream for `service`.
async fn watch(
    client: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> tonic::Streaming<tonic_health::pb::HealthCheckResponse> {
    client
        .watch(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next status a watch reports.
async fn next_status(stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>) -> Wire {
    within_bound("the next status", stream.message())
        .await
        .unwrap()
        .expect("a status")
        .status()
}

#[tokio::test]
async fn everything_is_not_serving_once_the_stop_begins() {
    let server = TestServer::start().await; // health follows a shutdown with a long drain delay
    let mut client = HealthClient::new(server.channel());
    let mut watching = watch(&mut client, pb::echo_server::SERVICE_NAME).await;
    assert_eq!(next_status(&mut watching).await, Wire::Serving);

    let stop = tokio::spawn({
        let shutdown = server.shutdown.clone();
        async move { shutdown.stop().await }
    });
    server.shutdown.not_ready().await;

    for service in ["", pb::echo_server::SERVICE_NAME] {
        assert_eq!(check(&mut client, service).await.unwrap(), Wire::NotServing);
    }
    let status = check(&mut client, "test.Unknown").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    // Open and new watches hear it too.
    assert_eq!(next_status(&mut watching).await, Wire::NotServing);
    let mut late = watch(&mut client, "").await;
    assert_eq!(next_status(&mut late).await, Wire::NotServing);
    stop.abort();
}

/// Serves the test routes with health following `shutdown`; the server itself stops when
/// `shutdown` drains, with a grace period longer than any test.
async fn serve_following(shutdown: &Shutdown) -> (SocketAddr, JoinHandle<()>) {
    let events = Arc::new(Events::default());
    let (routes, _reporter) = routes_with_shutdown(&events, shutdown).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(
        kit_grpc::serve(listener, routes)
            .with_graceful_shutdown(shutdown.draining())
            .grace_period(Duration::from_secs(3600))
            .into_future(),
    );
    (addr, serving)
}

#[tokio::test]
async fn open_watches_hear_not_serving_then_end_and_do_not_hold_the_drain() {
    let shutdown = Shutdown::new(Duration::ZERO);
    let (addr, serving) = serve_following(&shutdown).await;
    let mut client = HealthClient::new(channel(addr));
    let mut watching = watch(&mut client, "").await;
    assert_eq!(next_status(&mut watching).await, Wire::Serving);

    tokio::spawn({
        let shutdown = shutdown.clone();
        async move { shutdown.stop().await }
    });
    assert_eq!(next_status(&mut watching).await, Wire::NotServing);
    let end = within_bound("the watch's end", watching.message())
        .await
        .unwrap_err();
    assert_eq!(
        (end.code(), end.message()),
        (tonic::Code::Unavailable, "server shutting down")
    );

    // The server drains at once instead of waiting its hour-long grace period for the
    // watch (the bound only keeps a broken build from hanging).
    within_bound("serve's return", serving).await.unwrap();
}
