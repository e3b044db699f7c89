//! Prometheus: a recorder and its text exposition.
//!
//! [`Prometheus::install`] makes the process's recorder (once per process; install it
//! before building endpoints, whose metric handles bind to the recorder installed when they
//! are made) and returns a cheap, cloneable handle whose [`render`](Prometheus::render) is
//! the body of `GET /metrics` (with [`CONTENT_TYPE`]).
//!
//! # Model
//!
//! Recording updates atomics in place and nothing else: a counter is an atomic add, a gauge
//! an atomic store (or a compare-and-swap loop for an increment) of the `f64`'s bits, and a
//! histogram value one atomic add to the count of its bucket and a compare-and-swap add to
//! the histogram's sum. No allocation, no lock, no background thread: memory is fixed once a
//! series exists, whether anybody scrapes or not.
//!
//! A histogram's buckets are fixed when its series is first registered: those given for its
//! name with [`Builder::buckets_for`], else [`DEFAULT_BUCKETS`] (Prometheus's Go client's
//! defaults, in seconds). Each bucket counts the values in it alone (a value goes to the
//! first bucket whose upper bound is at least the value, or to `+Inf`); rendering makes them
//! cumulative, as the exposition wants, and a series' `_count` is the sum of its buckets,
//! so it always equals its `+Inf` bucket.
//!
//! [`render`](Prometheus::render) writes the text exposition (format 0.0.4) of everything
//! registered so far, sorted by metric name and then by labels: `# HELP` (from the
//! `describe_*` macros) and `# TYPE` lines, then the series, the builder's global labels
//! first. Histograms render as classic histograms (`_bucket{le=".."}`, `_sum`, `_count`).
//! Units given to `describe_*` are not added to names: name metrics with their unit, as
//! Prometheus advises (`_seconds`, `_bytes`). Characters a metric or label name cannot hold
//! become `_`; label values and help text are escaped as the format requires.
//!
//! ```
//! use kit_metrics::prometheus::Prometheus;
//!
//! let (recorder, prometheus) = Prometheus::builder().build();
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::counter!("jobs_done_total").increment(3);
//! });
//! assert!(prometheus.render().contains("jobs_done_total 3\n"));
//! // In a service: let prometheus = Prometheus::install()?; before building endpoints.
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SetRecorderError,
    SharedString, Unit,
};
use metrics_util::registry::{Registry, Storage};

/// The `Content-Type` of the text exposition (format 0.0.4), which Prometheus 3 requires.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram buckets, in seconds, for every histogram without its own: those of
/// Prometheus's Go client (`prometheus.DefBuckets`), which Go kit's addsvc uses.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A handle to the Prometheus recorder: renders what it holds. Cheap to clone.
#[derive(Clone)]
pub struct Prometheus {
    shared: Arc<Shared>,
}

/// The recorder itself (a `metrics::Recorder`), from [`Builder::build`]: install it with
/// `metrics::set_global_recorder`, or use it for a scope with `metrics::with_local_recorder`.
pub struct PrometheusRecorder {
    shared: Arc<Shared>,
}

/// Configures a [`Prometheus`] recorder; from [`Prometheus::builder`].
#[derive(Debug, Default)]
pub struct Builder {
    buckets: HashMap<String, Arc<[f64]>>,
    global_labels: Vec<(String, String)>,
}

/// Why a recorder could not be made or installed.
#[derive(Debug)]
pub struct InstallError(ErrorKind);

#[derive(Debug)]
enum ErrorKind {
    Buckets(String),
    Installed(SetRecorderError<PrometheusRecorder>),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ErrorKind::Buckets(name) => write!(
                f,
                "histogram {name:?}: buckets must be at least one number, none of them NaN"
            ),
            ErrorKind::Installed(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            ErrorKind::Buckets(_) => None,
            ErrorKind::Installed(err) => Some(err),
        }
    }
}

/// What the recorder and its handles share.
struct Shared {
    registry: Registry<Key, PromStorage>,
    /// Help text by metric name, from `describe_*`.
    help: Mutex<HashMap<String, SharedString>>,
    /// Sanitized and escaped, in the order given.
    global_labels: Vec<(String, String)>,
}

/// Atomic counters and gauges (the `metrics` crate's own `CounterFn`/`GaugeFn` for
/// `AtomicU64`), and [`Buckets`].
struct PromStorage {
    buckets: HashMap<String, Arc<[f64]>>,
    default: Arc<[f64]>,
}

impl Storage<Key> for PromStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<AtomicU64>;
    type Histogram = Arc<Buckets>;

    fn counter(&self, _: &Key) -> Self::Counter {
        Arc::new(AtomicU64::new(0))
    }

    fn gauge(&self, _: &Key) -> Self::Gauge {
        Arc::new(AtomicU64::new(0))
    }

    fn histogram(&self, key: &Key) -> Self::Histogram {
        let bounds = self.buckets.get(key.name()).unwrap_or(&self.default);
        Arc::new(Buckets::new(Arc::clone(bounds)))
    }
}

/// One histogram series: a count per bucket (not cumulative; the last is `+Inf`) and the
/// sum of the values, as `f64` bits.
struct Buckets {
    bounds: Arc<[f64]>,
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Buckets {
    fn new(bounds: Arc<[f64]>) -> Buckets {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Buckets {
            bounds,
            counts,
            sum: AtomicU64::new(0),
        }
    }

    /// The cumulative counts by upper bound (the last `+Inf`), and the sum.
    fn read(&self) -> (Vec<(f64, u64)>, f64) {
        let mut below = 0;
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        let cumulative = bounds
            .zip(self.counts.iter())
            .map(|(bound, count)| {
                below += count.load(Ordering::Relaxed);
                (bound, below)
            })
            .collect();
        (cumulative, f64::from_bits(self.sum.load(Ordering::Relaxed)))
    }
}

impl HistogramFn for Buckets {
    fn record(&self, value: f64) {
        // A value goes to the first bucket that holds it; NaN, and anything above the last
        // bound, to +Inf.
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| value <= bound)
            .unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sum| {
                Some((f64::from_bits(sum) + value).to_bits())
            });
    }
}

impl Recorder for PrometheusRecorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, help: SharedString) {
        self.shared.describe(key, help);
    }

    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, help: SharedString) {
        self.shared.describe(key, help);
    }

    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, help: SharedString) {
        self.shared.describe(key, help);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.shared.registry.get_or_create_counter(key, Arc::clone))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.shared.registry.get_or_create_gauge(key, Arc::clone))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(
            self.shared
                .registry
                .get_or_create_histogram(key, Arc::clone),
        )
    }
}

impl fmt::Debug for PrometheusRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusRecorder").finish_non_exhaustive()
    }
}

/// The value of one series, read at one moment.
pub(crate) enum Value {
    Counter(u64),
    Gauge(f64),
    /// Cumulative counts by upper bound (the last `+Inf`, which is the count), and the sum.
    Histogram(Vec<(f64, u64)>, f64),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Counter(_) => "counter",
            Value::Gauge(_) => "gauge",
            Value::Histogram(..) => "histogram",
        }
    }
}

/// A metric family: every series of one name and type, by their rendered labels.
pub(crate) struct Family {
    pub(crate) name: String,
    pub(crate) series: BTreeMap<String, Value>,
}

impl Shared {
    fn describe(&self, key: KeyName, help: SharedString) {
        let mut all = self.help.lock().unwrap_or_else(PoisonError::into_inner);
        all.insert(key.as_str().to_owned(), help);
    }

    /// `k="v",..`: the global labels, then the key's (a key's label replaces a global one of
    /// the same name in place).
    fn labels(&self, key: &Key) -> String {
        let mut labels = self.global_labels.clone();
        for label in key.labels() {
            set_label(&mut labels, label.key(), label.value());
        }
        let mut out = String::new();
        for (i, (name, value)) in labels.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(out, "{comma}{name}=\"{value}\"");
        }
        out
    }
}

impl Prometheus {
    /// Starts configuring a recorder (with [`DEFAULT_BUCKETS`]).
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Installs a recorder with the defaults as the process's recorder; an error if the
    /// process has one already.
    pub fn install() -> Result<Prometheus, InstallError> {
        Prometheus::builder().install()
    }

    /// Every series registered so far, read now, by metric name (and type, should one name
    /// have several), then labels.
    pub(crate) fn families(&self) -> Vec<Family> {
        let shared = &*self.shared;
        let mut families: BTreeMap<(String, &'static str), Family> = BTreeMap::new();
        let mut add = |key: &Key, value: Value| {
            let name = sanitize(key.name(), true);
            let family = families
                .entry((name.clone(), value.kind()))
                .or_insert_with(|| Family {
                    name,
                    series: BTreeMap::new(),
                });
            family.series.insert(shared.labels(key), value);
        };
        shared.registry.visit_counters(|key, counter| {
            add(key, Value::Counter(counter.load(Ordering::Relaxed)));
        });
        shared.registry.visit_gauges(|key, gauge| {
            add(
                key,
                Value::Gauge(f64::from_bits(gauge.load(Ordering::Relaxed))),
            );
        });
        shared.registry.visit_histograms(|key, histogram| {
            let (cumulative, sum) = histogram.read();
            add(key, Value::Histogram(cumulative, sum));
        });
        families.into_values().collect()
    }

    /// The text exposition of every metric recorded so far.
    pub fn render(&self) -> String {
        let help = self
            .shared
            .help
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let help: HashMap<String, &str> = help
            .iter()
            .map(|(name, text)| (sanitize(name, true), &**text))
            .collect();
        let mut out = String::new();
        for family in self.families() {
            let name = &family.name;
            if let Some(text) = help.get(name) {
                let _ = writeln!(out, "# HELP {name} {}", escape(text, false));
            }
            let Some(first) = family.series.values().next() else {
                continue;
            };
            let _ = writeln!(out, "# TYPE {name} {}", first.kind());
            for (labels, value) in &family.series {
                let braced = |extra: &str| -> String {
                    match (labels.is_empty(), extra.is_empty()) {
                        (true, true) => String::new(),
                        (true, false) => format!("{{{extra}}}"),
                        (false, true) => format!("{{{labels}}}"),
                        (false, false) => format!("{{{labels},{extra}}}"),
                    }
                };
                match value {
                    Value::Counter(n) => {
                        let _ = writeln!(out, "{name}{} {n}", braced(""));
                    }
                    Value::Gauge(x) => {
                        let _ = writeln!(out, "{name}{} {}", braced(""), Number(*x));
                    }
                    Value::Histogram(cumulative, sum) => {
                        for (bound, count) in cumulative {
                            let le = format!("le=\"{}\"", Number(*bound));
                            let _ = writeln!(out, "{name}_bucket{} {count}", braced(&le));
                        }
                        let count = cumulative.last().map_or(0, |&(_, count)| count);
                        let _ = writeln!(out, "{name}_sum{} {}", braced(""), Number(*sum));
                        let _ = writeln!(out, "{name}_count{} {count}", braced(""));
                    }
                }
            }
        }
        out
    }
}

impl fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus").finish_non_exhaustive()
    }
}

/// A sample value or bucket bound as the exposition writes it: `+Inf`, `-Inf`, `NaN`, or
/// the shortest decimal that reads back as the same `f64` (integers without a fraction).
struct Number(f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            x if x.is_nan() => f.write_str("NaN"),
            f64::INFINITY => f.write_str("+Inf"),
            f64::NEG_INFINITY => f.write_str("-Inf"),
            x => write!(f, "{x}"),
        }
    }
}

/// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or label name (the same without `:`), with
/// `_` for each character it cannot hold.
fn sanitize(name: &str, metric: bool) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            let ok = c.is_ascii_alphabetic()
                || c == '_'
                || (metric && c == ':')
                || (i > 0 && c.is_ascii_digit());
            if ok { c } else { '_' }
        })
        .collect()
}

/// Sets label `name` of `labels` (sanitized, escaped) to `value`, in place if it is there.
fn set_label(labels: &mut Vec<(String, String)>, name: &str, value: &str) {
    let (name, value) = (sanitize(name, false), escape(value, true));
    match labels.iter_mut().find(|(n, _)| *n == name) {
        Some(pair) => pair.1 = value,
        None => labels.push((name, value)),
    }
}

/// Escapes a label value (backslash, double quote, newline) or help text (backslash,
/// newline), as the text format requires.
fn escape(text: &str, label_value: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if label_value => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

impl Builder {
    /// Buckets (upper bounds, in any order; `+Inf` is always added) for histograms whose
    /// name is `name` exactly; an error if `buckets` is empty or holds a NaN.
    pub fn buckets_for(mut self, name: &str, buckets: &[f64]) -> Result<Builder, InstallError> {
        if buckets.is_empty() || buckets.iter().any(|b| b.is_nan()) {
            return Err(InstallError(ErrorKind::Buckets(name.to_owned())));
        }
        let mut bounds: Vec<f64> = buckets
            .iter()
            .copied()
            .filter(|&b| b != f64::INFINITY)
            .collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        self.buckets.insert(name.to_owned(), bounds.into());
        Ok(self)
    }

    /// A label added to every series (e.g. the service's name or zone).
    pub fn global_label(mut self, key: &str, value: &str) -> Builder {
        set_label(&mut self.global_labels, key, value);
        self
    }

    /// The recorder, not installed (to compose it with others, or for tests), and its
    /// handle.
    pub fn build(self) -> (PrometheusRecorder, Prometheus) {
        let shared = Arc::new(Shared {
            registry: Registry::new(PromStorage {
                buckets: self.buckets,
                default: DEFAULT_BUCKETS.into(),
            }),
            help: Mutex::default(),
            global_labels: self.global_labels,
        });
        (
            PrometheusRecorder {
                shared: Arc::clone(&shared),
            },
            Prometheus { shared },
        )
    }

    /// Builds the recorder and installs it as the process's recorder; an error if the
    /// process has one already.
    pub fn install(self) -> Result<Prometheus, InstallError> {
        let (recorder, prometheus) = self.build();
        metrics::set_global_recorder(recorder)
            .map_err(|err| InstallError(ErrorKind::Installed(err)))?;
        Ok(prometheus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let (recorder, prometheus) = Prometheus::builder()
            .buckets_for("latency_seconds", &[1.0, 0.25, 0.25])
            .unwrap()
            .global_label("service", "add\"svc")
            .build();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("b_total", "Jobs \\done\\\nfor \"you\".");
            metrics::counter!("b_total", "path" => "a\\b\"c\nd").increment(2);
            metrics::counter!("b_total", "path" => "/").increment(7);
            metrics::gauge!("a.gauge", "service" => "own").set(1.5);
            metrics::gauge!("c_gauge").set(-3.0);
            metrics::gauge!("c_gauge").increment(1.0);
            let latency = metrics::histogram!("latency_seconds");
            for value in [0.25, 0.1, 0.5, 2.0, f64::NAN] {
                latency.record(value);
            }
            metrics::histogram!("default_seconds").record(0.007);
        });
        let expected = r#"# TYPE a_gauge gauge
a_gauge{service="own"} 1.5
# HELP b_total Jobs \\done\\\nfor "you".
# TYPE b_total counter
b_total{service="add\"svc",path="/"} 7
b_total{service="add\"svc",path="a\\b\"c\nd"} 2
# TYPE c_gauge gauge
c_gauge{service="add\"svc"} -2
# TYPE default_seconds histogram
default_seconds_bucket{service="add\"svc",le="0.005"} 0
default_seconds_bucket{service="add\"svc",le="0.01"} 1
default_seconds_bucket{service="add\"svc",le="0.025"} 1
default_seconds_bucket{service="add\"svc",le="0.05"} 1
default_seconds_bucket{service="add\"svc",le="0.1"} 1
default_seconds_bucket{service="add\"svc",le="0.25"} 1
default_seconds_bucket{service="add\"svc",le="0.5"} 1
default_seconds_bucket{service="add\"svc",le="1"} 1
default_seconds_bucket{service="add\"svc",le="2.5"} 1
default_seconds_bucket{service="add\"svc",le="5"} 1
default_seconds_bucket{service="add\"svc",le="10"} 1
default_seconds_bucket{service="add\"svc",le="+Inf"} 1
default_seconds_sum{service="add\"svc"} 0.007
default_seconds_count{service="add\"svc"} 1
# TYPE latency_seconds histogram
latency_seconds_bucket{service="add\"svc",le="0.25"} 2
latency_seconds_bucket{service="add\"svc",le="1"} 3
latency_seconds_bucket{service="add\"svc",le="+Inf"} 5
latency_seconds_sum{service="add\"svc"} NaN
latency_seconds_count{service="add\"svc"} 5
"#;
        assert_eq!(prometheus.render(), expected);
    }

    #[test]
    fn rejects_empty_or_nan_buckets() {
        for buckets in [&[][..], &[1.0, f64::NAN]] {
            let err = Prometheus::builder().buckets_for("x", buckets).unwrap_err();
            assert_eq!(
                err.to_string(),
                "histogram \"x\": buckets must be at least one number, none of them NaN"
            );
        }
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        const THREADS: u64 = 4;
        const RECORDS: u64 = 100_000;
        let (recorder, prometheus) = Prometheus::builder()
            .buckets_for("h", &[1.0, 2.0])
            .unwrap()
            .build();
        let histogram = metrics::with_local_recorder(&recorder, || metrics::histogram!("h"));
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                let histogram = histogram.clone();
                scope.spawn(move || {
                    // 1, 2, 3, 1, 2, 3, ...: a third in each bucket, all sums exact.
                    for i in 0..RECORDS {
                        histogram.record((i % 3 + 1) as f64);
                    }
                });
            }
        });
        let text = prometheus.render();
        let ones = THREADS * RECORDS.div_ceil(3);
        let twos = THREADS * ((RECORDS + 1) / 3);
        let total = THREADS * RECORDS;
        let sum = ones + 2 * twos + 3 * (total - ones - twos);
        let expected = format!(
            "# TYPE h histogram\nh_bucket{{le=\"1\"}} {ones}\nh_bucket{{le=\"2\"}} {}\n\
             h_bucket{{le=\"+Inf\"}} {total}\nh_sum {sum}\nh_count {total}\n",
            ones + twos
        );
        assert_eq!(text, expected);
    }
}
