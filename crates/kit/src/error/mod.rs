//! One error type for every endpoint, middleware and transport.
//!
//! An [`Error`] is a [`Code`] (the gRPC code set), a message meant for the caller, and
//! optionally: structured [details](Error::with_details) for the caller, what is known about
//! the request's [delivery](Delivery), transport [hints](Error::with_hint), and a source
//! kept for logs.
//!
//! ## Meaning, not wire formats
//!
//! The core decides what an error *means*: [`Code::class`] says whether a retry may succeed,
//! whether it is the callee's failure (for circuit breakers and failure metrics) and whether
//! the caller caused it. Middleware asks a [`Classifier`] (by default [`ByCode`]), so an
//! endpoint or a client can see particular errors differently. What a code becomes on a wire
//! (an HTTP status, a JSON-RPC error code, a gRPC status) belongs to each transport crate, in
//! both directions, so a new transport never changes the core.
//!
//! ## Retry safety
//!
//! A retryable code is not enough to send a request again: if the request may already have
//! run, a retry could run it twice (charge a card twice). So an error from a client
//! transport says how far its request got ([`Delivery`]):
//!
//! | delivery | examples | retried |
//! |---|---|---|
//! | [`Delivery::Answered`] (default) | the callee answered with this error (a 429, a 503 from a breaker or a shedder), or it was raised on this side | as its class says |
//! | [`Delivery::NotSent`] | connection refused, no connection from the pool, HTTP/2 `REFUSED_STREAM`, a `GOAWAY` before the request was processed | as its class says (transports give these `Unavailable`: retryable) |
//! | [`Delivery::MaybeExecuted`] | the connection was lost after the request was written, a timeout while waiting for the answer | only if the call is idempotent |
//!
//! The call is idempotent when the client or endpoint is marked so (transports stamp their
//! errors with [`Error::idempotent_call`]) or the retry middleware is told so;
//! [`may_retry`] is the whole rule.
//!
//! Business errors, the ones Go kit calls "Failers", are plain errors with a caller-side code,
//! usually [`Code::InvalidArgument`]:
//!
//! ```
//! use kit::{Code, Error};
//!
//! let err = Error::invalid_argument("can't sum two zeroes");
//! assert_eq!(err.code(), Code::InvalidArgument);
//! assert!(!err.code().class().failure); // never trips a circuit breaker
//! assert!(!err.is_retryable());
//! assert_eq!(err.to_string(), "can't sum two zeroes");
//! ```

mod classify;
mod code;

pub use classify::{ByCode, Classifier, ClassifyWith, classify_with, may_retry};
pub use code::{Class, Code, UnknownCode};

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

/// A boxed error of any type, as tower and hyper hand them out.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How far the request of a failed call got: whether sending it again could run it twice.
///
/// See the [module docs](self) for the rule retries follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Delivery {
    /// Not a transport failure: the callee answered with this error, or it was raised on
    /// this side. Its class decides.
    #[default]
    Answered,
    /// The request never reached the callee: sending it again cannot run it twice.
    NotSent,
    /// The request may have reached the callee and run: only an idempotent call may be sent
    /// again.
    MaybeExecuted,
}

/// The error of every kit endpoint; see the [module docs](self).
///
/// It is one pointer wide, so `Result<T, Error>` stays small on the success path.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    code: Code,
    delivery: Delivery,
    idempotent: bool,
    redacted: bool,
    message: Cow<'static, str>,
    details: Option<serde_json::Value>,
    hints: Vec<Box<dyn Any + Send + Sync>>,
    source: Option<BoxError>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<Cow<'static, str>>) -> Error {
                Error::new(Code::$code, message)
            }
        )*
    };
}

impl Error {
    /// An error with `code` and a message for the caller.
    pub fn new(code: Code, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            inner: Box::new(Inner {
                code,
                delivery: Delivery::Answered,
                idempotent: false,
                redacted: false,
                message: message.into(),
                details: None,
                hints: Vec::new(),
                source: None,
            }),
        }
    }

    constructors! {
        /// A [`Code::InvalidArgument`] error: bad input or a broken business rule.
        invalid_argument => InvalidArgument,
        /// A [`Code::NotFound`] error.
        not_found => NotFound,
        /// A [`Code::AlreadyExists`] error.
        already_exists => AlreadyExists,
        /// A [`Code::PermissionDenied`] error.
        permission_denied => PermissionDenied,
        /// A [`Code::Unauthenticated`] error.
        unauthenticated => Unauthenticated,
        /// A [`Code::ResourceExhausted`] error (rate limits, quotas, an exhausted callee).
        resource_exhausted => ResourceExhausted,
        /// A [`Code::FailedPrecondition`] error.
        failed_precondition => FailedPrecondition,
        /// A [`Code::Aborted`] error (a concurrency conflict).
        aborted => Aborted,
        /// A [`Code::OutOfRange`] error.
        out_of_range => OutOfRange,
        /// A [`Code::Unimplemented`] error (unknown method or operation).
        unimplemented => Unimplemented,
        /// A [`Code::Internal`] error.
        internal => Internal,
        /// A [`Code::Unavailable`] error: the callee cannot be reached or is not ready.
        unavailable => Unavailable,
        /// A [`Code::DataLoss`] error.
        data_loss => DataLoss,
        /// A [`Code::Unknown`] error.
        unknown => Unknown,
    }

    /// The error a call ends with when its context's deadline has passed.
    pub fn deadline_exceeded() -> Error {
        Error::new(Code::DeadlineExceeded, "deadline exceeded")
    }

    /// The error a call ends with when its context has been cancelled.
    pub fn cancelled() -> Error {
        Error::new(Code::Cancelled, "context cancelled")
    }

    /// Attaches the underlying error, kept for logs and [`std::error::Error::source`]; it is
    /// never sent to the caller.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    /// Attaches structured details for the caller (which field is wrong, how long to back
    /// off, ...): transports send them along (in an HTTP error body, as JSON-RPC `data`, as
    /// gRPC status details) and their clients read them back.
    pub fn with_details(mut self, details: serde_json::Value) -> Error {
        self.inner.details = Some(details);
        self
    }

    /// Says how far the request of the failed call got; transports' clients set it on their
    /// transport failures. See [`Delivery`].
    pub fn with_delivery(mut self, delivery: Delivery) -> Error {
        self.inner.delivery = delivery;
        self
    }

    /// Marks the error as coming from an idempotent call: sending the request again is safe
    /// even if it may have run ([`Delivery::MaybeExecuted`]). Clients marked idempotent stamp
    /// their errors with it.
    pub fn idempotent_call(mut self) -> Error {
        self.inner.idempotent = true;
        self
    }

    /// Attaches a hint for a transport, such as the HTTP status to answer with when the
    /// code's own would be less precise (`413`, `405`) or the status a client received. A
    /// later hint of the same type replaces an earlier one. Hints are not sent anywhere by
    /// themselves.
    pub fn with_hint<T: Any + Send + Sync>(mut self, hint: T) -> Error {
        self.inner.hints.retain(|h| !h.is::<T>());
        self.inner.hints.push(Box::new(hint));
        self
    }

    /// The same error with another message (middleware that sums several errors up in the
    /// last one's).
    pub(crate) fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Error {
        self.inner.message = message.into();
        self
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The message for the caller (what logs show; transports send
    /// [`Error::message_for_caller`]).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The message to send to a caller: [`Error::message`], unless the error was
    /// [redacted](Error::redact_private), then its code's [description](Code::description).
    pub fn message_for_caller(&self) -> &str {
        if self.inner.redacted {
            self.code().description()
        } else {
            self.message()
        }
    }

    /// Hides the message from callers if the code is [private](Code::is_private)
    /// (`Internal`, `Unknown`, `DataLoss`), so that OS or database error text does not leak:
    /// transports then send the code's [description](Code::description) (`internal error`)
    /// instead, while [`Error::message`] keeps the text for logs. Servers set to redact call
    /// it on every error they answer; other errors keep their text.
    pub fn redact_private(mut self) -> Error {
        if self.code().is_private() {
            self.inner.redacted = true;
        }
        self
    }

    /// The structured details, if any.
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.inner.details.as_ref()
    }

    /// How far the request of the failed call got.
    pub fn delivery(&self) -> Delivery {
        self.inner.delivery
    }

    /// Whether the error is marked as coming from an idempotent call.
    pub fn is_idempotent_call(&self) -> bool {
        self.inner.idempotent
    }

    /// The hint of type `T`, if one is attached.
    pub fn hint<T: Any>(&self) -> Option<&T> {
        self.inner.hints.iter().find_map(|h| h.downcast_ref())
    }

    /// Whether sending the request again cannot run it twice: it is not
    /// [`Delivery::MaybeExecuted`], or the call is idempotent.
    pub fn is_replay_safe(&self) -> bool {
        self.inner.delivery != Delivery::MaybeExecuted || self.inner.idempotent
    }

    /// Whether a client may retry the call by the default rule: its code is retryable
    /// ([`Code::class`]) and [replaying it is safe](Error::is_replay_safe). Middleware with
    /// its own [`Classifier`] uses [`may_retry`] instead.
    pub fn is_retryable(&self) -> bool {
        may_retry(&ByCode, self, false)
    }

    /// Converts any boxed error, as tower middleware returns them, into an [`Error`].
    ///
    /// A boxed [`Error`] comes back as it was; errors kit knows are classified as their
    /// `From` conversions do (I/O, JSON, tokio and tower timeouts, tower's load shedding);
    /// anything else is [`Code::Unknown`] with the error's text as message and the error as
    /// source.
    pub fn from_boxed(err: BoxError) -> Error {
        let err = match err.downcast::<Error>() {
            Ok(err) => return *err,
            Err(err) => err,
        };
        let err = match err.downcast::<std::io::Error>() {
            Ok(err) => return Error::from(*err),
            Err(err) => err,
        };
        let err = match err.downcast::<serde_json::Error>() {
            Ok(err) => return Error::from(*err),
            Err(err) => err,
        };
        if err.is::<tower::timeout::error::Elapsed>() || err.is::<tokio::time::error::Elapsed>() {
            return Error::deadline_exceeded().with_source(err);
        }
        if err.is::<tower::load_shed::error::Overloaded>() {
            return Error::unavailable("service overloaded").with_source(err);
        }
        Error::unknown(err.to_string()).with_source(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("code", &inner.code)
            .field("message", &inner.message);
        if inner.delivery != Delivery::Answered {
            d.field("delivery", &inner.delivery);
        }
        if inner.idempotent {
            d.field("idempotent", &true);
        }
        if inner.redacted {
            d.field("redacted", &true);
        }
        if let Some(details) = &inner.details {
            d.field("details", details);
        }
        if !inner.hints.is_empty() {
            d.field("hints", &inner.hints.len());
        }
        if let Some(source) = &inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    /// Classified by [`Code::from_io_error_kind`]; the message is the error's text.
    fn from(err: std::io::Error) -> Error {
        Error::new(Code::from_io_error_kind(err.kind()), err.to_string()).with_source(err)
    }
}

impl From<serde_json::Error> for Error {
    /// Malformed or mistyped JSON is `InvalidArgument` (the sender's fault); an I/O failure
    /// while reading it is classified as the I/O error would be.
    fn from(err: serde_json::Error) -> Error {
        let code = match err.classify() {
            serde_json::error::Category::Io => Code::Unavailable,
            _ => Code::InvalidArgument,
        };
        Error::new(code, err.to_string()).with_source(err)
    }
}

impl From<tokio::time::error::Elapsed> for Error {
    fn from(err: tokio::time::error::Elapsed) -> Error {
        Error::deadline_exceeded().with_source(err)
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(err: std::convert::Infallible) -> Error {
        match err {}
    }
}

#[cfg(test)]
mod tests;
