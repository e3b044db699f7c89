//! Classifiers: what an error means, as a policy.

use std::fmt;

use super::{Class, Error};

/// Decides what an error means for retries, circuit breakers, metrics and logs.
///
/// Middleware that reacts to errors asks a classifier rather than the error's code, so that
/// a client or an endpoint can see particular errors differently from the default
/// ([`ByCode`], the table of [`Code::class`](crate::Code::class)), as Finagle's response
/// classifiers do: a conflict that clears up by itself may be worth retrying, an error
/// message that means "try elsewhere" may be retryable whatever its code.
///
/// Any `Fn(&Error) -> Class` is a classifier; [`classify_with`] overrides the default for
/// some errors only.
///
/// ```
/// use kit::error::{classify_with, Classifier};
/// use kit::{Code, Error};
///
/// // Treat "lock contention" answers as retryable, whatever their code.
/// let classifier = classify_with(|err: &Error| {
///     err.message().contains("lock contention").then(|| err.code().class().with_retryable(true))
/// });
/// assert!(classifier.classify(&Error::internal("lock contention on row 7")).retryable);
/// assert!(!classifier.classify(&Error::internal("disk on fire")).retryable);
/// ```
pub trait Classifier: Send + Sync + 'static {
    /// What `err` means.
    fn classify(&self, err: &Error) -> Class;
}

impl<F> Classifier for F
where
    F: Fn(&Error) -> Class + Send + Sync + 'static,
{
    fn classify(&self, err: &Error) -> Class {
        self(err)
    }
}

/// The default classifier: an error means what its code means
/// ([`Code::class`](crate::Code::class)).
#[derive(Debug, Clone, Copy, Default)]
pub struct ByCode;

impl Classifier for ByCode {
    fn classify(&self, err: &Error) -> Class {
        err.code().class()
    }
}

/// A classifier that asks `f` first and falls back to [`ByCode`] where `f` returns `None`.
pub fn classify_with<F>(f: F) -> ClassifyWith<F>
where
    F: Fn(&Error) -> Option<Class> + Send + Sync + 'static,
{
    ClassifyWith { f }
}

/// The classifier made by [`classify_with`].
#[derive(Clone, Copy)]
pub struct ClassifyWith<F> {
    f: F,
}

impl<F> Classifier for ClassifyWith<F>
where
    F: Fn(&Error) -> Option<Class> + Send + Sync + 'static,
{
    fn classify(&self, err: &Error) -> Class {
        (self.f)(err).unwrap_or_else(|| ByCode.classify(err))
    }
}

impl<F> fmt::Debug for ClassifyWith<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassifyWith").finish_non_exhaustive()
    }
}

/// The retry-safety rule: whether a call that failed with `err` may be sent again.
///
/// It may when its classifier calls the error retryable **and** sending it again cannot run
/// it twice: the request never reached the callee, the callee answered (so it is known what
/// happened), or the call is idempotent (`idempotent` here, or the error says so; see
/// [`Error::is_replay_safe`]). Retry middleware applies exactly this rule.
///
/// ```
/// use kit::error::{may_retry, ByCode, Delivery};
/// use kit::Error;
///
/// let lost = Error::unavailable("connection reset").with_delivery(Delivery::MaybeExecuted);
/// assert!(!may_retry(&ByCode, &lost, false)); // it may have run: not for a payment
/// assert!(may_retry(&ByCode, &lost, true)); // a read may run twice
/// let refused = Error::unavailable("connection refused").with_delivery(Delivery::NotSent);
/// assert!(may_retry(&ByCode, &refused, false));
/// ```
pub fn may_retry(classifier: &(impl Classifier + ?Sized), err: &Error, idempotent: bool) -> bool {
    classifier.classify(err).retryable && (idempotent || err.is_replay_safe())
}
