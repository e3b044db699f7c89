//! Prometheus: a recorder and its text exposition.
//!
//! [`Prometheus::install`] makes the process's recorder (once per process; install it
//! before building endpoints, whose metric handles bind to the recorder installed when they
//! are made) and returns a cheap, cloneable handle whose [`render`](Prometheus::render) is
//! the body of `GET /metrics` (with [`CONTENT_TYPE`]).
//!
//! Histograms get the buckets of [`DEFAULT_BUCKETS`] (Prometheus's Go client's defaults, in
//! seconds), or others per metric with [`Builder::buckets_for`]. Without buckets the
//! underlying crate would render summaries; kit always sets them.
//!
//! The recorder keeps histogram samples until they are folded into buckets; a background
//! thread (`kit-metrics-upkeep`) does so every [`Builder::upkeep_interval`] (default 5 s),
//! so memory stays bounded when nobody scrapes. It lives as long as the process, as the
//! global recorder does.
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

use std::fmt;
use std::time::Duration;

use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

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
    handle: PrometheusHandle,
}

/// Configures a [`Prometheus`] recorder; from [`Prometheus::builder`].
pub struct Builder {
    inner: PrometheusBuilder,
    upkeep: Duration,
}

/// Why a recorder could not be made or installed.
#[derive(Debug)]
pub struct InstallError(BuildError);

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Prometheus {
    /// Starts configuring a recorder (with [`DEFAULT_BUCKETS`]).
    pub fn builder() -> Builder {
        Builder {
            inner: PrometheusBuilder::new(),
            upkeep: Duration::from_secs(5),
        }
    }

    /// Installs a recorder with the defaults as the process's recorder; an error if the
    /// process has one already.
    pub fn install() -> Result<Prometheus, InstallError> {
        Prometheus::builder().install()
    }

    /// The text exposition of every metric recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// The underlying handle, for what kit does not wrap.
    pub fn handle(&self) -> &PrometheusHandle {
        &self.handle
    }
}

impl fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus").finish_non_exhaustive()
    }
}

impl Builder {
    /// Buckets (upper bounds) for histograms whose name is `name` exactly; an error if
    /// `buckets` is empty.
    pub fn buckets_for(mut self, name: &str, buckets: &[f64]) -> Result<Builder, InstallError> {
        self.inner = self
            .inner
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
            .map_err(InstallError)?;
        Ok(self)
    }

    /// A label added to every series (e.g. the service's name or zone).
    pub fn global_label(mut self, key: &str, value: &str) -> Builder {
        self.inner = self.inner.add_global_label(key, value);
        self
    }

    /// How often histogram samples are folded into their buckets (default 5 s).
    pub fn upkeep_interval(mut self, interval: Duration) -> Builder {
        self.upkeep = interval;
        self
    }

    /// The recorder, not installed (to compose it with others, or for tests), and its
    /// handle; starts the upkeep thread.
    pub fn build(self) -> (PrometheusRecorder, Prometheus) {
        let recorder = self
            .inner
            .set_buckets(&DEFAULT_BUCKETS)
            .expect("DEFAULT_BUCKETS is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let upkeep = handle.clone();
        let interval = self.upkeep;
        // A thread rather than a task, so that installing needs no runtime. If the OS
        // refuses a thread, rendering still folds samples; only idle memory grows.
        let _ = std::thread::Builder::new()
            .name("kit-metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    upkeep.run_upkeep();
                }
            });
        (recorder, Prometheus { handle })
    }

    /// Builds the recorder and installs it as the process's recorder; an error if the
    /// process has one already.
    pub fn install(self) -> Result<Prometheus, InstallError> {
        let (recorder, prometheus) = self.build();
        metrics::set_global_recorder(recorder)
            .map_err(|err| InstallError(BuildError::FailedToSetGlobalRecorder(err)))?;
        Ok(prometheus)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("upkeep", &self.upkeep)
            .finish_non_exhaustive()
    }
}
