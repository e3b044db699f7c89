//! kit's batch span processor: a bounded queue filled by `on_end` without blocking, and one
//! tokio task per exporter that sends the queue's spans in batches.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::instrument::WithSubscriber as _;

/// How the processor is sized and timed (see [`TracingBuilder`](super::TracingBuilder)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_queue: usize,
    pub(crate) max_batch: usize,
    pub(crate) interval: Duration,
    pub(crate) export_timeout: Duration,
}

/// At most one warning about failed exports per exporter in this long.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What the export task counts, read by [`TraceHandle`](super::TraceHandle).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Spans dropped: queue full, exporter stopped, export failed or timed out.
    pub(crate) dropped: AtomicU64,
    /// Spans the exporter accepted.
    pub(crate) exported: AtomicU64,
}

/// A request to the export task; its sender is told when the task has done it.
#[derive(Debug)]
pub(crate) enum Control {
    /// Export every span queued so far.
    Flush(oneshot::Sender<()>),
    /// Export every span queued so far, then end the task.
    Stop(oneshot::Sender<()>),
}

/// The processor the tracer provider calls; the queue's sending side.
#[derive(Debug)]
pub(crate) struct BatchProcessor {
    spans: mpsc::Sender<SpanData>,
    control: mpsc::UnboundedSender<Control>,
    counts: Arc<Counts>,
}

/// The parts of a started processor that a [`TraceHandle`](super::TraceHandle) keeps.
#[derive(Debug, Clone)]
pub(crate) struct Controls {
    pub(crate) control: mpsc::UnboundedSender<Control>,
    pub(crate) counts: Arc<Counts>,
}

impl BatchProcessor {
    /// A processor exporting with `exporter` (named `name` in warnings), its task spawned on
    /// the current tokio runtime.
    pub(crate) fn spawn<E>(exporter: E, name: String, limits: Limits) -> (Self, Controls)
    where
        E: SpanExporter + 'static,
    {
        let (spans, queue) = mpsc::channel(limits.max_queue.max(1));
        let (control, requests) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let task = ExportTask {
            exporter,
            name,
            limits,
            counts: counts.clone(),
            last_warning: None,
        };
        tokio::spawn(task.run(queue, requests));
        let controls = Controls {
            control: control.clone(),
            counts: counts.clone(),
        };
        (
            BatchProcessor {
                spans,
                control,
                counts,
            },
            controls,
        )
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // `try_send` never waits: a full queue, or a stopped task, drops the span.
        if self.spans.try_send(span).is_err() {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Asks the task to export what is queued, without waiting (this is called on a
    /// runtime's thread, which must not block); [`TraceHandle::flush`](super::TraceHandle::flush)
    /// waits.
    fn force_flush(&self) -> OTelSdkResult {
        let (done, _) = oneshot::channel();
        let _ = self.control.send(Control::Flush(done));
        Ok(())
    }

    /// Asks the task to export what is queued and stop, without waiting (see
    /// [`force_flush`](Self::force_flush)).
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let (done, _) = oneshot::channel();
        let _ = self.control.send(Control::Stop(done));
        Ok(())
    }
}

/// The export task's state.
struct ExportTask<E> {
    exporter: E,
    name: String,
    limits: Limits,
    counts: Arc<Counts>,
    last_warning: Option<Instant>,
}

impl<E: SpanExporter> ExportTask<E> {
    /// Collects spans into a batch and exports it when it is full or when `interval` has
    /// passed since the last export, one export at a time; answers flush and stop requests.
    async fn run(
        mut self,
        mut queue: mpsc::Receiver<SpanData>,
        mut requests: mpsc::UnboundedReceiver<Control>,
    ) {
        let max_batch = self.limits.max_batch.max(1);
        let mut batch = Vec::with_capacity(max_batch);
        let mut incoming = Vec::with_capacity(max_batch);
        let mut deadline = Instant::now() + self.limits.interval;
        loop {
            // Never 0: a full batch is exported as soon as it is full.
            let room = max_batch - batch.len();
            tokio::select! {
                biased;
                request = requests.recv() => {
                    let Some(request) = request else { break };
                    let (done, stop) = match request {
                        Control::Flush(done) => (done, false),
                        Control::Stop(done) => (done, true),
                    };
                    // The spans queued now, not those that keep coming while exporting.
                    for _ in 0..queue.len() {
                        let Ok(span) = queue.try_recv() else { break };
                        batch.push(span);
                        if batch.len() == max_batch {
                            self.export(&mut batch).await;
                        }
                    }
                    self.export(&mut batch).await;
                    deadline = Instant::now() + self.limits.interval;
                    let _ = done.send(());
                    if stop {
                        break;
                    }
                }
                received = queue.recv_many(&mut incoming, room) => {
                    batch.append(&mut incoming);
                    if received == 0 {
                        // Every sender is gone: the tracer provider was dropped.
                        self.export(&mut batch).await;
                        break;
                    }
                    if batch.len() == max_batch {
                        self.export(&mut batch).await;
                        deadline = Instant::now() + self.limits.interval;
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    self.export(&mut batch).await;
                    deadline = Instant::now() + self.limits.interval;
                }
            }
        }
        // Spans that arrive after the task stopped are refused by `try_send` and counted
        // there; those already queued are counted here.
        queue.close();
        let mut left = 0;
        while queue.try_recv().is_ok() {
            left += 1;
        }
        self.counts.dropped.fetch_add(left, Ordering::Relaxed);
    }

    /// Exports `batch` (emptying it), bounded by the export timeout, and counts the result.
    async fn export(&mut self, batch: &mut Vec<SpanData>) {
        if batch.is_empty() {
            return;
        }
        let spans = batch.len() as u64;
        let sent = std::mem::replace(batch, Vec::with_capacity(self.limits.max_batch.max(1)));
        let outcome = match tokio::time::timeout(
            self.limits.export_timeout,
            // The export's own spans and events (tonic's, hyper's) are not recorded:
            // exported, they would make more exports.
            self.exporter
                .export(sent)
                .with_subscriber(tracing::subscriber::NoSubscriber::default()),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.limits.export_timeout)),
        };
        match outcome {
            Ok(()) => {
                self.counts.exported.fetch_add(spans, Ordering::Relaxed);
            }
            Err(reason) => {
                let dropped = self.counts.dropped.fetch_add(spans, Ordering::Relaxed) + spans;
                let now = Instant::now();
                if self
                    .last_warning
                    .is_none_or(|last| now.duration_since(last) >= WARN_EVERY)
                {
                    self.last_warning = Some(now);
                    tracing::warn!(
                        exporter = %self.name,
                        spans,
                        dropped_total = dropped,
                        error = %reason,
                        "span export failed; spans dropped"
                    );
                }
            }
        }
    }
}
