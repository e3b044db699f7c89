//! The status codes and what each one means.

use std::fmt;
use std::str::FromStr;

/// What went wrong, as one of the gRPC status codes (without `OK`).
///
/// The core says what a code *means* ([`Code::class`]): whether a retry may succeed, whether
/// it is the callee's failure, whether the caller caused it. What a code becomes on a wire
/// (an HTTP status, a JSON-RPC error code, a gRPC status) is each transport crate's business,
/// so a new transport never changes this type. The numeric values are gRPC's, the names
/// ([`Code::as_str`]) gRPC's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// The caller cancelled the operation.
    Cancelled = 1,
    /// An error that could not be classified.
    Unknown = 2,
    /// The request is invalid, whatever the state of the system: bad input or a business
    /// rule the request breaks (Go kit's "Failer" errors), or a request too large to accept.
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found.
    NotFound = 5,
    /// The entity a client tried to create already exists.
    AlreadyExists = 6,
    /// The caller is known but may not do this.
    PermissionDenied = 7,
    /// A quota or rate limit is exhausted, or the callee ran out of a resource.
    ResourceExhausted = 8,
    /// The system is not in a state the operation requires.
    FailedPrecondition = 9,
    /// The operation was aborted, typically by a concurrency conflict.
    Aborted = 10,
    /// The operation went past a valid range.
    OutOfRange = 11,
    /// The operation is not implemented or not supported (unknown method).
    Unimplemented = 12,
    /// An invariant of the callee is broken.
    Internal = 13,
    /// The service is unavailable right now; a retry (on another instance) may succeed.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The caller has no valid credentials.
    Unauthenticated = 16,
}

/// What an error means to the code that handles it: retries, circuit breakers, metrics,
/// logs. [`Code::class`] gives every code's default; a
/// [`Classifier`](crate::error::Classifier) may decide otherwise for particular errors.
///
/// ```
/// use kit::Code;
///
/// let class = Code::AlreadyExists.class();
/// assert!(!class.retryable && class.caller_fault);
/// // A classifier may say otherwise, e.g. for a conflict that clears up by itself.
/// let conflict = class.with_retryable(true);
/// assert!(conflict.retryable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Class {
    /// Whether trying again (on the same or another instance) may succeed.
    pub retryable: bool,
    /// Whether the error is the callee's failure, so that it counts towards circuit breakers
    /// and failure metrics.
    pub failure: bool,
    /// Whether the caller caused it (bad arguments, missing permissions, not found, its own
    /// cancellation): logged quietly, never the callee's failure.
    pub caller_fault: bool,
}

impl Class {
    /// This class with `retryable` set as given.
    pub const fn with_retryable(mut self, retryable: bool) -> Class {
        self.retryable = retryable;
        self
    }

    /// This class with `failure` set as given.
    pub const fn with_failure(mut self, failure: bool) -> Class {
        self.failure = failure;
        self
    }

    /// This class with `caller_fault` set as given.
    pub const fn with_caller_fault(mut self, caller_fault: bool) -> Class {
        self.caller_fault = caller_fault;
        self
    }
}

const fn class(retryable: bool, failure: bool, caller_fault: bool) -> Class {
    Class {
        retryable,
        failure,
        caller_fault,
    }
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 16] = [
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// What the code means by default: the single table that retries, circuit breakers,
    /// metrics and logs start from.
    ///
    /// | code | retryable | failure | caller's fault |
    /// |---|---|---|---|
    /// | Cancelled | no | no | yes |
    /// | Unknown | no | yes | no |
    /// | InvalidArgument | no | no | yes |
    /// | DeadlineExceeded | yes | yes | no |
    /// | NotFound | no | no | yes |
    /// | AlreadyExists | no | no | yes |
    /// | PermissionDenied | no | no | yes |
    /// | ResourceExhausted | yes | yes | no |
    /// | FailedPrecondition | no | no | yes |
    /// | Aborted | yes | no | no |
    /// | OutOfRange | no | no | yes |
    /// | Unimplemented | no | no | yes |
    /// | Internal | no | yes | no |
    /// | Unavailable | yes | yes | no |
    /// | DataLoss | no | yes | no |
    /// | Unauthenticated | no | no | yes |
    ///
    /// `ResourceExhausted` counts as a failure because an overloaded callee is exactly what a
    /// circuit breaker should back off from (Go kit's addsvc puts its rate limiter inside its
    /// breaker for the same reason); a request too large to accept is the caller's fault and
    /// is `InvalidArgument` instead. `Aborted` (a concurrency conflict) is worth retrying but
    /// is nobody's failure.
    ///
    /// Whether a retryable error may really be retried also depends on whether the request
    /// may already have run; see [`Error::is_replay_safe`](crate::Error::is_replay_safe).
    pub const fn class(self) -> Class {
        match self {
            Code::Cancelled => class(false, false, true),
            Code::Unknown => class(false, true, false),
            Code::InvalidArgument => class(false, false, true),
            Code::DeadlineExceeded => class(true, true, false),
            Code::NotFound => class(false, false, true),
            Code::AlreadyExists => class(false, false, true),
            Code::PermissionDenied => class(false, false, true),
            Code::ResourceExhausted => class(true, true, false),
            Code::FailedPrecondition => class(false, false, true),
            Code::Aborted => class(true, false, false),
            Code::OutOfRange => class(false, false, true),
            Code::Unimplemented => class(false, false, true),
            Code::Internal => class(false, true, false),
            Code::Unavailable => class(true, true, false),
            Code::DataLoss => class(false, true, false),
            Code::Unauthenticated => class(false, false, true),
        }
    }

    /// The code's number in the gRPC code set (1 to 16).
    pub const fn number(self) -> i32 {
        self as i32
    }

    /// The code with gRPC number `n`; `None` for `0` (OK) and for numbers outside the set.
    pub fn from_number(n: i32) -> Option<Code> {
        let index = usize::try_from(n.checked_sub(1)?).ok()?;
        Code::ALL.get(index).copied()
    }

    /// Whether an error of this code may reveal the callee's internals in its message
    /// (`Internal`, `Unknown`, `DataLoss`: OS, database or library error text), so that a
    /// server set to redact answers with [`Code::description`] instead.
    pub const fn is_private(self) -> bool {
        matches!(self, Code::Internal | Code::Unknown | Code::DataLoss)
    }

    /// A short description of the code for people, e.g. `internal error`: what a redacted
    /// error says instead of its message.
    pub const fn description(self) -> &'static str {
        match self {
            Code::Cancelled => "cancelled",
            Code::Unknown => "unknown error",
            Code::InvalidArgument => "invalid argument",
            Code::DeadlineExceeded => "deadline exceeded",
            Code::NotFound => "not found",
            Code::AlreadyExists => "already exists",
            Code::PermissionDenied => "permission denied",
            Code::ResourceExhausted => "resource exhausted",
            Code::FailedPrecondition => "failed precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out of range",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal error",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data loss",
            Code::Unauthenticated => "unauthenticated",
        }
    }

    /// The code for an I/O failure: connection failures are `Unavailable`, timeouts
    /// `DeadlineExceeded`, bad data `InvalidArgument`, the rest `Unknown`.
    pub fn from_io_error_kind(kind: std::io::ErrorKind) -> Code {
        use std::io::ErrorKind as K;
        match kind {
            K::TimedOut => Code::DeadlineExceeded,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::AddrNotAvailable
            | K::UnexpectedEof => Code::Unavailable,
            K::NotFound => Code::NotFound,
            K::PermissionDenied => Code::PermissionDenied,
            K::AlreadyExists => Code::AlreadyExists,
            K::InvalidInput | K::InvalidData => Code::InvalidArgument,
            K::Interrupted => Code::Cancelled,
            K::Unsupported => Code::Unimplemented,
            K::OutOfMemory => Code::ResourceExhausted,
            _ => Code::Unknown,
        }
    }

    /// The code's name in the gRPC spelling, e.g. `INVALID_ARGUMENT`; [`Code::from_str`]
    /// reads it back.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Code::from_str`]: the text is not a code's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode;

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a status code name")
    }
}

impl std::error::Error for UnknownCode {}

impl FromStr for Code {
    type Err = UnknownCode;

    /// Reads a code's name as [`Code::as_str`] writes it (`ABORTED`), exactly.
    fn from_str(name: &str) -> Result<Code, UnknownCode> {
        Code::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
            .ok_or(UnknownCode)
    }
}
