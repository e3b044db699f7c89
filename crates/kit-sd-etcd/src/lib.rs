//! Service discovery on etcd v3 for kit (Go kit's `sd/etcdv3`): an
//! [`Instancer`](kit::sd::Instancer) over a key prefix, and a [`Registrar`] that keeps this
//! process's instance under that prefix with a lease.
//!
//! ```no_run
//! use kit::sd::{Endpointer, Instance, Registrar as _};
//! use kit_sd_etcd::{Client, Config, service_prefix};
//!
//! # async fn demo() -> Result<(), kit::Error> {
//! let client = Client::new(Config::new(["127.0.0.1:2379"]));
//! let prefix = service_prefix("addsvc", "http"); // "/services/addsvc/http/"
//!
//! // A server registers its listener...
//! let addr = "127.0.0.1:8081";
//! let registrar = client.registrar(format!("{prefix}{addr}"), addr);
//! registrar.register().await?;
//!
//! // ...and clients discover it.
//! let instancer = client.instancer(prefix);
//! let endpointer = Endpointer::new(&instancer, |instance: &Instance| {
//!     Ok::<_, kit::Error>(instance.addr().to_owned()) // a transport's client, really
//! });
//! # registrar.deregister().await?;
//! # Ok(()) }
//! ```
//!
//! # The layout in etcd
//!
//! An instance is one key under a service's prefix whose **value is the instance's
//! address**; by kit's convention the key is the prefix followed by that address
//! ([`service_prefix`]: `/services/<service>/<transport>/<host:port>` →
//! `<host:port>`), the layout Go kit's `etcdv3` instancer and registrar use, so Go kit and
//! kit services find each other. The instancer reads values, so any key naming works, and
//! two keys with one value are one instance.
//!
//! # The instancer
//!
//! [`Client::instancer`] reads every key under the prefix, publishes the set, then watches
//! the prefix **from the revision after that read**, so that no change between the read
//! and the watch is missed. Each watch response is applied whole, and the instancer sends
//! whole sets (see [`kit::sd::Event`]), never diffs. When the watch fails (etcd down or
//! restarted, the connection lost), the error is published ([`kit::sd::Publisher::fail`]:
//! endpointers keep the last good set) and the watch is opened again, after a backoff,
//! **from the revision after the last one applied**: etcd replays what happened meanwhile,
//! each change once. Two cases need a fresh read instead, and get one:
//!
//! - that revision is **compacted** (etcd cancels the watch with its compaction revision);
//! - etcd's current revision is **below** the last one applied: the store went back in
//!   time, having lost its data (a member replaced by a fresh one). The case this check
//!   cannot see is a fresh store that has already passed the old revision when the watch
//!   comes back; its changes are then followed from there on, but keys that were only in
//!   the old store stay until the instancer is made again.
//!
//! If etcd is down when the instancer starts, its first event is the error (code
//! `Unavailable`, with etcd's address, what failed and why, e.g. `etcd at
//! 127.0.0.1:2379: reading /services/addsvc/http/*: tcp connect error: Connection refused
//! (os error 111)`), and it retries with backoff ([`Config::retry_backoff`]) until etcd
//! answers.
//!
//! # The registrar
//!
//! [`Client::registrar`] makes a [`Registrar`] (kit's [`kit::sd::Registrar`]): it puts the
//! key under a lease with a TTL (10 s unless [`Registrar::ttl`] says otherwise), renews the
//! lease three times per TTL in a background task, and when the lease is lost (revoked, or
//! expired while etcd could not be reached for longer than the TTL, or etcd came back
//! without its data) grants a new one and puts the key again. Deregistering deletes the key
//! and revokes the lease. A process that dies without deregistering leaves its key until
//! the lease expires: at most one TTL.
//!
//! # Credentials
//!
//! [`Config::credentials`] authenticates with a user and password (etcd with auth enabled);
//! the token is renewed when etcd refuses it (it expired, or etcd restarted and forgot it).
//! Refused credentials are `Unauthenticated` errors (`...: authentication failed, invalid
//! user ID or password`), missing ones too (`...: authentication is enabled on etcd and no
//! credentials were given`), and a prefix the user may not use is `PermissionDenied`.
//!
//! TLS (`https://` endpoints, client certificates) is not supported yet: etcd-client is
//! built without its TLS features, which would bring rustls and a crypto provider.
//!
//! # Tested with
//!
//! etcd 3.4.23 (Debian 12's `etcd-server`), started by each test on loopback ports with a
//! temporary data dir (`kit_testkit::etcd`): reading and watching, leases kept alive,
//! replaced when lost and expiring when their keep-alives stop, etcd down at start,
//! restarted with and without its data, compacted history, flapping instances, a factory
//! failing for one instance, and auth with right, wrong and missing credentials.
//!
//! # Latency
//!
//! From a `register()` call until an [`Endpointer`](kit::sd::Endpointer) over an
//! instancer of the prefix holds the new instance: median 3.2 ms, max 7.6 ms; from
//! `deregister()` until it has dropped it: median 2.0 ms, max 8.6 ms (20 rounds, etcd
//! 3.4.23 on loopback, 2-CPU shared VM, 2026-11-30; `cargo bench -p kit-sd-etcd --bench
//! latency`).
//!
//! # Dependencies
//!
//! [etcd-client](https://docs.rs/etcd-client) 0.21 speaks etcd's v3 gRPC API (on tonic,
//! which kit's gRPC transport uses too); it needs `protoc` to build (Debian's
//! `protobuf-compiler`). No TLS feature is enabled.

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
