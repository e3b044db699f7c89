//! Request-scoped state, both ways: deadline, cancellation, metadata, connection info, the
//! distributed trace and typed values in; response metadata out.
//!
//! A [`Context`] travels with every call, from the transport that received it, through the
//! middleware chain, into the service and on to the clients it calls. Its request side is
//! immutable: `with_*` methods derive a child and leave the parent as it was, so a middleware
//! can narrow the deadline for the calls below it without touching its caller's view. Cloning
//! is cheap (a few reference-count increments) and a context without metadata or values
//! allocates nothing.
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
//!
//! ## The call a server serves
//!
//! A server gives each call a context made with [`Context::with_call`], which links it to
//! the call:
//!
//! - **Response metadata** flows back: an endpoint or middleware sets response headers (HTTP)
//!   or trailing metadata (gRPC) with [`Context::set_response_metadata`], and transport hints
//!   such as an HTTP status with [`Context::set_response_hint`]; the transport applies them to
//!   the answer, success or error. Each call has its own slot, shared by the clones of its
//!   context; a context no server made has none (setting is then a no-op that returns
//!   `false`).
//! - **Cancellation** follows the call: the context is cancelled when the call is answered,
//!   when its client goes away, and when a shutdown's grace period ends (Go's request-context
//!   semantics), so work spawned under it with [`Context::run`] stops.
//! - **The peer**, the connection the call came in on ([`Context::peer`]), is there for
//!   `before` hooks and endpoints on every transport.
//!
//! ```
//! use kit::Context;
//!
//! let (ctx, call) = Context::background().with_call();
//! // Deep inside an endpoint:
//! ctx.set_response_metadata("retry-after", "2");
//! // The transport, once the endpoint returned:
//! assert_eq!(call.take_response().unwrap().get("retry-after"), Some("2"));
//! drop(call); // the call is over
//! assert!(ctx.is_cancelled());
//! ```

mod call;
mod chain;
mod peer;
mod watch;

pub use call::{CallHandle, ResponseMetadata};
pub use peer::Peer;
pub use watch::{Done, Run};

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::trace::TraceContext;
use call::Call;
use chain::Chain;

/// Request-scoped state passed to every [`Endpoint`](crate::Endpoint) call.
///
/// See the [module docs](self) for an overview.
#[derive(Clone, Default)]
pub struct Context {
    deadline: Option<Instant>,
    /// The cancellation of a context made by `with_cancel` (or derived from one); without
    /// it, the call's own cancellation, if any, applies.
    cancel: Option<CancellationToken>,
    call: Option<Arc<Call>>,
    peer: Option<Arc<Peer>>,
    metadata: Chain<MetadataEntry>,
    values: Chain<ValueEntry>,
    trace: Option<Arc<TraceContext>>,
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

/// `key` in lowercase, borrowed as it was when it already is.
fn lowercase(key: Cow<'static, str>) -> Cow<'static, str> {
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        key
    }
}

/// Whether `key` is a lowercase token (RFC 9110's header name characters), so that every
/// transport can send it: an HTTP header name and a gRPC metadata key alike.
fn is_sendable_key(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
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

    /// A child whose deadline is `timeout` from now (or the parent's, if earlier). A timeout
    /// too long to represent (such as `Duration::MAX`) sets no deadline of its own.
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.with_deadline(deadline),
            None => self.clone(),
        }
    }

    /// A child that can be cancelled through the returned handle; cancelling this context
    /// (or one of its ancestors, or ending the call it belongs to) cancels the child too.
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        let token = match self.cancel_token() {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        };
        let mut child = self.clone();
        child.cancel = Some(token.clone());
        (child, CancelHandle { token })
    }

    /// A child for one call served by this process, with a response slot of its own and a
    /// cancellation the returned handle controls (it is also cancelled when this context
    /// is). Servers make one per call; see the [module docs](self). Middleware that makes
    /// several attempts of one call (hedging) gives each its own and
    /// [merges](Context::merge_response) the winner's response into the caller's.
    pub fn with_call(&self) -> (Context, CallHandle) {
        let call = Call::start();
        let mut child = self.clone();
        if let Some(parent) = self.cancel_token() {
            // The call's own token, so that its handle cancels the child too.
            let token = parent.child_token();
            call.adopt_token(token.clone());
            child.cancel = Some(token);
        }
        child.call = Some(call.clone());
        (child, CallHandle { call })
    }

    /// The context of a call a server serves, from `peer` with `deadline`: what
    /// `Context::background().with_call()` followed by [`with_peer`](Context::with_peer)
    /// and [`with_deadline`](Context::with_deadline) makes, built in one step (transports
    /// make one per request).
    pub fn served(peer: Option<Arc<Peer>>, deadline: Option<Instant>) -> (Context, CallHandle) {
        let call = Call::start();
        let ctx = Context {
            deadline,
            cancel: None,
            call: Some(call.clone()),
            peer,
            metadata: Chain::default(),
            values: Chain::default(),
            trace: None,
        };
        (ctx, CallHandle { call })
    }

    /// A child with no deadline and no cancellation, keeping metadata, values and the peer:
    /// for work that must outlive the call (Go's `context.WithoutCancel`).
    pub fn without_cancel(&self) -> Context {
        Context {
            deadline: None,
            cancel: None,
            call: None,
            peer: self.peer.clone(),
            metadata: self.metadata.clone(),
            values: self.values.clone(),
            trace: self.trace.clone(),
        }
    }

    /// The token whose cancellation cancels this context, made on demand for a call.
    fn cancel_token(&self) -> Option<CancellationToken> {
        self.cancel_token_ref().cloned()
    }

    /// The token that is cancelled with this context, if it can be cancelled at all.
    fn cancel_token_ref(&self) -> Option<&CancellationToken> {
        match (&self.cancel, &self.call) {
            (Some(token), _) => Some(token),
            (None, Some(call)) => Some(call.token()),
            (None, None) => None,
        }
    }

    /// Whether the context can end at all: it has a deadline or can be cancelled.
    fn can_end(&self) -> bool {
        self.deadline.is_some() || self.cancel.is_some() || self.call.is_some()
    }

    /// Whether the context has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        match (&self.cancel, &self.call) {
            (Some(token), _) => token.is_cancelled(),
            (None, Some(call)) => call.is_cancelled(),
            (None, None) => false,
        }
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
    pub fn done(&self) -> Done<'_> {
        Done::new(self)
    }

    /// Runs `work` under this context: it is not started if the context is already done,
    /// and it is dropped (ending the call with `Cancelled` or `DeadlineExceeded`) as soon as
    /// the context is cancelled or its deadline passes.
    ///
    /// Without a deadline or cancellation this is `work.await` with one check in front.
    pub fn run<T, F>(&self, work: F) -> Run<'_, F>
    where
        F: Future<Output = Result<T, Error>>,
    {
        Run::new(self, work)
    }

    /// Runs `work` until the context's deadline: like [`run`](Context::run), but leaving
    /// cancellation to whoever drops the future. A server uses it for the call it serves,
    /// which it drops itself when the client goes away, so that the common case needs no
    /// cancellation token at all.
    pub async fn run_until_deadline<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        match self.deadline {
            None => work.await,
            Some(deadline) if deadline <= Instant::now() => Err(Error::deadline_exceeded()),
            Some(deadline) => tokio::time::timeout_at(deadline, work)
                .await
                .unwrap_or_else(|_| Err(Error::deadline_exceeded())),
        }
    }

    /// Sets response metadata `key = value` (an HTTP response header, gRPC trailing
    /// metadata), replacing earlier values of `key`. Returns `false`, doing nothing, when the
    /// context belongs to no served call.
    pub fn set_response_metadata(
        &self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> bool {
        self.with_response(|r| r.set(key, value))
    }

    /// Adds response metadata `key = value`, keeping earlier values of `key` (`set-cookie`).
    /// Returns `false`, doing nothing, when the context belongs to no served call.
    pub fn append_response_metadata(
        &self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> bool {
        self.with_response(|r| r.append(key, value))
    }

    /// Sets a response hint for the transport, such as the HTTP status of a success
    /// (`http::StatusCode::CREATED` for kit-http). Returns `false`, doing nothing, when the
    /// context belongs to no served call.
    pub fn set_response_hint<T: Any + Send + Sync>(&self, hint: T) -> bool {
        self.with_response(|r| r.set_hint(hint))
    }

    /// Moves `response` into this call's response metadata (as the winning attempt's, when
    /// middleware ran several). Returns `false`, doing nothing, when the context belongs to
    /// no served call.
    pub fn merge_response(&self, response: ResponseMetadata) -> bool {
        self.with_response(|r| r.merge(response))
    }

    /// Whether the context belongs to a served call (has a response slot): middleware that
    /// makes several attempts gives each a slot of its own only then.
    pub(crate) fn has_call(&self) -> bool {
        self.call.is_some()
    }

    /// Runs `f` on the call's response metadata; `false` without a call.
    fn with_response(&self, f: impl FnOnce(&mut ResponseMetadata)) -> bool {
        match &self.call {
            Some(call) => {
                f(&mut call.response());
                true
            }
            None => false,
        }
    }

    /// The connection the call came in on, when a server put it there.
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_deref()
    }

    /// A child carrying `peer` (transports share one per connection).
    pub fn with_peer(&self, peer: Arc<Peer>) -> Context {
        let mut child = self.clone();
        child.peer = Some(peer);
        child
    }

    /// A child carrying `key = value` as local metadata (seen by this process only).
    ///
    /// Keys are case-insensitive (stored lowercase), like HTTP header names; a later entry
    /// for the same key shadows an earlier one in [`metadata`](Context::metadata).
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
    /// The key, lowercased, must be a token that every transport can send (letters, digits
    /// and `!#$%&'*+-.^_`|~`); any other key is kept as local metadata only.
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
        let key = lowercase(key);
        let propagate = propagate && is_sendable_key(&key);
        let mut child = self.clone();
        child.metadata = self.metadata.push(MetadataEntry {
            key,
            value,
            propagate,
        });
        child
    }

    /// The newest metadata value for `key` (compared case-insensitively), local or
    /// propagated.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| &*e.value)
    }

    /// Every metadata entry that travels to downstream services: the newest propagated value
    /// of each key, ordered by key. Local entries neither travel nor hide propagated ones.
    ///
    /// Keys are lowercase tokens (see [`with_propagated`](Context::with_propagated)).
    pub fn propagated(&self) -> impl Iterator<Item = (&str, &str)> {
        self.propagated_entries()
            .map(|(key, value)| (&**key, value))
    }

    /// [`propagated`](Context::propagated), with each key as it was given: usually a
    /// `&'static str` (`Cow::Borrowed`), which a transport can turn into a header name
    /// without copying it on every call.
    pub fn propagated_entries(&self) -> impl Iterator<Item = (&Cow<'static, str>, &str)> {
        let mut entries: Vec<(&Cow<'static, str>, &str)> = self
            .metadata
            .iter()
            .filter(|e| e.propagate)
            .map(|e| (&e.key, &*e.value))
            .collect();
        // Newest first, so the stable sort keeps the newest of each key in front.
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        entries.into_iter()
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

    /// A child in the distributed trace `trace` (see [`trace`](crate::trace)): servers put
    /// the trace a request came with here, and clients send a child of it.
    pub fn with_trace(&self, trace: TraceContext) -> Context {
        let mut child = self.clone();
        child.trace = Some(Arc::new(trace));
        child
    }

    /// The distributed trace this context belongs to, if any.
    pub fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_deref()
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
            .field("peer", &self.peer)
            .field("trace", &self.trace)
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
