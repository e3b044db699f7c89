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
//! # TLS
//!
//! With the crate's `tls` feature, `Config::tls` speaks TLS to etcd: a `Tls` names the
//! CA to trust (the only root; the system's are not used) and, for an etcd started with
//! `--client-cert-auth`, the client certificate and key to present. `Tls` is kit-http's
//! client TLS settings (`kit_http::client::Tls`, re-exported here), so an HTTPS pool and
//! an etcd client can share one. The PEM text is checked when the `Tls` is made
//! (`InvalidArgument`: a file name given for its contents, a file without a certificate
//! or key, a key that is not the certificate's: `the client certificate is not usable:
//! keys may not be consistent: KeyMismatch`). Endpoints without a scheme are then
//! `https://`; an `http://` endpoint with TLS settings, or an `https://` one without them,
//! is an `InvalidArgument` error at the first request. The other mistakes are told apart
//! and said plainly, each with its code:
//!
//! - etcd's certificate not signed by the CA given: `Unavailable`, `...: etcd's
//!   certificate is not trusted: invalid peer certificate: UnknownIssuer`;
//! - no client certificate where etcd requires one: `Unauthenticated`, `...: etcd requires
//!   a client certificate and refused the connection without one (TLS alert
//!   BadCertificate); give one with Tls::client_certificate`;
//! - a client certificate etcd does not trust: `Unauthenticated`, `...: etcd refused the
//!   client certificate (TLS alert BadCertificate): it takes those signed by a CA in its
//!   --trusted-ca-file`;
//! - a client without TLS settings talking to an etcd that serves TLS: `Unavailable`,
//!   `...: etcd closed a plain HTTP/2 connection at its first bytes; if it serves TLS,
//!   give https:// endpoints and Config::tls`.
//!
//! The two refusals and the plain connection need a second look: under TLS 1.3 the client
//! finishes its handshake before etcd checks the client's certificate, so etcd's refusal
//! (a TLS alert) arrives after the client has started sending, and the reset that follows
//! usually destroys it; the request only sees "broken pipe" or "connection closed". When
//! a request fails that way, the client makes one connection of its own that sends
//! nothing after its handshake (or, without TLS, only the HTTP/2 preface) and reads what
//! etcd answers, waiting at most 2 s; its finding replaces the bare error.
//!
//! TLS runs on rustls with the *ring* crypto provider (etcd-client's `tls-ring`), or on
//! the process's default provider if one was installed
//! (`rustls::crypto::CryptoProvider::install_default`). Only ring is built, so rustls
//! never meets two providers and has to be told which to use.
//!
//! # Tested with
//!
//! etcd 3.4.23 (Debian 12's `etcd-server`), started by each test on loopback ports with a
//! temporary data dir (`kit_testkit::etcd`): reading and watching, leases kept alive,
//! replaced when lost and expiring when their keep-alives stop, etcd down at start (and
//! the instancer's attempts meanwhile counted against its backoff), restarted with and without its data, compacted history, flapping instances, a factory
//! failing for one instance, and auth with right, wrong and missing credentials. With the
//! `tls` feature (as the project's test script runs them): etcd serving TLS only with
//! `--client-cert-auth` (certificates from a CA made by the test), the instancer and
//! registrar over mutual TLS through a restart, and each mistake above.
//!
//! # Latency
//!
//! Measured to the balancer: from a `register()` call until a call through a round-robin
//! [`Balanced`](kit::sd::Balanced) over an instancer of the prefix reaches the new
//! instance: median 1.6 ms, max 8.6 ms; from `deregister()` until no call reaches it and the
//! balancer no longer holds it: median 1.4 ms, max 10.9 ms (20 rounds, another instance
//! registered throughout, etcd 3.4.23 on loopback, 2-CPU shared VM under a load average of
//! about 5, 2026-11-30; `cargo bench -p kit-sd-etcd --bench latency`).
//!
//! # Features and dependencies
//!
//! | Feature | What it adds |
//! |---------|--------------|
//! | `tls`   | `Config::tls` and `Tls` (kit-http's, with its `tls` feature): rustls on ring, through etcd-client's `tls-ring` |
//!
//! [etcd-client](https://docs.rs/etcd-client) 0.21 speaks etcd's v3 gRPC API (on tonic,
//! which kit's gRPC transport uses too); it needs `protoc` to build (Debian's
//! `protobuf-compiler`).
//!
//! `tls` is off by default because it is not free: rustls, ring (whose C and assembly a
//! build script compiles), webpki and their helpers add 45 to 65 s of compile time to a
//! clean debug build of the crate, about a quarter more CPU time (user+sys 180 s → 224 s),
//! though only 7 s of wall-clock time (189 s → 196 s) on two cores, where they build
//! beside tonic (2-CPU shared VM, 2026-11-30, `cargo build --timings`). It uses
//! etcd-client's rustls rather than OpenSSL (`tls-openssl`), which would link the system's
//! libssl, and ring rather than aws-lc-rs, whose build is the heavier of the two.

mod client;
mod error;
mod instancer;
mod probe;
mod registrar;

pub use client::{Client, Config};
/// The TLS settings: kit-http's client settings, shared by every kit client that speaks TLS.
#[cfg(feature = "tls")]
pub use kit_http::client::Tls;
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
