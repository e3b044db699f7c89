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
