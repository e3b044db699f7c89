//! expvar-style JSON: the recorded values as one flat object, as Go's `/debug/vars`.
//!
//! [`render`] reads the same [`Prometheus`] recorder that `/metrics` renders (so the two
//! always agree and a call is recorded once) and writes:
//!
//! ```json
//! {
//!   "cmdline": ["addsvc", "--debug-addr", "127.0.0.1:8080"],
//!   "example_addsvc_integers_summed": 3,
//!   "example_addsvc_requests_in_flight{method=\"Sum\"}": 0.0,
//!   "example_addsvc_request_duration_seconds{method=\"Sum\",success=\"true\"}":
//!     {"count": 2, "sum": 0.0004, "p50": 0.0025, "p90": 0.0045, "p95": 0.00475, "p99": 0.00495}
//! }
//! ```
//!
//! A series is named as in Prometheus (name, then its labels in braces). Counters and gauges
//! are numbers. Histograms are their count, sum and the quantiles 0.5, 0.9, 0.95 and 0.99
//! *estimated from the buckets* the way Prometheus's `histogram_quantile` does (linear
//! within a bucket; the highest finite bound when a quantile falls in `+Inf`; `null` with
//! no samples), so their resolution is the buckets'. `cmdline` is the process's arguments,
//! as Go publishes.

use serde_json::{Map, Value, json};

use crate::prometheus::{self, Prometheus};

/// The quantiles written for each histogram, and their keys.
const QUANTILES: [(f64, &str); 4] = [(0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99")];

/// The expvar document of everything `prometheus` holds.
pub fn render(prometheus: &Prometheus) -> Value {
    let mut vars = Map::new();
    for family in prometheus.families() {
        for (labels, value) in family.series {
            let key = if labels.is_empty() {
                family.name.clone()
            } else {
                format!("{}{{{labels}}}", family.name)
            };
            let value = match value {
                prometheus::Value::Counter(n) => json!(n),
                prometheus::Value::Gauge(x) => json!(x),
                prometheus::Value::Histogram(cumulative, sum) => {
                    let count = cumulative.last().map_or(0, |&(_, count)| count);
                    let mut entry = Map::new();
                    entry.insert("count".into(), json!(count));
                    entry.insert("sum".into(), json!(sum));
                    for (q, name) in QUANTILES {
                        entry.insert(name.into(), quantile(&cumulative, q));
                    }
                    Value::Object(entry)
                }
            };
            vars.insert(key, value);
        }
    }
    let cmdline: Vec<String> = std::env::args().collect();
    vars.insert("cmdline".into(), json!(cmdline));
    Value::Object(vars)
}

/// Quantile `q` of a histogram given as cumulative counts by upper bound (the last `+Inf`),
/// as `histogram_quantile` estimates it; `null` with no samples.
fn quantile(cumulative: &[(f64, u64)], q: f64) -> Value {
    let count = cumulative.last().map_or(0, |&(_, count)| count);
    if count == 0 {
        return Value::Null;
    }
    let rank = q * count as f64;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(upper, cumulative) in cumulative {
        let cumulative = cumulative as f64;
        if cumulative >= rank {
            if upper.is_infinite() {
                return json!(lower);
            }
            let share = (rank - below) / (cumulative - below);
            return json!(lower + (upper - lower) * share);
        }
        (lower, below) = (upper, cumulative);
    }
    json!(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_estimated_within_buckets() {
        let (recorder, prometheus) = Prometheus::builder()
            .buckets_for("d", &[0.1, 1.0])
            .unwrap()
            .build();
        metrics::with_local_recorder(&recorder, || {
            for value in [0.0625, 0.5, 0.5, 6.0] {
                metrics::histogram!("d", "method" => "Sum").record(value);
            }
            let _ = metrics::histogram!("d", "method" => "Concat");
            metrics::counter!("c").increment(12);
            metrics::gauge!("g", "a" => "x", "b" => "y").set(-2.5);
        });
        let mut vars = render(&prometheus);
        assert!(vars["cmdline"].is_array());
        vars.as_object_mut().unwrap().remove("cmdline");
        assert_eq!(
            vars,
            json!({
                "c": 12,
                "g{a=\"x\",b=\"y\"}": -2.5,
                // rank 2 of 4 lies halfway through (0.1, 1]; rank 3.6 lies in +Inf.
                "d{method=\"Sum\"}": {"count": 4, "sum": 7.0625, "p50": 0.55, "p90": 1.0, "p95": 1.0, "p99": 1.0},
                "d{method=\"Concat\"}": {"count": 0, "sum": 0.0, "p50": null, "p90": null, "p95": null, "p99": null},
            })
        );
    }
}
