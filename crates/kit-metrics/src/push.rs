//! What the push backends ([`statsd`](crate::statsd), [`graphite`](crate::graphite),
//! [`influx`](crate::influx)) share: the [`PushRecorder`] that the `metrics` macros write to,
//! the background flush task, and the [`PushHandle`] that flushes on demand and at exit.
//!
//! # Model
//!
//! Recording is an in-memory update and nothing else: a counter is an atomic add, a gauge an
//! atomic store, a histogram value an atomic add and an append to a lock-free bucket
//! (metrics-util's `AtomicBucket`), or, beyond the cap, atomic updates of a count, sum,
//! min and max. Handles from `counter!`/`gauge!`/`histogram!` hold the storage directly, so
//! a cached handle costs no lookup. Nothing on the request path waits for the network.
//!
//! A task spawned on the caller's tokio runtime flushes on an interval (and when
//! [`PushHandle::flush`] or [`PushHandle::flush_and_stop`] asks): it takes what was recorded
//! since the last flush and hands it to the backend, which encodes and sends it. Between
//! flushes:
//!
//! * counters are summed and sent as the **increase since the last flush** (a counter that did
//!   not move is left out);
//! * gauges send their **last value**, every flush;
//! * histograms keep the values recorded since the last flush (8 bytes each), **up to a cap
//!   per histogram** ([`DEFAULT_HISTOGRAM_CAP`], 4096, or the builder's `histogram_cap`, at
//!   least [`MIN_HISTOGRAM_CAP`]): memory stays bounded however fast a service records.
//!   The values kept are the first ones of the interval (not a random sample: under a load
//!   that changes within an interval, the percentiles lean to its start). Values beyond the
//!   cap are not kept, but counted, summed and their min and max tracked in atomics, so each
//!   backend can still send exact counts: StatsD sends every kept value as a timer, with
//!   sample rates that make the daemon count the ones not kept too (see
//!   [`statsd`](crate::statsd)); Graphite and InfluxDB send a [`Summary`] whose count, sum,
//!   min and max are over every value and whose 50th, 90th, 95th and 99th percentiles are
//!   over the kept ones. [`PushHandle::histogram_values_over_cap`] counts the values not
//!   kept, and each flush that had some logs one `warn` event with the number (not one per
//!   value). Non-finite values are neither kept nor counted (no backend can send them).
//!
//! A histogram has two halves that take turns: a flush makes the other half current and
//! reads the old one once the recorders still inside it (each for one append) have left, so
//! every value is in exactly one flush. While a flush reads one interval the next fills: a
//! histogram holds at most twice its cap then, and its cap otherwise
//! ([`PushRecorder::held_histogram_values`]).
//!
//! There is no queue between the request path and the network: the flush task sends what it
//! took, then waits for the next tick. A flush that cannot be delivered (server down, refused,
//! an error status) is **dropped, counted and logged**: [`PushHandle::dropped`] is the number
//! of lines (StatsD, Graphite) or points (InfluxDB) lost so far, and each failed flush logs a
//! `warn` event with the backend, the count and the error. It is not retried later: a server
//! that is down costs exactly the data flushed while it was down, and the service nothing else.
//!
//! At exit, [`PushHandle::flush_and_stop`] takes and sends what is left and returns once it
//! has been sent (or counted as dropped). Dropping the handle stops the task too, after the
//! same last flush, if the runtime is still running.
//!
//! A push backend starts its task on a running tokio runtime, and its recorder must be
//! installed before the endpoints are built (their handles bind to the recorder installed
//! then). So a `kit-app` service that pushes runs its own runtime: build the backend and
//! install its recorder, build the endpoints, then `App::start(..).await`,
//! `Running::wait().await` (which returns once every listener has drained, so every answer
//! has been recorded), and last `flush_and_stop().await`. kit-app's tests check, against the
//! real StatsD daemon, that every request served before the stop is in that last flush.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{Registry, Storage};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::capped::CappedHistogram;
pub(crate) use self::capped::OverCap;

mod capped;

/// How often the push backends flush unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// How many values of one histogram are kept between two flushes unless told otherwise:
/// 32 KiB per busy histogram, enough for a stable 99th percentile (its nearest rank is the
/// 41st largest of 4096), and about 90 datagrams per histogram and flush for StatsD.
pub const DEFAULT_HISTOGRAM_CAP: usize = 4096;

/// The smallest cap the builders accept: with fewer kept values than the one bits of an
/// interval's count, StatsD's sample rates could not carry the count exactly (see
/// [`statsd`](crate::statsd)).
pub const MIN_HISTOGRAM_CAP: usize = 64;

/// A `metrics` recorder whose data a push backend sends: see the [module docs](self).
///
/// Install it with `metrics::set_global_recorder`, or use it for a scope with
/// `metrics::with_local_recorder`. Clones share the same storage.
#[derive(Clone)]
pub struct PushRecorder {
    state: Arc<State>,
}

impl std::fmt::Debug for PushRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushRecorder").finish_non_exhaustive()
    }
}

struct State {
    registry: Registry<Key, PushStorage>,
    /// Units given by `describe_*`, by metric name.
    units: Mutex<HashMap<KeyName, Unit>>,
}

/// metrics-util's atomic counters and gauges, and [`CappedHistogram`]s.
struct PushStorage {
    histogram_cap: usize,
}

impl Storage<Key> for PushStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<AtomicU64>;
    type Histogram = Arc<CappedHistogram>;

    fn counter(&self, _: &Key) -> Self::Counter {
        Arc::new(AtomicU64::new(0))
    }

    fn gauge(&self, _: &Key) -> Self::Gauge {
        Arc::new(AtomicU64::new(0))
    }

    fn histogram(&self, _: &Key) -> Self::Histogram {
        Arc::new(CappedHistogram::new(self.histogram_cap))
    }
}

impl Recorder for PushRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(key, unit);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(key, unit);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(key, unit);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.state.registry.get_or_create_counter(key, Arc::clone))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.state.registry.get_or_create_gauge(key, Arc::clone))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.state.registry.get_or_create_histogram(key, Arc::clone))
    }
}

impl PushRecorder {
    fn describe(&self, key: KeyName, unit: Option<Unit>) {
        if let Some(unit) = unit {
            let mut units = self
                .state
                .units
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            units.insert(key, unit);
        }
    }

    /// Histogram values held now, over all histograms: those kept since the last flush, and
    /// those of a flush still reading them out. Each histogram holds at most its cap per
    /// interval (twice that while a flush reads one interval and the next one fills).
    pub fn held_histogram_values(&self) -> usize {
        let mut held = 0;
        self.state
            .registry
            .visit_histograms(|_, histogram| held += histogram.held());
        held
    }

    /// Takes what was recorded since the last call: counter increases (non-zero ones), every
    /// gauge, histogram values (non-empty ones).
    fn take(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        let state = &self.state;
        state.registry.visit_counters(|key, counter| {
            let delta = counter.swap(0, Ordering::Relaxed);
            if delta > 0 {
                snapshot.counters.push((key.clone(), delta));
            }
        });
        state.registry.visit_gauges(|key, gauge| {
            let value = f64::from_bits(gauge.load(Ordering::Relaxed));
            snapshot.gauges.push((key.clone(), value));
        });
        let units = state.units.lock().unwrap_or_else(PoisonError::into_inner);
        state.registry.visit_histograms(|key, histogram| {
            if let Some(taken) = histogram.take() {
                let seconds = units.get(key.name()) == Some(&Unit::Seconds)
                    || key.name().ends_with("_seconds");
                snapshot.over_cap += taken.over.count;
                snapshot.histograms.push(HistogramValues {
                    key: key.clone(),
                    values: taken.kept,
                    over: taken.over,
                    seconds,
                });
            }
        });
        snapshot
    }
}

/// What was recorded between two flushes.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Increase of each counter that moved.
    pub(crate) counters: Vec<(Key, u64)>,
    /// Last value of each gauge.
    pub(crate) gauges: Vec<(Key, f64)>,
    /// Values of each histogram that was recorded to.
    pub(crate) histograms: Vec<HistogramValues>,
    /// Histogram values recorded beyond the cap (summed over `histograms`).
    pub(crate) over_cap: u64,
}

impl Snapshot {
    fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.gauges.is_empty() && self.histograms.is_empty()
    }
}

/// A histogram's values since the last flush.
#[derive(Debug)]
pub(crate) struct HistogramValues {
    pub(crate) key: Key,
    /// The values kept (at most the cap), all finite.
    pub(crate) values: Vec<f64>,
    /// The values recorded beyond the cap, summarised.
    pub(crate) over: OverCap,
    /// Whether the values are seconds: described with `Unit::Seconds`, or named `*_seconds`.
    pub(crate) seconds: bool,
}

/// The summary that the Graphite and InfluxDB backends send for a histogram's values of one
/// flush interval. Percentiles are nearest ranks over the values given, not estimated; the
/// backends give the values kept under the cap, and count, sum, min and max of all the
/// interval's values (see the [module docs](self)). Non-finite values are left out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many values were recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// 50th percentile (median).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Summary {
    /// The summary of `values`, `None` when none is finite.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            // Nearest rank: the smallest value with at least q of the values at or below it.
            let index = (q * sorted.len() as f64).ceil() as usize;
            sorted[index.clamp(1, sorted.len()) - 1]
        };
        Some(Summary {
            count: sorted.len() as u64,
            sum: sorted.iter().sum(),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            p50: rank(0.50),
            p90: rank(0.90),
            p95: rank(0.95),
            p99: rank(0.99),
        })
    }

    /// The summary of one interval of a histogram: count, sum, min and max of every value
    /// recorded, percentiles of the values kept (`NaN` in the unlikely case that a race at a
    /// flush left none kept). `None` when nothing was recorded.
    pub(crate) fn of_histogram(histogram: &HistogramValues) -> Option<Summary> {
        let over = &histogram.over;
        let Some(mut summary) = Summary::of(&histogram.values) else {
            return (over.count > 0).then_some(Summary {
                count: over.count,
                sum: over.sum,
                min: over.min,
                max: over.max,
                p50: f64::NAN,
                p90: f64::NAN,
                p95: f64::NAN,
                p99: f64::NAN,
            });
        };
        if over.count > 0 {
            summary.count += over.count;
            summary.sum += over.sum;
            summary.min = summary.min.min(over.min);
            summary.max = summary.max.max(over.max);
        }
        Some(summary)
    }

    /// The fields with their names, in the order the backends send them (`count` apart);
    /// unknown (`NaN`) ones left out.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&'static str, f64)> {
        [
            ("sum", self.sum),
            ("min", self.min),
            ("max", self.max),
            ("p50", self.p50),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
        ]
        .into_iter()
        .filter(|(_, value)| value.is_finite())
    }
}

/// A flush, or part of one, that did not reach the server.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Lines or points lost.
    pub(crate) lost: u64,
    /// Why, for the log.
    pub(crate) error: String,
}

/// A push backend: encodes a snapshot and sends it.
pub(crate) trait Backend: Send + 'static {
    /// The backend's name in log events.
    const NAME: &'static str;

    /// Sends what was recorded since the last flush; `now` is the flush's time.
    fn send(
        &mut self,
        snapshot: Snapshot,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), Failure>> + Send;
}

enum Command {
    Flush(oneshot::Sender<()>),
}

/// Flushes a push backend on demand and at exit, and counts what was dropped: see the
/// [module docs](self).
#[derive(Debug)]
pub struct PushHandle {
    commands: mpsc::Sender<Command>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    outcome: Arc<Outcome>,
}

/// What the flushes came to, shared by the task and the handle.
#[derive(Debug, Default)]
struct Outcome {
    dropped: AtomicU64,
    over_cap: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl PushHandle {
    /// Lines (StatsD, Graphite) or points (InfluxDB) that could not be delivered so far.
    pub fn dropped(&self) -> u64 {
        self.outcome.dropped.load(Ordering::Relaxed)
    }

    /// Histogram values recorded beyond the cap so far, and so not kept: each backend says
    /// what it sends for them (StatsD: carried by the kept values' sample rates; Graphite and
    /// InfluxDB: in the count, sum, min and max, not in the percentiles). Not counted in
    /// [`dropped`](PushHandle::dropped).
    pub fn histogram_values_over_cap(&self) -> u64 {
        self.outcome.over_cap.load(Ordering::Relaxed)
    }

    /// Why the last undelivered flush failed (the error logged with it), if one did.
    pub fn last_error(&self) -> Option<String> {
        let last = self.outcome.last_error.lock();
        last.unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Flushes now, and returns once the data was sent or counted as dropped.
    pub async fn flush(&self) {
        let (done, sent) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).await.is_ok() {
            // An error here means the task ended (its runtime is shutting down).
            let _ = sent.await;
        }
    }

    /// Flushes what is left and stops the flush task; returns once the last flush was sent
    /// or counted as dropped, with the total dropped count. Await it at exit, after the
    /// service stopped recording.
    pub async fn flush_and_stop(mut self) -> u64 {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // A panic in the backend would be a bug: show it rather than hide it.
            if let Err(err) = task.await
                && err.is_panic()
            {
                std::panic::resume_unwind(err.into_panic());
            }
        }
        self.dropped()
    }
}

/// Builds the recorder and spawns the flush task of `backend` on the current tokio runtime.
///
/// # Panics
///
/// Outside a tokio runtime.
pub(crate) fn start<B: Backend>(
    backend: B,
    interval: Duration,
    histogram_cap: usize,
) -> (PushRecorder, PushHandle) {
    let recorder = PushRecorder {
        state: Arc::new(State {
            registry: Registry::new(PushStorage { histogram_cap }),
            units: Mutex::new(HashMap::new()),
        }),
    };
    let outcome = Arc::new(Outcome::default());
    let (commands, command_rx) = mpsc::channel(8);
    let (stop, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(
        backend,
        recorder.clone(),
        interval,
        Arc::clone(&outcome),
        command_rx,
        stop_rx,
    ));
    let handle = PushHandle {
        commands,
        stop: Some(stop),
        task: Some(task),
        outcome,
    };
    (recorder, handle)
}

async fn run<B: Backend>(
    mut backend: B,
    recorder: PushRecorder,
    interval: Duration,
    outcome: Arc<Outcome>,
    mut commands: mpsc::Receiver<Command>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let done = tokio::select! {
            _ = ticks.tick() => None,
            Some(Command::Flush(done)) = commands.recv() => Some(done),
            // Stopped, or the handle was dropped: a last flush either way.
            _ = &mut stop => break,
        };
        flush(&mut backend, &recorder, &outcome).await;
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
    flush(&mut backend, &recorder, &outcome).await;
}

async fn flush<B: Backend>(backend: &mut B, recorder: &PushRecorder, outcome: &Outcome) {
    let snapshot = recorder.take();
    if snapshot.is_empty() {
        return;
    }
    if snapshot.over_cap > 0 {
        let over = snapshot.over_cap;
        let total = outcome.over_cap.fetch_add(over, Ordering::Relaxed) + over;
        tracing::warn!(
            backend = B::NAME,
            over_cap = over,
            over_cap_total = total,
            "histogram values beyond the cap not kept since the last flush"
        );
    }
    if let Err(failure) = backend.send(snapshot, SystemTime::now()).await {
        let total = outcome.dropped.fetch_add(failure.lost, Ordering::Relaxed) + failure.lost;
        tracing::warn!(
            backend = B::NAME,
            dropped = failure.lost,
            dropped_total = total,
            error = %failure.error,
            "metrics flush not delivered"
        );
        let mut last = outcome
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *last = Some(failure.error);
    }
}

/// The labels of `key` as (name, value) pairs.
pub(crate) fn labels(key: &Key) -> impl Iterator<Item = (&str, &str)> {
    key.labels().map(|label| (label.key(), label.value()))
}

/// `text` with every character that `keep` refuses replaced by `_`, appended to `out`.
pub(crate) fn push_sanitised(out: &mut String, text: &str, keep: impl Fn(char) -> bool) {
    out.extend(text.chars().map(|c| if keep(c) { c } else { '_' }));
}
