//! A service's own metrics, with label sets checked before any value is recorded.
//!
//! A family is a metric name and a fixed list of label names, `[&'static str; N]`; a series
//! of it is asked for with exactly `N` values, `[&'static str; N]`. So:
//! - a wrong number of values is a **compile error** (Go kit's `With` panics on an odd count
//!   at run time);
//! - a bad name (not `[a-zA-Z_:][a-zA-Z0-9_:]*`), a bad or reserved label name (`__*`) or a
//!   label named twice is a [`MetricNameError`] when the family is made, before anything
//!   is recorded;
//! - label values are `&'static str`: literals, or names from the service's definition. A
//!   value a client sent (a JSON-RPC method, a path, a header) is not `'static`, so it cannot
//!   become a label by accident; map it onto the values you know with [`known_or_other`],
//!   which collapses everything else into [`OTHER`], so a hostile client cannot grow the
//!   number of series.
//!
//! Ask for each series once (when the service starts, or the first time through a
//! `OnceLock`) and keep the handle: recording through a kept handle is an atomic operation,
//! while asking again looks the series up in the recorder.
//!
//! ```
//! use kit::middleware::metrics::labels::{known_or_other, CounterFamily};
//!
//! let calls = CounterFamily::new("shop_orders_total", ["region", "express"])
//!     .unwrap()
//!     .describe("Orders taken.");
//! let eu_express = calls.series(["eu", "true"]);
//! eu_express.increment(1);
//!
//! let from_client = String::from("no-such-region");
//! assert_eq!(known_or_other(&from_client, &["eu", "us"]), "other");
//! ```
//!
//! One value short is refused by the compiler (E0308, an array of 1 where 2 are expected):
//!
//! ```compile_fail,E0308
//! # use kit::middleware::metrics::labels::CounterFamily;
//! let calls = CounterFamily::new("shop_orders_total", ["region", "express"]).unwrap();
//! calls.series(["eu"]);
//! ```
//!
//! And so is a value the client sent, which is not `'static` (E0597, or E0716 for a
//! temporary):
//!
//! ```compile_fail,E0597
//! # use kit::middleware::metrics::labels::CounterFamily;
//! let calls = CounterFamily::new("shop_orders_total", ["region"]).unwrap();
//! let from_client = String::from("eu");
//! calls.series([from_client.as_str()]);
//! ```

use std::fmt;

use ::metrics::{Counter, Gauge, Histogram, Label, SharedString, Unit};

/// The label value that stands for every value outside a known set ([`known_or_other`]).
pub const OTHER: &str = "other";

/// `value` as one of `known` (the `'static` copy), or [`OTHER`] if it is none of them.
pub fn known_or_other(value: &str, known: &[&'static str]) -> &'static str {
    known.iter().copied().find(|k| *k == value).unwrap_or(OTHER)
}

/// A `bool` as a label value: `"true"` or `"false"`.
pub const fn bool_label(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// A metric or label name that Prometheus (and so kit) does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricNameError {
    message: String,
}

impl fmt::Display for MetricNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MetricNameError {}

fn valid_name(name: &str, colons: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
    chars.next().is_some_and(first_ok) && chars.all(|c| first_ok(c) || c.is_ascii_digit())
}

/// A checked name and label names, shared by the three families.
#[derive(Clone)]
struct Family<const N: usize> {
    name: SharedString,
    labels: [&'static str; N],
}

impl<const N: usize> Family<N> {
    fn new(name: &str, labels: [&'static str; N]) -> Result<Self, MetricNameError> {
        let error = |message: String| Err(MetricNameError { message });
        if !valid_name(name, true) {
            return error(format!(
                "metric name {name:?} is not [a-zA-Z_:][a-zA-Z0-9_:]*"
            ));
        }
        for (i, label) in labels.iter().enumerate() {
            if !valid_name(label, false) || label.starts_with("__") {
                return error(format!(
                    "label name {label:?} of metric {name} is not [a-zA-Z_][a-zA-Z0-9_]* \
                     or starts with the reserved __"
                ));
            }
            if labels[..i].contains(label) {
                return error(format!("label {label:?} of metric {name} is named twice"));
            }
        }
        Ok(Family {
            name: name.to_owned().into(),
            labels,
        })
    }

    fn key_labels(&self, values: [&'static str; N]) -> Vec<Label> {
        self.labels
            .iter()
            .zip(values)
            .map(|(name, value)| Label::from_static_parts(name, value))
            .collect()
    }
}

impl<const N: usize> fmt::Debug for Family<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.name)
            .field("labels", &self.labels)
            .finish()
    }
}

macro_rules! family {
    ($(#[$doc:meta])* $family:ident, $handle:ident, $macro:ident, $describe:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $family<const N: usize> {
            family: Family<N>,
        }

        impl<const N: usize> $family<N> {
            /// The family of metric `name` with the label names `labels`; an error if a
            /// name is not one Prometheus accepts or a label is named twice.
            pub fn new(name: &str, labels: [&'static str; N]) -> Result<Self, MetricNameError> {
                Ok($family { family: Family::new(name, labels)? })
            }

            /// Describes the metric to the installed recorder (Prometheus's help text).
            pub fn describe(self, description: &'static str) -> Self {
                ::metrics::$describe!(self.family.name.clone(), description);
                self
            }

            /// Describes the metric with its unit to the installed recorder.
            pub fn describe_with_unit(self, unit: Unit, description: &'static str) -> Self {
                ::metrics::$describe!(self.family.name.clone(), unit, description);
                self
            }

            /// The metric's name.
            pub fn name(&self) -> &str {
                &self.family.name
            }

            /// The series with label values `values` (in the order of the label names),
            /// registered with the installed recorder; keep the handle.
            pub fn series(&self, values: [&'static str; N]) -> $handle {
                ::metrics::$macro!(self.family.name.clone(), self.family.key_labels(values))
            }
        }
    };
}

family!(
    /// A counter with a fixed label set; see the [module docs](self).
    CounterFamily,
    Counter,
    counter,
    describe_counter
);
family!(
    /// A gauge with a fixed label set; see the [module docs](self).
    GaugeFamily,
    Gauge,
    gauge,
    describe_gauge
);
family!(
    /// A histogram with a fixed label set; see the [module docs](self).
    HistogramFamily,
    Histogram,
    histogram,
    describe_histogram
);
