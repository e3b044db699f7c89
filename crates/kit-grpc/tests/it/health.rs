//! The standard health service, asked through tonic-health's own client.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;

use kit_grpc::health::ServingStatus;

use crate::pb;
use crate::support::TestServer;

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
