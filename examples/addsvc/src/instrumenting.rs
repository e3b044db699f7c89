//! The service's own metrics (Go kit addsvc's service-level instrumenting middleware):
//! how many integers were summed and characters concatenated.

use kit::middleware::metrics::{Counter, CounterFamily};
use kit::{Context, Error};

use crate::Add;

/// Counter `example_addsvc_integers_summed`: adds the result of each successful Sum.
pub const INTEGERS_SUMMED: &str = "example_addsvc_integers_summed";
/// Counter `example_addsvc_characters_concatenated`: adds the byte length of each
/// successful Concat result.
pub const CHARACTERS_CONCATENATED: &str = "example_addsvc_characters_concatenated";

/// An [`Add`] that counts what `inner` computes. A counter only goes up, so a negative sum
/// adds nothing (Go kit's Prometheus counter would panic on it).
#[derive(Debug, Clone)]
pub struct Instrumenting<S> {
    inner: S,
    integers: Counter,
    characters: Counter,
}

impl<S> Instrumenting<S> {
    /// Wraps `inner`, registering the two counters with the installed recorder.
    pub fn new(inner: S) -> Self {
        let counter = |name: &str, help: &'static str| {
            CounterFamily::new(name, [])
                .expect("the names are valid")
                .describe(help)
                .series([])
        };
        Instrumenting {
            inner,
            integers: counter(
                INTEGERS_SUMMED,
                "Total count of integers summed via the Sum method.",
            ),
            characters: counter(
                CHARACTERS_CONCATENATED,
                "Total count of characters concatenated via the Concat method.",
            ),
        }
    }
}

impl<S: Add> Add for Instrumenting<S> {
    async fn sum(&self, ctx: &Context, a: i64, b: i64) -> Result<i64, Error> {
        let v = self.inner.sum(ctx, a, b).await?;
        self.integers.increment(u64::try_from(v).unwrap_or(0));
        Ok(v)
    }

    async fn concat(&self, ctx: &Context, a: String, b: String) -> Result<String, Error> {
        let v = self.inner.concat(ctx, a, b).await?;
        self.characters.increment(v.len() as u64);
        Ok(v)
    }
}
