//! What a gRPC listener serves: the service's own gRPC services, with health, reflection
//! and request checks beside them.

use std::convert::Infallible;

use kit::Error;
use kit::shutdown::Shutdown;
use kit_grpc::checks::{RequestChecks, RequestChecksLayer};
use tonic::server::NamedService;
use tonic::service::Routes;
use tower_layer::Layer;

/// The gRPC services of one listener, for [`App::grpc`](crate::App::grpc), which serves
/// them as a kit server should:
///
/// - the [health service](kit_grpc::health) reports the server (`""`) and each added
///   service `SERVING`, and turns `NOT_SERVING` as soon as the stop begins;
/// - [reflection](kit_grpc::reflection) (v1 and v1alpha) describes the services of the
///   [descriptor sets](GrpcServices::descriptor_set) given, and the health service;
/// - gRPC's [request checks](kit_grpc::checks) refuse what is not gRPC, and count the
///   messages of the single-message methods of the descriptor sets.
///
/// ```
/// # use tonic_health::pb::health_server::{Health, HealthServer};
/// # fn service() -> HealthServer<impl Health> {
/// #     HealthServer::new(tonic_health::server::HealthService::from_health_reporter(Default::default()))
/// # }
/// # const FILE_DESCRIPTOR_SET: &[u8] = tonic_health::pb::FILE_DESCRIPTOR_SET;
/// use kit_app::GrpcServices;
///
/// // `service()`: a tonic-generated server such as `pb::add_server::AddServer::new(..)`;
/// // the descriptor set: its `.proto` files compiled at build time.
/// let services = GrpcServices::new()
///     .add_service(service())
///     .descriptor_set(FILE_DESCRIPTOR_SET);
/// # drop(services);
/// ```
#[derive(Debug, Default)]
pub struct GrpcServices {
    routes: Routes,
    names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    #[cfg(feature = "metrics")]
    metrics: Option<kit_http::metrics::ServerMetrics>,
}

/// The routes of a gRPC listener, ready to serve.
pub(crate) enum Served {
    /// Behind the request checks.
    Checked(RequestChecks<Routes>),
    /// Behind the request checks and the transport metrics.
    #[cfg(feature = "metrics")]
    Metered(kit_grpc::metrics::Metered<RequestChecks<Routes>>),
}

impl GrpcServices {
    /// No services yet (health and reflection are added when served).
    pub fn new() -> GrpcServices {
        GrpcServices::default()
    }

    /// Adds a service (usually a tonic-generated server), reported `SERVING` by the health
    /// service under its full name (`pb.Add`).
    pub fn add_service<S>(mut self, service: S) -> GrpcServices
    where
        S: tower_service::Service<
                http::Request<tonic::body::Body>,
                Error = Infallible,
                Response: axum::response::IntoResponse,
                Future: Send + 'static,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
    {
        self.routes = self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }

    /// Adds an encoded `FileDescriptorSet` describing the services (what the proto
    /// compiler wrote beside the generated code), for reflection and the request checks.
    pub fn descriptor_set(mut self, descriptor_set: &'static [u8]) -> GrpcServices {
        self.descriptor_sets.push(descriptor_set);
        self
    }

    /// Records every call of the listener in the transport metrics `names` (feature
    /// `metrics`; see [`kit_grpc::metrics`]): the methods of the descriptor sets, health's
    /// and reflection's under their paths, any other path as `route="other"`, the calls the
    /// request checks refuse included.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, names: &kit_http::metrics::ServerMetrics) -> GrpcServices {
        self.metrics = Some(names.clone());
        self
    }

    /// The routes to serve: the services, health following `shutdown`, reflection, all
    /// behind the request checks (and the transport metrics, when turned on).
    pub(crate) async fn into_routes(self, shutdown: &Shutdown) -> Result<Served, Error> {
        let (_reporter, health) =
            kit_grpc::health::service_with_shutdown(shutdown, &self.names).await;
        let routes = self.routes.add_service(health);
        let routes = kit_grpc::reflection::add_with_health(routes, &self.descriptor_sets)
            .map_err(|e| Error::internal(format!("building gRPC reflection: {e}")))?;
        let checks = RequestChecksLayer::from_descriptor_sets(&self.descriptor_sets)
            .map_err(|e| Error::internal(format!("reading the gRPC descriptors: {e}")))?;
        let checked = checks.layer(routes);
        #[cfg(feature = "metrics")]
        if let Some(names) = &self.metrics {
            let known: Vec<&[u8]> = self
                .descriptor_sets
                .iter()
                .copied()
                .chain([
                    kit_grpc::health::FILE_DESCRIPTOR_SET,
                    kit_grpc::reflection::FILE_DESCRIPTOR_SET_V1,
                    kit_grpc::reflection::FILE_DESCRIPTOR_SET_V1ALPHA,
                ])
                .collect();
            let layer = kit_grpc::metrics::MetricsLayer::new(names)
                .descriptor_sets(&known)
                .map_err(|e| Error::internal(format!("reading the gRPC descriptors: {e}")))?;
            return Ok(Served::Metered(layer.layer(checked)));
        }
        Ok(Served::Checked(checked))
    }
}
