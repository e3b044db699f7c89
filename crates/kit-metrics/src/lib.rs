//! Metrics backends for kit, as `metrics` recorders.
//!
//! Push backends (what they share, and how they aggregate and flush, is in [`push`]):
//!
//! | module | server | wire |
//! |---|---|---|
//! | [`statsd`] | a StatsD daemon (plain, DogStatsD, Telegraf) | UDP datagrams under the MTU |
//! | [`graphite`] | Graphite's carbon | plaintext protocol over TCP |
//! | [`influx`] | InfluxDB 1.x | line protocol, HTTP `POST /write` |
//!
//! Dependencies: `metrics` (the facade) and `metrics-util` (its lock-free storage, so that
//! recording is an atomic update); tokio for the flush task and sockets; hyper's client for
//! InfluxDB's HTTP API (the HTTP stack kit already builds).

pub mod graphite;
pub mod influx;
pub mod push;
pub mod statsd;
