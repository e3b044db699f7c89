//! kit-sd-etcd against a real etcd (Debian's `etcd-server`) on loopback ports.

mod auth;
mod faults;
mod instancer;
mod registrar;
mod support;
#[cfg(feature = "tls")]
mod tls;
