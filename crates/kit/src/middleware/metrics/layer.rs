use std::fmt;
use std::sync::Arc;

use ::metrics::{Counter, Gauge, Histogram, SharedString, Unit};
use tower_layer::Layer;

use super::Instrumented;
use crate::error::{ByCode, Classifier};

/// The names of the three request metrics; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct RequestMetrics {
    requests: SharedString,
    duration: SharedString,
    in_flight: SharedString,
}

impl RequestMetrics {
    /// `{prefix}_requests_total`, `{prefix}_request_duration_seconds` and
    /// `{prefix}_requests_in_flight`, described to the installed recorder (the help text
    /// of Prometheus's exposition).
    pub fn new(prefix: &str) -> RequestMetrics {
        let names = RequestMetrics {
            requests: format!("{prefix}_requests_total").into(),
            duration: format!("{prefix}_request_duration_seconds").into(),
            in_flight: format!("{prefix}_requests_in_flight").into(),
        };
        ::metrics::describe_counter!(
            names.requests.clone(),
            "Calls that finished or were abandoned."
        );
        ::metrics::describe_histogram!(
            names.duration.clone(),
            Unit::Seconds,
            "How long calls took, in seconds."
        );
        ::metrics::describe_gauge!(names.in_flight.clone(), "Calls in progress.");
        names
    }

    /// The request counter's name.
    pub fn requests(&self) -> &str {
        &self.requests
    }

    /// The duration histogram's name.
    pub fn duration(&self) -> &str {
        &self.duration
    }

    /// The in-flight gauge's name.
    pub fn in_flight(&self) -> &str {
        &self.in_flight
    }
}

impl Default for RequestMetrics {
    /// The names with prefix `kit`.
    fn default() -> Self {
        RequestMetrics::new("kit")
    }
}

/// The handles of one method, registered once: index 0 is `success="false"`, 1 is `"true"`.
pub(super) struct Handles {
    pub(super) requests: [Counter; 2],
    pub(super) duration: [Histogram; 2],
    pub(super) in_flight: Gauge,
}

impl Handles {
    fn register(names: &RequestMetrics, method: &'static str) -> Handles {
        let requests = |success: &'static str| ::metrics::counter!(names.requests.clone(), "method" => method, "success" => success);
        let duration = |success: &'static str| ::metrics::histogram!(names.duration.clone(), "method" => method, "success" => success);
        Handles {
            requests: [requests("false"), requests("true")],
            duration: [duration("false"), duration("true")],
            in_flight: ::metrics::gauge!(names.in_flight.clone(), "method" => method),
        }
    }
}

/// Wraps endpoints in [`Instrumented`].
#[derive(Clone)]
pub struct InstrumentLayer {
    method: &'static str,
    handles: Arc<Handles>,
    classifier: Arc<dyn Classifier>,
}

impl InstrumentLayer {
    /// Records the calls of the method named `method` (a name from the service's definition,
    /// never one a client sent) under `names`, registering its handles with the recorder
    /// installed now.
    pub fn new(names: &RequestMetrics, method: &'static str) -> InstrumentLayer {
        InstrumentLayer {
            method,
            handles: Arc::new(Handles::register(names, method)),
            classifier: Arc::new(ByCode),
        }
    }

    /// Decides which errors are failures (`success="false"`) with `classifier` instead of
    /// by their code.
    pub fn classifier(mut self, classifier: impl Classifier) -> InstrumentLayer {
        self.classifier = Arc::new(classifier);
        self
    }
}

impl<E> Layer<E> for InstrumentLayer {
    type Service = Instrumented<E>;

    fn layer(&self, inner: E) -> Instrumented<E> {
        Instrumented::new(inner, self.handles.clone(), self.classifier.clone())
    }
}

impl fmt::Debug for InstrumentLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentLayer")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}
