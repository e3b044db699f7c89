//! Request-scoped state: deadline, cancellation, metadata and typed values.
//!
//! A [`Context`] travels with every call, from the transport that received it, through the
//! middleware chain, into the service and on to the clients it calls. It is immutable:
//! `with_*` methods derive a child and leave the parent as it was, so a middleware can narrow
//! the deadline for the calls below it without touching its caller's view. Cloning is cheap
//! (a few reference-count increments) and a context without metadata or values allocates
//! nothing.
//!
//! ```
//! use std::time::Duration;
//! use kit::Context;
//!
//! let ctx = Context::background()
//!     .with_timeout(Duration::from_secs(2))
//!     .with_propagated("x-request-id", "req-42")
//!     .with_metadata("tenant", "blue");
//! assert!(ctx.remaining().unwrap() <= Duration::from_secs(2));
//! assert_eq!(ctx.metadata("x-request-id"), Some("req-42"));
//! // Only propagated entries are sent on by clients.
//! assert_eq!(ctx.propagated().collect::<Vec<_>>(), [("x-request-id", "req-42")]);
//! ```

mod chain;

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Error;
use chain::Chain;

/// Request-scoped state passed to every [`Endpoint`](crate::Endpoint) call.
///
/// See the [module docs](self) for an overview.
#[derive(Clone, Default)]
pub struct Context {
    deadline: Option<Instant>,
    cancel: Option<CancellationToken>,
    metadata: Chain<MetadataEntry>,
    values: Chain<ValueEntry>,
}

struct MetadataEntry {
    key: Cow<'static, str>,
    value: Cow<'static, str>,
    propagate: bool,
}

struct ValueEntry {
    type_id: TypeId,
    value: Box<dyn Any + Send + Sync>,
}

/// Cancels the context returned with it by [`Context::with_cancel`] and every context
/// derived from that one.
///
/// Dropping it does not cancel.
#[derive(Clone, Debug)]
pub struct CancelHandle {
    token: CancellationToken,
}

impl CancelHandle {
    /// Cancels the context: calls running under it end promptly with
    /// [`Code::Cancelled`](crate::Code::Cancelled).
    pub fn cancel(&self) {
        self.token.cancel();
    }
}

impl Context {
    /// An empty context: no deadline, never cancelled, no metadata or values.
    pub fn background() -> Context {
        Context::default()
    }

    /// The instant after which calls under this context fail with `DeadlineExceeded`.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left until the deadline (zero once it has passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// A child whose deadline is `deadline`, or the parent's if that is earlier: a child can
    /// shorten the time its caller gave it, never extend it.
    pub fn with_deadline(&self, deadline: Instant) -> Context {
        let mut child = self.clone();
        child.deadline = Some(match self.deadline {
            Some(current) if current < deadline => current,
            _ => deadline,
        });
        child
    }

    /// A child whose deadline is `timeout` from now (or the parent's, if earlier).
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        self.with_deadline(Instant::now() + timeout)
    }

    /// A child that can be cancelled through the returned handle; cancelling this context's
    /// own ancestors cancels the child too.
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        let token = match &self.cancel {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        };
        let mut child = self.clone();
        child.cancel = Some(token.clone());
        (child, CancelHandle { token })
    }

    /// Whether the context has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }

    /// Why calls under this context can no longer run: `Cancelled` if it was cancelled,
    /// `DeadlineExceeded` if its deadline has passed, `None` while it is live (Go's
    /// `ctx.Err()`).
    pub fn err(&self) -> Option<Error> {
        if self.is_cancelled() {
            Some(Error::cancelled())
        } else if self.deadline.is_some_and(|d| d <= Instant::now()) {
            Some(Error::deadline_exceeded())
        } else {
            None
        }
    }

    /// Completes when the context is cancelled or its deadline passes, with the reason;
    /// never completes for a background context.
    pub async fn done(&self) -> Error {
        let cancelled = async {
            match &self.cancel {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let expired = async {
            match self.deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = cancelled => Error::cancelled(),
            () = expired => Error::deadline_exceeded(),
        }
    }

    /// Runs `work` under this context: it is not started if the context is already done,
    /// and it is dropped (ending the call with `Cancelled` or `DeadlineExceeded`) as soon as
    /// the context is cancelled or its deadline passes.
    ///
    /// Without a deadline or cancellation this is `work.await` with one check in front.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        if let Some(err) = self.err() {
            return Err(err);
        }
        if self.deadline.is_none() && self.cancel.is_none() {
            return work.await;
        }
        tokio::select! {
            biased;
            err = self.done() => Err(err),
            result = work => result,
        }
    }

    /// A child carrying `key = value` as local metadata (seen by this process only).
    ///
    /// Keys are case-insensitive (stored lowercase), like HTTP header names; a later entry
    /// for the same key shadows an earlier one.
    pub fn with_metadata(
        &self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Context {
        self.push_metadata(key.into(), value.into(), false)
    }

    /// A child carrying `key = value` as metadata that clients send on to the services they
    /// call (as HTTP headers, gRPC metadata, ...).
    ///
    /// The key must be usable as a header name on the transports in use.
    pub fn with_propagated(
        &self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Context {
        self.push_metadata(key.into(), value.into(), true)
    }

    fn push_metadata(
        &self,
        key: Cow<'static, str>,
        value: Cow<'static, str>,
        propagate: bool,
    ) -> Context {
        let key = if key.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(key.to_ascii_lowercase())
        } else {
            key
        };
        let mut child = self.clone();
        child.metadata = self.metadata.push(MetadataEntry {
            key,
            value,
            propagate,
        });
        child
    }

    /// The newest metadata value for `key` (compared case-insensitively).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| &*e.value)
    }

    /// Every metadata entry that travels to downstream services, newest value per key.
    pub fn propagated(&self) -> impl Iterator<Item = (&str, &str)> {
        self.metadata
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                e.propagate
                    && !self
                        .metadata
                        .iter()
                        .take(*i)
                        .any(|newer| newer.key == e.key)
            })
            .map(|(_, e)| (&*e.key, &*e.value))
    }

    /// A child carrying `value`, retrievable by its type with [`Context::value`]; a later
    /// value of the same type shadows an earlier one.
    pub fn with_value<T: Send + Sync + 'static>(&self, value: T) -> Context {
        let mut child = self.clone();
        child.values = self.values.push(ValueEntry {
            type_id: TypeId::of::<T>(),
            value: Box::new(value),
        });
        child
    }

    /// The newest value of type `T`, if any.
    pub fn value<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values
            .iter()
            .find(|e| e.type_id == TypeId::of::<T>())
            .and_then(|e| e.value.downcast_ref())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("remaining", &self.remaining())
            .field("cancelled", &self.is_cancelled())
            .field(
                "metadata",
                &self
                    .metadata
                    .iter()
                    .map(|e| (&*e.key, &*e.value))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
