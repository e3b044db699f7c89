//! Flag groups that every kit service shares, to flatten into its arguments.

use std::time::Duration;

use clap::{Args, Command, FromArgMatches};

use crate::parse_duration;

/// How the service stops: `--drain-delay` (default `0s`) and `--shutdown-grace` (default
/// `10s`), Go durations. Flatten it into the service's arguments and hand it to
/// [`App::new`](crate::App::new):
///
/// ```
/// use std::time::Duration;
/// use clap::Parser;
/// use kit_app::ShutdownFlags;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     shutdown: ShutdownFlags,
/// }
///
/// let args = Args::parse_from(["svc", "--drain-delay", "5s"]);
/// assert_eq!(args.shutdown.drain_delay, Duration::from_secs(5));
/// assert_eq!(args.shutdown.shutdown_grace, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct ShutdownFlags {
    /// After SIGINT/SIGTERM, how long to keep serving while reporting not ready (`/ready`
    /// 503, gRPC health NOT_SERVING), so that probes and balancers stop sending calls
    /// before the listeners close.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub drain_delay: Duration,
    /// How long in-flight requests may take to finish once the listeners close.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

impl Default for ShutdownFlags {
    /// The flags' defaults, as a command line without them gives.
    fn default() -> ShutdownFlags {
        let command = ShutdownFlags::augment_args(Command::new("defaults"));
        ShutdownFlags::from_arg_matches(&command.get_matches_from(["defaults"]))
            .expect("the defaults parse")
    }
}

/// A service's limits on calls: `--no-limits` serves without its rate limits and circuit
/// breakers (for benchmarks), and `--breaker-timeout` (default `60s`, gobreaker's and so Go
/// kit's) is how long an opened circuit breaker refuses calls before it lets a probe through.
/// Flatten it into the service's arguments; the service decides what its limits are.
///
/// ```
/// use std::time::Duration;
/// use clap::Parser;
/// use kit_app::LimitFlags;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     limits: LimitFlags,
/// }
///
/// let args = Args::parse_from(["svc", "--breaker-timeout", "2s"]);
/// assert!(!args.limits.no_limits);
/// assert_eq!(args.limits.breaker_timeout, Duration::from_secs(2));
/// assert!(Args::parse_from(["svc", "--no-limits"]).limits.no_limits);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct LimitFlags {
    /// Serve without rate limits and circuit breakers (for benchmarks).
    #[arg(long)]
    pub no_limits: bool,
    /// How long an opened circuit breaker refuses calls before it lets a probe through.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub breaker_timeout: Duration,
}

/// How the service logs: `--log-format logfmt|json` (default `logfmt`, Go kit's). Flatten it
/// into the service's arguments and hand the format to [`App::log_format`](crate::App::log_format):
///
/// ```
/// use clap::Parser;
/// use kit_app::LogFlags;
/// use kit_tracing::Format;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     log: LogFlags,
/// }
///
/// assert_eq!(Args::parse_from(["svc"]).log.log_format, Format::Logfmt);
/// assert_eq!(Args::parse_from(["svc", "--log-format", "json"]).log.log_format, Format::Json);
/// assert!(Args::try_parse_from(["svc", "--log-format", "xml"]).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct LogFlags {
    /// Format of the log lines on standard error: `logfmt` or `json`. Levels come from
    /// `RUST_LOG` (default `info`) and can be changed while running with `POST /log/level`
    /// on the debug listener.
    #[arg(long, value_name = "FORMAT", default_value = "logfmt")]
    pub log_format: kit_tracing::Format,
}

/// Where the service's spans go: `--zipkin-url URL` (a Zipkin v2 spans endpoint,
/// `http://host:9411/api/v2/spans`), `--otlp-endpoint URL` (`http://host:4317` over gRPC,
/// `http://host:4318` over HTTP) with `--otlp-protocol grpc|http` (default `grpc`), and
/// `--trace-sample RATIO` (the share of new traces recorded, 0 to 1, default 1). Without an
/// exporter the service does not trace. Flatten it into the service's arguments and hand it
/// to [`App::tracing`](crate::App::tracing):
///
/// ```
/// use clap::Parser;
/// use kit_app::TraceFlags;
///
/// #[derive(Debug, Parser)]
/// struct Args {
///     #[command(flatten)]
///     trace: TraceFlags,
/// }
///
/// let args = Args::parse_from(["svc", "--otlp-endpoint", "http://127.0.0.1:4317"]);
/// let builder = args.trace.builder("svc").expect("an exporter is set");
/// assert_eq!(builder.destinations(), ["otlp-grpc http://127.0.0.1:4317"]);
/// assert!(Args::parse_from(["svc"]).trace.builder("svc").is_none());
/// let err = Args::try_parse_from(["svc", "--trace-sample", "1.5"]).unwrap_err();
/// assert!(err.to_string().contains("1.5 is not a ratio from 0 to 1"), "{err}");
/// ```
#[cfg(feature = "otel")]
#[derive(Debug, Clone, PartialEq, Args)]
pub struct TraceFlags {
    /// Send spans to this Zipkin collector (API v2 spans URL).
    #[arg(long, value_name = "URL")]
    pub zipkin_url: Option<String>,
    /// Send spans to this OpenTelemetry collector over OTLP.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// How OTLP is carried: `grpc` or `http` (protobuf bodies).
    #[arg(long, value_name = "PROTOCOL", default_value = "grpc")]
    pub otlp_protocol: kit_tracing::otel::OtlpProtocol,
    /// The share of new traces recorded, from 0 to 1; a request that comes with a trace
    /// follows the caller's decision.
    #[arg(long, value_name = "RATIO", default_value = "1.0", value_parser = parse_ratio)]
    pub trace_sample: f64,
}

#[cfg(feature = "otel")]
impl TraceFlags {
    /// A tracing builder for the spans of `service_name` with the flags' exporters and
    /// ratio, or `None` when no exporter is set.
    pub fn builder(&self, service_name: &str) -> Option<kit_tracing::otel::TracingBuilder> {
        if self.zipkin_url.is_none() && self.otlp_endpoint.is_none() {
            return None;
        }
        let mut builder =
            kit_tracing::otel::Tracing::builder(service_name).sample_ratio(self.trace_sample);
        if let Some(endpoint) = &self.otlp_endpoint {
            builder = builder.otlp(endpoint.clone(), self.otlp_protocol);
        }
        if let Some(url) = &self.zipkin_url {
            builder = builder.zipkin(url.clone());
        }
        Some(builder)
    }
}

/// A `--trace-sample` value: a number from 0 to 1.
#[cfg(feature = "otel")]
fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(format!("{text} is not a ratio from 0 to 1")),
    }
}
