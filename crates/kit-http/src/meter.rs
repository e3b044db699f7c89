//! The seam between the servers and their metrics: where a route's handles go once metrics
//! are turned on, and nothing at all without the `metrics` feature.

#[cfg(feature = "metrics")]
mod on {
    use std::sync::{Arc, OnceLock};
    use std::time::Instant;

    use kit::Code;

    pub(crate) use crate::metrics::Call;
    use crate::metrics::RouteMetrics;

    /// A route's handles, once the router (or the JSON-RPC server) has metrics turned on:
    /// shared by the router and the route's server, filled at most once.
    #[derive(Clone, Default)]
    pub struct Slot(Arc<OnceLock<RouteMetrics>>);

    impl Slot {
        pub(crate) fn set(&self, metrics: RouteMetrics) {
            // Turned on twice: the first names stay.
            let _ = self.0.set(metrics);
        }

        pub(crate) fn begin(&self) -> Option<Call> {
            self.0.get().map(RouteMetrics::begin)
        }

        pub(crate) fn start(&self) -> Option<Instant> {
            self.0.get().map(|_| Instant::now())
        }

        pub(crate) fn record(&self, start: Option<Instant>, code: Option<Code>) {
            if let (Some(metrics), Some(start)) = (self.0.get(), start) {
                metrics.record(code, start.elapsed());
            }
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod off {
    use std::time::Instant;

    use kit::Code;

    /// Metrics are not built in: never filled.
    #[derive(Clone, Default)]
    pub struct Slot(());

    /// No call is ever metered.
    pub(crate) enum Call {}

    impl Call {
        pub(crate) fn finish(self, _code: Option<Code>) {
            match self {}
        }

        pub(crate) fn end_unrecorded(self) {
            match self {}
        }
    }

    impl Slot {
        pub(crate) fn begin(&self) -> Option<Call> {
            None
        }

        pub(crate) fn start(&self) -> Option<Instant> {
            None
        }

        pub(crate) fn record(&self, _start: Option<Instant>, _code: Option<Code>) {}
    }
}

#[cfg(not(feature = "metrics"))]
pub(crate) use off::Slot;
#[cfg(feature = "metrics")]
pub(crate) use on::Slot;

/// The outcome of an HTTP answer, for the metrics: the error's code, else `None` (a
/// success) below `400` and the status's code above.
pub(crate) fn outcome(
    result: &Result<http::Response<crate::Body>, kit::Error>,
) -> Option<kit::Code> {
    match result {
        Err(err) => Some(err.code()),
        Ok(response) => status_outcome(response.status()),
    }
}

/// The outcome of an answer with `status`: `None` (a success) below `400`.
pub(crate) fn status_outcome(status: http::StatusCode) -> Option<kit::Code> {
    (status.as_u16() >= 400).then(|| crate::code_for(status))
}
