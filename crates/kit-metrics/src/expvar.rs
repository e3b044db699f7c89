//! expvar-style JSON: the recorded values as one flat object, as Go's `/debug/vars`.
//!
//! [`render`] reads the same [`Prometheus`] recorder that `/metrics` renders (it parses
//! that exposition, so the two always agree and a call is recorded once) and writes:
//!
//! ```json
//! {
//!   "cmdline": ["addsvc", "--debug-addr", "127.0.0.1:8080"],
//!   "example_addsvc_integers_summed": 3,
//!   "example_addsvc_requests_in_flight{method=\"Sum\"}": 0,
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

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::prometheus::Prometheus;

/// The quantiles written for each histogram, and their keys.
const QUANTILES: [(f64, &str); 4] = [(0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99")];

/// The expvar document of everything `prometheus` holds.
pub fn render(prometheus: &Prometheus) -> Value {
    let mut vars = from_exposition(&prometheus.render());
    let cmdline: Vec<String> = std::env::args().collect();
    vars.insert("cmdline".into(), json!(cmdline));
    Value::Object(vars)
}

/// One histogram series: cumulative buckets by upper bound, sum and count.
#[derive(Default)]
struct Buckets {
    cumulative: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

impl Buckets {
    fn quantile(&self, q: f64) -> Value {
        if self.count == 0.0 {
            return Value::Null;
        }
        let rank = q * self.count;
        let (mut lower, mut below) = (0.0, 0.0);
        for &(upper, cumulative) in &self.cumulative {
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
}

/// Splits `name{labels}` into the name and the labels without their braces.
fn split_series(series: &str) -> (&str, &str) {
    match series.split_once('{') {
        Some((name, labels)) => (name, labels.trim_end_matches('}')),
        None => (series, ""),
    }
}

/// The series key: `name` or `name{labels}`.
fn key(name: &str, labels: &str) -> String {
    if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{labels}}}")
    }
}

/// `labels` without its `le="..."` pair, and the bound it held.
fn take_le(labels: &str) -> (String, Option<f64>) {
    let mut bound = None;
    let mut rest = Vec::new();
    // Label values written by the exporter escape quotes, and kit's label values are
    // names, so splitting on `",` between pairs is safe here.
    for pair in labels.split("\",").filter(|p| !p.is_empty()) {
        let pair = pair.trim_end_matches('"');
        match pair.strip_prefix("le=\"") {
            Some(le) => bound = le.replace("+Inf", "inf").parse().ok(),
            None => rest.push(format!("{pair}\"")),
        }
    }
    (rest.join(","), bound)
}

/// Parses the text exposition into expvar entries.
fn from_exposition(text: &str) -> Map<String, Value> {
    let mut vars = Map::new();
    let mut histograms: BTreeMap<String, Buckets> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, &str> = BTreeMap::new();
    for line in text.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = declaration.split_once(' ') {
                kinds.insert(name, kind);
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = split_series(series);
        let histogram = [("_bucket", 0), ("_sum", 1), ("_count", 2)]
            .into_iter()
            .find_map(|(suffix, part)| {
                let base = name.strip_suffix(suffix)?;
                (kinds.get(base) == Some(&"histogram")).then_some((base, part))
            });
        match histogram {
            Some((base, part)) => {
                let (labels, bound) = take_le(labels);
                let entry = histograms.entry(key(base, &labels)).or_default();
                match (part, bound) {
                    (0, Some(bound)) => entry.cumulative.push((bound, value)),
                    (1, _) => entry.sum = value,
                    (2, _) => entry.count = value,
                    _ => {}
                }
            }
            // Counters, gauges, and a summary's quantile, sum and count lines as they are.
            None => {
                vars.insert(key(name, labels), json!(value));
            }
        }
    }
    for (key, buckets) in histograms {
        let mut entry = Map::new();
        entry.insert("count".into(), json!(buckets.count));
        entry.insert("sum".into(), json!(buckets.sum));
        for (q, name) in QUANTILES {
            entry.insert(name.into(), buckets.quantile(q));
        }
        vars.insert(key, Value::Object(entry));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_estimated_within_buckets() {
        let text = "\
# TYPE d histogram
d_bucket{method=\"Sum\",le=\"0.1\"} 1
d_bucket{method=\"Sum\",le=\"1\"} 3
d_bucket{method=\"Sum\",le=\"+Inf\"} 4
d_sum{method=\"Sum\"} 7.5
d_count{method=\"Sum\"} 4
d_bucket{method=\"Concat\",le=\"0.1\"} 0
d_bucket{method=\"Concat\",le=\"1\"} 0
d_bucket{method=\"Concat\",le=\"+Inf\"} 0
d_sum{method=\"Concat\"} 0
d_count{method=\"Concat\"} 0
# TYPE c counter
c 12
# TYPE g gauge
g{a=\"x\",b=\"y\"} -2
";
        let vars = Value::Object(from_exposition(text));
        assert_eq!(
            vars,
            json!({
                "c": 12.0,
                "g{a=\"x\",b=\"y\"}": -2.0,
                // rank 2 of 4 lies halfway through (0.1, 1]; rank 3.6 lies in +Inf.
                "d{method=\"Sum\"}": {"count": 4.0, "sum": 7.5, "p50": 0.55, "p90": 1.0, "p95": 1.0, "p99": 1.0},
                "d{method=\"Concat\"}": {"count": 0.0, "sum": 0.0, "p50": null, "p90": null, "p95": null, "p99": null},
            })
        );
    }
}
