use std::fmt;
use std::sync::Arc;

use tokio::time::Instant;

use super::{Balancer, Candidates, Endpointer, InstanceStats, OutlierDetection};
use crate::error::{ByCode, Classifier, Delivery};
use crate::{Context, Endpoint, Error};

/// An endpoint that calls one of an [`Endpointer`]'s endpoints per call, as its
/// [`Balancer`] picks, keeping each instance's statistics and ejecting outliers.
///
/// - No endpoints: `Unavailable` "no endpoints available" (never sent, so a retry may try
///   again), with the registry's error as its source when it is failing.
/// - A call made before the registry has answered waits for its first answer, within the
///   call's deadline.
/// - Each call counts in flight on its instance until it ends or is dropped; its latency
///   and outcome (a failure as the [classifier](Balanced::classifier) says) feed the
///   instance's [statistics](Balanced::stats) and, when set, [outlier
///   detection](Balanced::outlier_detection).
///
/// Wrap it in a retry to try another instance after a failure, as Go kit's `lb.Retry` does:
/// `middleware::chain().retry(RetryPolicy::default().timeout(..)).endpoint(balanced)`; each
/// attempt asks the balancer again.
pub struct Balanced<E, B> {
    shared: Arc<Shared<E, B>>,
}

struct Shared<E, B> {
    endpointer: Endpointer<E>,
    balancer: B,
    outliers: Option<OutlierDetection>,
    classifier: Box<dyn Classifier>,
}

impl<E, B> Clone for Balanced<E, B> {
    fn clone(&self) -> Self {
        Balanced {
            shared: self.shared.clone(),
        }
    }
}

impl<E, B> Balanced<E, B>
where
    E: Send + Sync + 'static,
    B: Balancer,
{
    /// Calls `endpointer`'s endpoints as `balancer` picks, without outlier detection, with
    /// failures as their codes say ([`ByCode`]).
    pub fn new(endpointer: Endpointer<E>, balancer: B) -> Balanced<E, B> {
        Balanced {
            shared: Arc::new(Shared {
                endpointer,
                balancer,
                outliers: None,
                classifier: Box::new(ByCode),
            }),
        }
    }

    /// This balancer, ejecting instances per `policy`.
    pub fn outlier_detection(self, policy: OutlierDetection) -> Balanced<E, B> {
        self.rebuild(|shared| shared.outliers = Some(policy))
    }

    /// This balancer, counting failures as `classifier` says.
    pub fn classifier(self, classifier: impl Classifier) -> Balanced<E, B> {
        self.rebuild(|shared| shared.classifier = Box::new(classifier))
    }

    fn rebuild(self, f: impl FnOnce(&mut Shared<E, B>)) -> Balanced<E, B> {
        let mut shared = Arc::into_inner(self.shared)
            .unwrap_or_else(|| panic!("configure a Balanced before cloning it"));
        f(&mut shared);
        Balanced {
            shared: Arc::new(shared),
        }
    }

    /// The endpointer it balances over.
    pub fn endpointer(&self) -> &Endpointer<E> {
        &self.shared.endpointer
    }

    /// Each instance's statistics, in instance order.
    pub fn stats(&self) -> Vec<InstanceStats> {
        let endpoints = self.shared.endpointer.endpoints();
        endpoints.entries().iter().map(|e| e.stats()).collect()
    }
}

/// The error of a call with nothing to call.
fn no_endpoints(registry: Option<Arc<Error>>) -> Error {
    let err = Error::unavailable("no endpoints available").with_delivery(Delivery::NotSent);
    match registry {
        Some(registry) => err.with_source(registry),
        None => err,
    }
}

impl<Req, E, B> Endpoint<Req> for Balanced<E, B>
where
    E: Endpoint<Req>,
    B: Balancer,
    Req: Send,
{
    type Response = E::Response;

    async fn call(&self, ctx: Context, req: Req) -> Result<E::Response, Error> {
        let shared = &*self.shared;
        let endpoints = shared.endpointer.ready(&ctx).await?;
        let entries = endpoints.entries();
        if entries.is_empty() {
            return Err(no_endpoints(endpoints.shared_error()));
        }
        let start = Instant::now();
        let candidates = Candidates::new(entries, start);
        let entry = &entries[shared.balancer.pick(&candidates)];
        let in_flight = entry.stats.start();
        let result = entry.endpoint().call(ctx, req).await;
        drop(in_flight);
        let failed = match &result {
            Ok(_) => false,
            Err(err) => shared.classifier.classify(err).failure,
        };
        let end = Instant::now();
        entry.stats.observe(end, end - start, failed);
        if failed
            && let Some(policy) = &shared.outliers
            && entry.stats.consecutive_failures() >= policy.consecutive_failures
        {
            let ejected = entries.iter().filter(|e| e.stats.is_ejected(end)).count();
            if ejected < policy.max_ejected(entries.len()) && entry.stats.eject(end, policy) {
                tracing::warn!(instance = %entry.instance(), "sd: instance ejected after failing calls");
            }
        }
        result
    }
}

impl<E, B: fmt::Debug> fmt::Debug for Balanced<E, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balanced")
            .field("endpointer", &self.shared.endpointer)
            .field("balancer", &self.shared.balancer)
            .field("outliers", &self.shared.outliers)
            .finish_non_exhaustive()
    }
}
