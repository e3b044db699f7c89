//! # kit-metrics
//!
//! Where the metrics a kit service records go. Services and kit's middleware
//! ([`kit::middleware::metrics`](https://docs.rs/kit)) record through the
//! [`metrics`](https://docs.rs/metrics) facade; the process installs one recorder, and
//! this crate provides the ones that are read by pulling:
//!
//! - [`prometheus`]: a recorder whose values render as Prometheus's text exposition, for
//!   `GET /metrics` on the debug listener (`kit-app`'s `metrics` feature serves it). Histograms
//!   are classic bucketed histograms (`_bucket{le=..}`, `_sum`, `_count`), as Go kit's
//!   addsvc exports them, so `histogram_quantile` works in Prometheus.
//! - [`expvar`]: the same values as one flat JSON object, Go's `/debug/vars` style:
//!   counters and gauges as numbers, histograms as their count, sum and estimated
//!   quantiles.
//!
//! Both read the one Prometheus recorder, so they never disagree and a call pays for one
//! recorder only.
//!
//! ## Tested against
//!
//! Prometheus 2.42 (Debian 12's `prometheus` package): the tests of the `addsvc` example
//! start it, let it scrape the service's debug listener, and read the values back through
//! its query API.
//!
//! ## Dependencies
//!
//! [`metrics-exporter-prometheus`](https://docs.rs/metrics-exporter-prometheus) without its
//! default features: its recorder, storage and text rendering (evmap, indexmap, quanta,
//! base64), but not its own HTTP listener (kit serves `/metrics` itself) nor its push-gateway
//! client (hyper, rustls and aws-lc-rs). `serde_json` writes the expvar document.

pub mod expvar;
pub mod prometheus;
