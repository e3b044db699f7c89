//! [`Tracing`]: the tracer provider, its exporters and their batch processors.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanExporter};
use tokio::sync::oneshot;
use tracing::Metadata;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterFn, Filtered, filter_fn};
use tracing_subscriber::registry::LookupSpan;

/// The per-layer filter of [`Tracing::layer`].
pub type ExportStackFilter = FilterFn<fn(&Metadata<'_>) -> bool>;

/// The crates whose spans and events the export itself makes.
const EXPORT_STACK: [&str; 6] = [
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "opentelemetry",
];

/// Whether `meta` is recorded: a span at level INFO or above, or an event at WARN or above
/// (attached to the span it happens in), from outside the crates that carry exports.
fn recorded(meta: &Metadata<'_>) -> bool {
    let level = if meta.is_span() {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    *meta.level() <= level && not_export_stack(meta)
}

/// Whether `meta` comes from outside the crates that carry exports.
fn not_export_stack(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    let krate = target.split("::").next().unwrap_or(target);
    !EXPORT_STACK
        .iter()
        .any(|stack| krate == *stack || (*stack == "opentelemetry" && krate.starts_with(stack)))
}

use super::processor::{BatchProcessor, Control, Controls, Limits};
use super::zipkin::ZipkinExporter;

/// The path OTLP/HTTP takes traces on, added to an HTTP endpoint given without a path.
const OTLP_TRACES_PATH: &str = "/v1/traces";

/// How OTLP is carried.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (a collector's port 4317).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318, `POST /v1/traces`).
    Http,
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::Http => "http",
        })
    }
}

impl std::str::FromStr for OtlpProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<OtlpProtocol, String> {
        match s {
            "grpc" => Ok(OtlpProtocol::Grpc),
            "http" => Ok(OtlpProtocol::Http),
            _ => Err(format!(
                "unknown OTLP protocol {s:?}: expected grpc or http"
            )),
        }
    }
}

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    Otlp {
        endpoint: String,
        protocol: OtlpProtocol,
    },
    Zipkin {
        url: String,
    },
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Otlp { endpoint, protocol } => write!(f, "otlp-{protocol} {endpoint}"),
            Destination::Zipkin { url } => write!(f, "zipkin {url}"),
        }
    }
}

/// How [`Tracing`] is set up; made by [`Tracing::builder`], started by
/// [`start`](TracingBuilder::start).
#[derive(Debug, Clone)]
pub struct TracingBuilder {
    service_name: String,
    destinations: Vec<Destination>,
    sample_ratio: f64,
    limits: Limits,
}

impl TracingBuilder {
    /// Also export over OTLP to `endpoint` (`http://host:port`; over HTTP a URL without a
    /// path gets `/v1/traces`).
    pub fn otlp(mut self, endpoint: impl Into<String>, protocol: OtlpProtocol) -> Self {
        self.destinations.push(Destination::Otlp {
            endpoint: endpoint.into(),
            protocol,
        });
        self
    }

    /// Also export to a Zipkin collector's v2 spans URL (`http://host:9411/api/v2/spans`).
    pub fn zipkin(mut self, url: impl Into<String>) -> Self {
        self.destinations
            .push(Destination::Zipkin { url: url.into() });
        self
    }

    /// The share of new traces recorded (0 to 1, default 1); a span with a parent follows
    /// its parent's decision.
    pub fn sample_ratio(mut self, ratio: f64) -> Self {
        self.sample_ratio = ratio;
        self
    }

    /// How many ended spans wait for export, per exporter, before new ones are dropped
    /// (default 2048).
    pub fn max_queue(mut self, spans: usize) -> Self {
        self.limits.max_queue = spans;
        self
    }

    /// How many spans one export sends at most (default 512).
    pub fn max_batch(mut self, spans: usize) -> Self {
        self.limits.max_batch = spans;
        self
    }

    /// How long spans wait at most before they are exported in a batch that is not full
    /// (default 1 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.limits.interval = interval;
        self
    }

    /// How long one export may take before its spans are dropped (default 5 s); also the
    /// bound of [`TraceHandle::flush_and_stop`].
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.limits.export_timeout = timeout;
        self
    }

    /// What [`start`](Self::start) will export to, one `otlp-grpc URL`, `otlp-http URL` or
    /// `zipkin URL` each, for a log line.
    pub fn destinations(&self) -> Vec<String> {
        self.destinations.iter().map(ToString::to_string).collect()
    }

    /// Builds the exporters and spawns their export tasks on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When called outside a tokio runtime, when the ratio is not within 0..=1, or when an
    /// endpoint is not a valid URL.
    pub fn start(self) -> Result<Tracing, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                "kit_tracing::otel::Tracing must start inside a tokio runtime",
            ));
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(Error::new(format!(
                "sample ratio {} is not within 0..=1",
                self.sample_ratio
            )));
        }
        let resource = Resource::builder_empty()
            .with_service_name(self.service_name.clone())
            .build();
        let mut provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(super::Sampler::new(self.sample_ratio));
        let mut controls = Vec::new();
        for destination in &self.destinations {
            let name = destination.to_string();
            let (processor, control) = match destination {
                Destination::Otlp { endpoint, protocol } => {
                    let mut exporter = otlp_exporter(endpoint, *protocol, self.limits)?;
                    exporter.set_resource(&resource);
                    BatchProcessor::spawn(exporter, name, self.limits)
                }
                Destination::Zipkin { url } => {
                    let url = url
                        .parse()
                        .map_err(|err| Error::new(format!("zipkin URL {url:?}: {err}")))?;
                    let exporter = ZipkinExporter::new(url, self.service_name.clone());
                    BatchProcessor::spawn(exporter, name, self.limits)
                }
            };
            provider = provider.with_span_processor(processor);
            controls.push(control);
        }
        let provider = provider.build();
        Ok(Tracing {
            tracer: provider.tracer("kit"),
            provider,
            sample_ratio: self.sample_ratio,
            handle: TraceHandle {
                controls,
                export_timeout: self.limits.export_timeout,
            },
        })
    }
}

/// opentelemetry-otlp's exporter for `endpoint`.
fn otlp_exporter(
    endpoint: &str,
    protocol: OtlpProtocol,
    limits: Limits,
) -> Result<opentelemetry_otlp::SpanExporter, Error> {
    let built = match protocol {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(limits.export_timeout)
            .build(),
        OtlpProtocol::Http => {
            let endpoint = match endpoint.parse::<http::Uri>() {
                Ok(uri) if matches!(uri.path(), "" | "/") => {
                    format!("{}{OTLP_TRACES_PATH}", endpoint.trim_end_matches('/'))
                }
                _ => endpoint.to_owned(),
            };
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .with_timeout(limits.export_timeout)
                .build()
        }
    };
    built.map_err(|err| Error::new(format!("OTLP exporter for {endpoint:?}: {err}")))
}

/// Request tracing, started: the tracer that [`layer`](Tracing::layer) records spans with,
/// and the export tasks behind it.
pub struct Tracing {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    sample_ratio: f64,
    handle: TraceHandle,
}

impl fmt::Debug for Tracing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracing")
            .field("sample_ratio", &self.sample_ratio)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Tracing {
    /// A builder for the spans of `service_name` (the resource's `service.name`), with no
    /// exporter yet.
    pub fn builder(service_name: impl Into<String>) -> TracingBuilder {
        TracingBuilder {
            service_name: service_name.into(),
            destinations: Vec::new(),
            sample_ratio: 1.0,
            limits: Limits {
                max_queue: 2048,
                max_batch: 512,
                interval: Duration::from_secs(1),
                export_timeout: Duration::from_secs(5),
            },
        }
    }

    /// The layer recording `tracing` spans as OpenTelemetry spans with this tracer:
    /// [`layer`](super::layer), which installs kit's bridge with the same sample ratio,
    /// filtered by level and origin, whatever the log level: spans at INFO and above (kit's
    /// spans are INFO; DEBUG and TRACE spans are libraries' inner workings), events at
    /// WARN and above (attached to their span as span events), and nothing from the crates
    /// that carry the exports (targets
    /// `h2`, `hyper`, `hyper_util`, `tonic`, `tower`, `opentelemetry*` and their modules):
    /// recorded, every export would make spans to export, with `RUST_LOG=trace` without end.
    pub fn layer<S>(&self) -> Filtered<OpenTelemetryLayer<S, SdkTracer>, ExportStackFilter, S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        super::layer(self.tracer.clone(), self.sample_ratio)
            .with_filter(filter_fn(recorded as fn(&Metadata<'_>) -> bool))
    }

    /// The tracer provider, to make more tracers.
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// A handle on the export tasks: counts, flush and stop.
    pub fn handle(&self) -> TraceHandle {
        self.handle.clone()
    }
}

/// A handle on [`Tracing`]'s export tasks. With several exporters, counts are summed over
/// them (a span sent to two exporters counts twice).
#[derive(Debug, Clone)]
pub struct TraceHandle {
    controls: Vec<Controls>,
    export_timeout: Duration,
}

impl TraceHandle {
    /// Spans dropped so far: queue full, exporter stopped, export failed or timed out.
    pub fn dropped(&self) -> u64 {
        self.sum(|c| c.counts.dropped.load(Ordering::Relaxed))
    }

    /// Spans the exporters accepted so far.
    pub fn exported(&self) -> u64 {
        self.sum(|c| c.counts.exported.load(Ordering::Relaxed))
    }

    fn sum(&self, count: impl Fn(&Controls) -> u64) -> u64 {
        self.controls.iter().map(count).sum()
    }

    /// Exports every span ended before this call and waits until each exporter has
    /// answered (or its export timed out).
    pub async fn flush(&self) {
        self.request(Control::Flush).await;
    }

    /// Exports every span ended before this call and stops the export tasks; spans ended
    /// afterwards are dropped. Waits at most the export timeout.
    ///
    /// # Errors
    ///
    /// When the exporters have not all finished within the export timeout (the tasks go on
    /// until their exports end).
    pub async fn flush_and_stop(&self) -> Result<(), Error> {
        tokio::time::timeout(self.export_timeout, self.request(Control::Stop))
            .await
            .map_err(|_| {
                Error::new(format!(
                    "span exporters did not finish within {:?}",
                    self.export_timeout
                ))
            })
    }

    /// Sends each task a request made by `make` and waits for every answer.
    async fn request(&self, make: fn(oneshot::Sender<()>) -> Control) {
        let mut answers = Vec::with_capacity(self.controls.len());
        for control in &self.controls {
            let (done, answer) = oneshot::channel();
            if control.control.send(make(done)).is_ok() {
                answers.push(answer);
            }
        }
        for answer in answers {
            // An error means the task had stopped already: nothing left to wait for.
            let _ = answer.await;
        }
    }
}

/// Why request tracing could not start or stop.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
