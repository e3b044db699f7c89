//! The standard gRPC health service, `grpc.health.v1.Health`.
//!
//! Load balancers, Kubernetes probes and `grpc_health_probe` ask a gRPC server whether it
//! (service name `""`) or one of its services is `SERVING`, through the protocol in
//! [gRPC's health checking spec](https://github.com/grpc/grpc/blob/master/doc/health-checking.md).
//! tonic-health implements it; [`service`] sets it up the way a kit server usually wants it:
//! the server and each named service `SERVING` from the start, and a [`HealthReporter`] to
//! change that later, for instance to `NOT_SERVING` when shutdown starts, so that balancers
//! stop sending new calls while in-flight ones drain.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kit_grpc::health::{self, ServingStatus};
//!
//! let (reporter, health) = health::service(&["pb.Add"]).await;
//! let routes = tonic::service::Routes::new(health);
//! // ... serve `routes`; when shutdown starts:
//! reporter.set_service_status("", ServingStatus::NotServing).await;
//! # let _ = routes;
//! # }
//! ```

pub use tonic_health::ServingStatus;
pub use tonic_health::pb::FILE_DESCRIPTOR_SET;
pub use tonic_health::pb::health_server::{Health, HealthServer};
pub use tonic_health::server::HealthReporter;

/// The health service, reporting the server (`""`) and each of `services` (full names,
/// such as `"pb.Add"`; tonic-generated servers have them as `SERVICE_NAME`) as `SERVING`,
/// and the reporter that changes their statuses.
///
/// A service that was never reported is answered `NOT_FOUND`, as the spec asks.
pub async fn service(services: &[&str]) -> (HealthReporter, HealthServer<impl Health + use<>>) {
    let (reporter, server) = tonic_health::server::health_reporter();
    for name in services {
        reporter
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    (reporter, server)
}
