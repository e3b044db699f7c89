//! # kit-metrics
//!
//! Where the metrics a kit service records go. Services and kit's middleware
//! ([`kit::middleware::metrics`](https://docs.rs/kit)) record through the
//! [`metrics`](https://docs.rs/metrics) facade; the process installs one recorder, and
//! this crate provides them.
//!
//! Read by pulling:
//!
//! - [`prometheus`]: a recorder whose values render as Prometheus's text exposition, for
//!   `GET /metrics` on the debug listener (`kit-app`'s `metrics` feature serves it). Histograms
//!   are classic bucketed histograms (`_bucket{le=..}`, `_sum`, `_count`), as Go kit's
//!   addsvc exports them, so `histogram_quantile` works in Prometheus.
//! - [`expvar`]: the same values as one flat JSON object, Go's `/debug/vars` style:
//!   counters and gauges as numbers, histograms as their count, sum and estimated
//!   quantiles. Both read the one Prometheus recorder, so they never disagree and a call
//!   pays for one recorder only.
//!
//! Pushed (what they share, and how they aggregate and flush, is in [`push`]):
//!
//! | module | server | wire |
//! |---|---|---|
//! | [`statsd`] | a StatsD daemon (plain, DogStatsD, Telegraf) | UDP datagrams under the MTU |
//! | [`graphite`] | Graphite's carbon | plaintext protocol over TCP |
//! | [`influx`] | InfluxDB 1.x | line protocol, HTTP `POST /write` |
//!
//! ## Tested against
//!
//! Real servers on loopback, started by the tests through `kit-testkit`: Prometheus 2.42
//! (Debian 12's `prometheus`; the `addsvc` example's tests let it scrape the debug listener
//! and read the values back through its query API), the npm `statsd` daemon (read back
//! through its management interface), InfluxDB 1.6 (Debian's `influxdb`, read back with
//! InfluxQL) and carbon-cache 1.1 (Debian's `graphite-carbon`, read back from its whisper
//! files). DogStatsD and InfluxDB-tagged StatsD lines have no server here: they are checked
//! at the wire against the documented formats.
//!
//! ## Dependencies
//!
//! The Prometheus recorder is this crate's own, on `metrics-util`'s registry (lock-free
//! storage, so that recording is an atomic update), with fixed buckets counted in place and
//! its own text exposition. It replaced `metrics-exporter-prometheus`, which was measured to
//! be the dominant cost of kit's request metrics: its histograms keep every raw sample (a
//! generation bump and an append to a lock-free block list, a 1 KB block allocated per 64
//! samples, drained by an upkeep thread), about 165 instructions per record, and a call
//! through kit's request metrics into it cost 207 ns, over the 150 ns target; a record into
//! this recorder is about 25 instructions, no allocation, and the call 86 ns (the
//! repository's `benches/README.md`). `serde_json` writes the expvar document.
//! `metrics-util`'s registry also backs the push recorders; tokio runs their flush task and
//! sockets, and hyper's client (the HTTP stack kit already builds) talks to InfluxDB's HTTP
//! API.

pub mod expvar;
pub mod graphite;
pub mod influx;
pub mod prometheus;
pub mod push;
pub mod statsd;
