//! Service discovery on etcd v3 for kit: an [`Instancer`](kit::sd::Instancer) over a key
//! prefix and a [`Registrar`] that keeps an instance's key under a lease.
//!
//! TODO: crate docs.

mod backoff;
mod client;
mod error;
mod instancer;
mod registrar;

pub use client::{Client, Config};
pub use registrar::Registrar;

/// The prefix under which kit's services register the instances of `service`'s
/// `transport` listener: `/services/<service>/<transport>/`. An instance's key is this
/// prefix followed by its `host:port`, and its value is the `host:port`, so that Go kit's
/// etcd instancer reads the same keys.
///
/// ```
/// assert_eq!(kit_sd_etcd::service_prefix("addsvc", "grpc"), "/services/addsvc/grpc/");
/// ```
pub fn service_prefix(service: &str, transport: &str) -> String {
    format!("/services/{service}/{transport}/")
}
