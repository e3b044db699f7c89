//! gRPC server reflection, `grpc.reflection.v1` and `grpc.reflection.v1alpha`.
//!
//! Reflection lets tools that have no copy of a service's `.proto` files (`grpcurl`,
//! `grpcui`, Postman, `evans`) list a server's services and fetch their descriptors, so an
//! operator can call a method by name. tonic-reflection serves it from the encoded
//! `FileDescriptorSet` that the proto compiler produced alongside the generated code
//! (tonic-prost-build's `file_descriptor_set_path`, or `protox::compile(..)` encoded with
//! prost); these functions build its two versions: v1, and v1alpha for older tools.
//!
//! ```
//! # fn main() -> Result<(), kit_grpc::reflection::Error> {
//! // Normally `include_bytes!` of the descriptor set written at build time; here the
//! // health service's own.
//! const DESCRIPTORS: &[u8] = kit_grpc::health::FILE_DESCRIPTOR_SET;
//!
//! let routes = tonic::service::Routes::new(kit_grpc::reflection::service(&[DESCRIPTORS])?)
//!     .add_service(kit_grpc::reflection::service_v1alpha(&[DESCRIPTORS])?);
//! # let _ = routes;
//! # Ok(()) }
//! ```

use tonic_reflection::server::{Builder, v1, v1alpha};

pub use tonic_reflection::server::Error;

/// The v1 reflection service, describing every service in `descriptor_sets` (encoded
/// `FileDescriptorSet`s) and the reflection service itself.
///
/// # Errors
/// If a descriptor set does not decode or is inconsistent (a type it refers to is missing).
pub fn service(
    descriptor_sets: &[&'static [u8]],
) -> Result<v1::ServerReflectionServer<impl v1::ServerReflection + use<>>, Error> {
    descriptor_sets
        .iter()
        .fold(Builder::configure(), |builder, set| {
            builder.register_encoded_file_descriptor_set(set)
        })
        .build_v1()
}

/// The v1alpha reflection service (for tools that predate v1), describing the same as
/// [`service`].
///
/// # Errors
/// As [`service`].
pub fn service_v1alpha(
    descriptor_sets: &[&'static [u8]],
) -> Result<v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection + use<>>, Error> {
    descriptor_sets
        .iter()
        .fold(Builder::configure(), |builder, set| {
            builder.register_encoded_file_descriptor_set(set)
        })
        .build_v1alpha()
}
