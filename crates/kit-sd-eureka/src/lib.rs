//! Eureka service discovery for kit: an [`Instancer`](kit::sd::Instancer) polling Eureka's
//! apps API and a [`Registrar`](kit::sd::Registrar) with heartbeats (Go kit's `sd/eureka`).
//!
//! # The model
//!
//! - **Discovery** ([`Client::instancer`] with an [`AppQuery`]) reads
//!   `GET <service URL>/apps/<APP>` (JSON, `Accept: application/json`) every
//!   [`interval`](AppQuery::interval): Eureka has no watch, so polling is the protocol, and
//!   each answer is the application's whole set. Only `UP` instances are kept; an instance
//!   is `ipAddr:port` (`hostName:port` when it has no address). An application Eureka does
//!   not know (`404`: it exists only while it has instances) is an empty set, not an error,
//!   so a misspelt service URL shows as no instances: check it if a set stays empty.
//! - **Failures** (server unreachable, an unreadable answer, any other status) are reported
//!   with [`Publisher::fail`](kit::sd::Publisher::fail), which keeps the last good set: an
//!   [`Endpointer`](kit::sd::Endpointer) keeps serving it. The next read comes after a
//!   backoff ([`AppQuery::backoff`]: 100 ms doubling, never longer than the interval).
//! - **Registration** ([`Client::registrar`] with a [`Registration`]) registers the
//!   instance (`POST /apps/<APP>`, status `UP`), sends heartbeats
//!   (`PUT /apps/<APP>/<instanceId>`) from a background task, registers again when a
//!   heartbeat is answered `404` (the server lost it), and cancels it on deregistration
//!   (`DELETE /apps/<APP>/<instanceId>`). A process that dies without deregistering is
//!   dropped by Eureka when its lease runs out.
//! - **Credentials**: HTTP basic auth from the service URL's `user:password@`
//!   (percent-decoded, as Spring Cloud writes them) or `Client::basic_auth`. The password
//!   is in no `Debug` output and no error (their URL has no credentials); a `401` is an
//!   `Unauthenticated` error that says whether credentials were sent.
//! - **TLS** (feature `tls`): `https://` service URLs with `Client::tls` and a `Tls`
//!   (kit-http's: CA certificates in PEM, a client certificate for mutual TLS); rustls on
//!   *ring*.
//!
//! Mind the server's own delays: a real Eureka server answers reads from a cache refreshed
//! every 30 seconds by default, and evicts expired leases every 60 seconds (not at all in
//! self-preservation mode), so a change can take that long to reach an instancer whatever
//! its interval.
//!
//! ```no_run
//! use std::time::Duration;
//! use kit::sd::{Endpointer, Instance, Registrar};
//! use kit_sd_eureka::{AppQuery, Client, Registration};
//!
//! # async fn run() -> Result<(), kit::Error> {
//! let eureka = Client::new("http://127.0.0.1:8761/eureka")?;
//! let registrar = eureka.registrar(Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081));
//! registrar.register().await?;
//! let instancer = eureka.instancer(AppQuery::new("addsvc").interval(Duration::from_secs(5)));
//! let endpointer = Endpointer::new(&instancer, |instance: &Instance| Ok(instance.clone()));
//! # registrar.deregister().await?;
//! # Ok(()) }
//! ```
//!
//! # What it was tested against
//!
//! **Not against a real Eureka server**: Eureka is a Java web application that Debian does
//! not package, and nothing else may be downloaded on the machines kit is built and tested
//! on. The tests run against the stand-in in `kit_testkit::eureka`, an in-process server
//! written from Eureka's documented REST operations (JSON): registration with Eureka's
//! validation messages, heartbeats answered `404` for an unknown instance, cancellation,
//! the application query, and leases that expire without heartbeats; basic auth required
//! with a `401` as Spring Security answers it (right, wrong and missing credentials); and,
//! behind kit-testkit's TLS front (`kit_testkit::tls`), HTTPS with the right CA and
//! another CA. Also tested there: an instance registered and cancelled again and again
//! beside a stable one, and the instancer's attempts against a server that is down counted
//! (`kit_testkit::attempts`) against its backoff. Its module docs list where it is simpler
//! than Eureka (no response cache, no self-preservation, exact lease
//! expiry). The instancer also reads the older answer shapes (a lone instance as an object,
//! a port number as a string), checked by a unit test only.
//!
//! # Dependencies
//!
//! HTTP goes through `kit-http`'s client (hyper 1 and hyper-util's connection pool, which
//! every kit service links anyway), JSON through `serde_json`. No Eureka client crate: four
//! REST calls are smaller than any of them.

mod client;
mod instancer;
mod registrar;

pub use client::Client;
pub use instancer::AppQuery;
/// The TLS settings of [`Client::tls`] (kit-http's).
#[cfg(feature = "tls")]
pub use kit_http::client::Tls;
pub use registrar::{EurekaRegistrar, Registration};
