//! gRPC server reflection, `grpc.reflection.v1` and `grpc.reflection.v1alpha`.
//!
//! Reflection lets tools that have no copy of a service's `.proto` files (`grpcurl`,
//! `grpcui`, Postman, `evans`) list a server's services and fetch their descriptors, so an
//! operator can call a method by name. tonic-reflection serves it from the encoded
//! `FileDescriptorSet` that the proto compiler produced alongside the generated code
//! (tonic-prost-build's `file_descriptor_set_path`, or `protox::compile(..)` encoded with
//! prost).
//!
//! [`add_with_health`] adds both versions (v1, and v1alpha for older tools such as
//! grpcurl before 1.9) to a service's routes, describing its own services and the
//! [health](crate::health) service that kit servers serve beside them, so that `grpcurl
//! list` shows `grpc.health.v1.Health` too. [`service`] and [`service_v1alpha`] build one
//! version each, describing exactly the sets given.
//!
//! ```
//! # fn main() -> Result<(), kit_grpc::reflection::Error> {
//! # let (_reporter, health) = (0, tonic_health::pb::health_server::HealthServer::new(
//! #     tonic_health::server::HealthService::from_health_reporter(Default::default())));
//! // Normally `include_bytes!` of the descriptor set written at build time; here the
//! // reflection service's own stands in for the service's.
//! const DESCRIPTORS: &[u8] = tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET;
//!
//! let routes = tonic::service::Routes::new(health); // and the service's own servers
//! let routes = kit_grpc::reflection::add_with_health(routes, &[DESCRIPTORS])?;
//! # let _ = routes;
//! # Ok(()) }
//! ```

use tonic::service::Routes;
use tonic_reflection::server::{Builder, v1, v1alpha};

pub use tonic_reflection::server::Error;

/// The encoded `FileDescriptorSet` of the v1 reflection service itself, to know its
/// methods (as the transport metrics do).
pub use tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET as FILE_DESCRIPTOR_SET_V1;

/// The encoded `FileDescriptorSet` of the v1alpha reflection service itself.
pub use tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET as FILE_DESCRIPTOR_SET_V1ALPHA;

/// The v1 reflection service, describing every service in `descriptor_sets` (encoded
/// `FileDescriptorSet`s) and the reflection service itself.
///
/// # Errors
/// If a descriptor set does not decode or is inconsistent (a type it refers to is missing).
pub fn service(
    descriptor_sets: &[&'static [u8]],
) -> Result<v1::ServerReflectionServer<impl v1::ServerReflection + use<>>, Error> {
    builder(descriptor_sets.iter().copied()).build_v1()
}

/// The v1alpha reflection service (for tools that predate v1), describing the same as
/// [`service`].
///
/// # Errors
/// As [`service`].
pub fn service_v1alpha(
    descriptor_sets: &[&'static [u8]],
) -> Result<v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection + use<>>, Error> {
    builder(descriptor_sets.iter().copied()).build_v1alpha()
}

/// Adds both reflection services (v1 and v1alpha) to `routes`, describing every service in
/// `descriptor_sets`, the [health](crate::health) service and reflection itself.
///
/// # Errors
/// As [`service`].
pub fn add_with_health(routes: Routes, descriptor_sets: &[&'static [u8]]) -> Result<Routes, Error> {
    let with_health = || {
        descriptor_sets
            .iter()
            .copied()
            .chain([crate::health::FILE_DESCRIPTOR_SET])
    };
    let v1 = builder(with_health()).build_v1()?;
    let v1alpha = builder(with_health()).build_v1alpha()?;
    Ok(routes.add_service(v1).add_service(v1alpha))
}

/// A reflection builder with `descriptor_sets` registered.
fn builder(descriptor_sets: impl Iterator<Item = &'static [u8]>) -> Builder<'static> {
    descriptor_sets.fold(
        Builder::configure(),
        Builder::register_encoded_file_descriptor_set,
    )
}
