//! One error type for every endpoint, middleware and transport.
//!
//! An [`Error`] is a [`Code`] (the gRPC code set), a message meant for the caller, and an
//! optional source kept for logs. Transports never invent their own error shapes: they read
//! the code's row of the classification table ([`Code::class`]) to pick an HTTP status, a gRPC
//! status or a JSON-RPC error code, and clients turn those back into the same code. Retries
//! and circuit breakers ask the same table whether an error is worth retrying
//! ([`Error::is_retryable`]) and whether it is the callee's fault
//! ([`Error::counts_as_failure`]).
//!
//! Business errors, the ones Go kit calls "Failers", are plain errors with a caller-side code,
//! usually [`Code::InvalidArgument`]:
//!
//! ```
//! use kit::{Code, Error};
//!
//! let err = Error::invalid_argument("can't sum two zeroes");
//! assert_eq!(err.code(), Code::InvalidArgument);
//! assert_eq!(err.code().http_status(), 400);
//! assert!(!err.counts_as_failure()); // never trips a circuit breaker
//! assert_eq!(err.to_string(), "can't sum two zeroes");
//! ```

mod code;

pub use code::{Class, Code};

use std::borrow::Cow;
use std::fmt;

/// A boxed error of any type, as tower and hyper hand them out.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every kit endpoint: a [`Code`], a message for the caller and an optional
/// source for logs.
///
/// It is one pointer wide, so `Result<T, Error>` stays small on the success path.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    code: Code,
    message: Cow<'static, str>,
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
                message: message.into(),
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
        /// A [`Code::ResourceExhausted`] error (rate limits, quotas, size limits).
        resource_exhausted => ResourceExhausted,
        /// A [`Code::FailedPrecondition`] error.
        failed_precondition => FailedPrecondition,
        /// A [`Code::Unimplemented`] error (unknown method or operation).
        unimplemented => Unimplemented,
        /// A [`Code::Internal`] error.
        internal => Internal,
        /// A [`Code::Unavailable`] error: the callee cannot be reached or is not ready.
        unavailable => Unavailable,
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

    /// Attaches the underlying error, kept for logs and [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The message for the caller (what transports put on the wire).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether a client may retry the call; see [`Code::class`].
    pub fn is_retryable(&self) -> bool {
        self.code().is_retryable()
    }

    /// Whether the error is the callee's fault and so counts for circuit breakers and
    /// failure metrics; see [`Code::class`].
    pub fn counts_as_failure(&self) -> bool {
        self.code().counts_as_failure()
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
        let mut d = f.debug_struct("Error");
        d.field("code", &self.inner.code)
            .field("message", &self.inner.message);
        if let Some(source) = &self.inner.source {
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
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_every_code() {
        for code in code::ALL {
            assert_eq!(Code::from_grpc(code.grpc()), Some(code));
            assert_eq!(Code::from_jsonrpc(code.jsonrpc()), code);
        }
        assert_eq!(Code::from_grpc(0), None);
        assert_eq!(Code::from_grpc(17), None);
        assert_eq!(Code::from_jsonrpc(-32700), Code::InvalidArgument);
        assert_eq!(Code::from_jsonrpc(-32600), Code::InvalidArgument);
        assert_eq!(Code::from_jsonrpc(-1), Code::Unknown);
    }

    #[test]
    fn http_statuses_read_back_as_their_code() {
        // Every status a kit server sends reads back as a code with the same status.
        for code in code::ALL {
            let back = Code::from_http_status(code.http_status());
            assert_eq!(back.http_status(), code.http_status(), "{code}");
        }
        assert_eq!(Code::from_http_status(413), Code::ResourceExhausted);
        assert_eq!(Code::from_http_status(405), Code::Unimplemented);
        assert_eq!(Code::from_http_status(418), Code::InvalidArgument);
        assert_eq!(Code::from_http_status(302), Code::Unknown);
        assert_eq!(Code::from_http_status(599), Code::Unknown);
    }

    #[test]
    fn business_errors_do_not_count_as_failures() {
        let err = Error::invalid_argument("integer overflow");
        assert!(!err.counts_as_failure());
        assert!(!err.is_retryable());
        assert!(Error::unavailable("down").counts_as_failure());
        assert!(Error::unavailable("down").is_retryable());
        assert!(!Error::cancelled().counts_as_failure());
    }

    #[test]
    fn conversions_classify() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Error::from(refused).code(), Code::Unavailable);
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(Error::from(timed_out).code(), Code::DeadlineExceeded);

        let json = serde_json::from_str::<Vec<u32>>("[1").unwrap_err();
        let err = Error::from(json);
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("EOF"), "{}", err.message());
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn boxed_errors_are_unwrapped_or_classified() {
        let boxed: BoxError = Box::new(Error::not_found("no such profile"));
        let err = Error::from_boxed(boxed);
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(err.message(), "no such profile");

        let boxed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
        assert_eq!(Error::from_boxed(boxed).code(), Code::DeadlineExceeded);
        let boxed: BoxError = Box::new(tower::load_shed::error::Overloaded::new());
        assert_eq!(Error::from_boxed(boxed).code(), Code::Unavailable);
        let boxed: BoxError = "something odd".into();
        let err = Error::from_boxed(boxed);
        assert_eq!(
            (err.code(), err.message()),
            (Code::Unknown, "something odd")
        );
    }

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
