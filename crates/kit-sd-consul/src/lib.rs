//! Consul service discovery for kit: an [`Instancer`](kit::sd::Instancer) over Consul's
//! health API and a [`Registrar`](kit::sd::Registrar) over its agent API (Go kit's
//! `sd/consul`).
//!
//! # The model
//!
//! - **Discovery** ([`Client::instancer`] with a [`HealthQuery`]) runs a loop of blocking
//!   queries on `GET /v1/health/service/<name>?passing=1&tag=..&index=..&wait=..`: each
//!   answer is the service's whole current set (Consul sends whole sets, and so do kit's
//!   instancers), and carries `X-Consul-Index`, which the next query sends back so that
//!   Consul holds it until something changes (or the wait runs out). An instance is
//!   `Service.Address:Service.Port`, with the node's address when the service has none.
//! - **Index rules**, as Consul's documentation asks of clients: an index that goes
//!   backwards starts over from 0; an index of 0 (an agent bug that would make every query
//!   return at once) starts over after a backoff. After any failed query the loop also
//!   starts over from 0, so that an agent that came back with another history answers at
//!   once instead of holding the query for a whole wait.
//! - **Failures** (agent unreachable, a refused token, an unreadable answer) are reported
//!   to the instancer's subscribers with [`Publisher::fail`](kit::sd::Publisher::fail),
//!   which keeps the last good set: an [`Endpointer`](kit::sd::Endpointer) keeps serving
//!   it. The loop retries after a backoff ([`HealthQuery::backoff`]: 100 ms doubling to
//!   30 s by default) until the agent answers again.
//! - **Registration** ([`Client::registrar`] with a [`Registration`]) registers a service
//!   with a TTL check through the local agent (`PUT /v1/agent/service/register`), passes
//!   the check from a background task (`PUT /v1/agent/check/pass/service:<id>`), registers
//!   again when the agent has lost it (a `404` there), and deregisters with
//!   `PUT /v1/agent/service/deregister/<id>`. A process that dies without deregistering
//!   stops passing its check: it turns critical after the TTL (and leaves `passing`
//!   queries), and Consul removes it after `DeregisterCriticalServiceAfter`.
//! - **ACLs**: [`Client::acl_token`] sends the token as `X-Consul-Token`. A refusal (`403`)
//!   is a `PermissionDenied` error that says which agent and call refused it and what to
//!   check.
//! - **TLS** (feature `tls`): `https://` agent addresses with `Client::tls` and a
//!   `Tls` (kit-http's: CA certificates in PEM, and a client certificate for an agent with
//!   `verify_incoming`); rustls on *ring*. A certificate from a CA not trusted fails the
//!   call with `Unavailable` ("TLS handshake with HOST failed: invalid peer certificate:
//!   UnknownIssuer"), and the instancer keeps its last good set; an agent that requires a
//!   client certificate and gets none fails it with `Unauthenticated` and a hint.
//!
//! ```no_run
//! use kit::sd::{Endpointer, Instance, Registrar};
//! use kit_sd_consul::{Client, HealthQuery, Registration};
//!
//! # async fn run() -> Result<(), kit::Error> {
//! let consul = Client::new("127.0.0.1:8500")?;
//! // This process: registered and kept passing until deregistered.
//! let registrar = consul.registrar(Registration::new("addsvc-1", "addsvc", "127.0.0.1", 8081));
//! registrar.register().await?;
//! // Its peers: every passing `addsvc` instance tagged `http`.
//! let instancer = consul.instancer(HealthQuery::new("addsvc").tag("http"));
//! let endpointer = Endpointer::new(&instancer, |instance: &Instance| Ok(instance.clone()));
//! # registrar.deregister().await?;
//! # Ok(()) }
//! ```
//!
//! # What it was tested against
//!
//! **Not against a real Consul**: Consul cannot be installed on the machines kit is built
//! and tested on (Debian does not package it, and nothing else may be downloaded there).
//! The tests run against the stand-in in `kit_testkit::consul`, an in-process server
//! written from Consul's documented HTTP API (v1, as documented for Consul 1.x): the health
//! endpoint with `passing`, `tag`, and blocking-query semantics (`index`, `wait`,
//! `X-Consul-Index`); agent registration with TTL checks that expire and critical services
//! that are reaped; check passes with Consul 1.x's `404` for an unknown check; ACL
//! refusals with `403`; over HTTPS, behind kit-testkit's TLS front (`kit_testkit::tls`):
//! registration and discovery with the right CA, a server certificate of another CA, and
//! a front that requires client certificates (with and without one). Also tested there: an
//! instance whose check flaps and one that registers and deregisters again and again (the
//! stable one never leaves the sets), and the instancer's attempts against an agent that
//! is down counted (`kit_testkit::attempts`) against its backoff. Its module docs list
//! where it is simpler than Consul. The client
//! also understands older agents' answer to a pass of an unknown check (`500 ... does not
//! have associated TTL`), checked by a unit test only.
//!
//! # Dependencies
//!
//! HTTP goes through `kit-http`'s client (hyper 1 and hyper-util's connection pool, which
//! every kit service links anyway), JSON through `serde_json`. No Consul client crate: the
//! three agent calls and one health query are smaller than any of them.

mod client;
mod instancer;
mod registrar;

pub use client::Client;
pub use instancer::HealthQuery;
/// The TLS settings of [`Client::tls`] (kit-http's).
#[cfg(feature = "tls")]
pub use kit_http::client::Tls;
pub use registrar::{ConsulRegistrar, Registration};
