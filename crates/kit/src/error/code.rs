//! The status codes and their classification table.

use std::fmt;

/// What went wrong, as one of the gRPC status codes (without `OK`).
///
/// Every transport maps a [`Code`] through one table, [`Code::class`], so a service never
/// writes error mapping by hand: the same error becomes an HTTP status, a gRPC status and a
/// JSON-RPC error code, and it tells retries and circuit breakers whether it is worth retrying
/// and whether it is the callee's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// The caller cancelled the operation.
    Cancelled = 1,
    /// An error that could not be classified.
    Unknown = 2,
    /// The request is invalid, whatever the state of the system: bad input or a business
    /// rule the request breaks (Go kit's "Failer" errors).
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found.
    NotFound = 5,
    /// The entity a client tried to create already exists.
    AlreadyExists = 6,
    /// The caller is known but may not do this.
    PermissionDenied = 7,
    /// A quota or rate limit is exhausted, or a resource (memory, body size) ran out.
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

/// How one [`Code`] behaves on every transport and in resilience middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// HTTP status a server answers with.
    pub http_status: u16,
    /// Numeric gRPC status code.
    pub grpc: i32,
    /// JSON-RPC 2.0 error code.
    pub jsonrpc: i32,
    /// Whether a client may retry the call (on the same or another instance).
    pub retryable: bool,
    /// Whether the error is the callee's fault, so that it counts towards circuit breakers
    /// and failure metrics. Errors the caller caused (bad arguments, missing permissions,
    /// not found, its own cancellation) do not.
    pub counts_as_failure: bool,
}

/// Every code, in numeric order.
pub(crate) const ALL: [Code; 16] = [
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

const fn class(http_status: u16, grpc: i32, jsonrpc: i32, retryable: bool, fails: bool) -> Class {
    Class {
        http_status,
        grpc,
        jsonrpc,
        retryable,
        counts_as_failure: fails,
    }
}

impl Code {
    /// The classification table: the single place where a code's meaning on each transport
    /// and for resilience middleware is decided.
    ///
    /// | code | HTTP | gRPC | JSON-RPC | retryable | failure |
    /// |---|---|---|---|---|---|
    /// | Cancelled | 499 | 1 | -32001 | no | no |
    /// | Unknown | 500 | 2 | -32002 | no | yes |
    /// | InvalidArgument | 400 | 3 | -32602 | no | no |
    /// | DeadlineExceeded | 504 | 4 | -32004 | yes | yes |
    /// | NotFound | 404 | 5 | -32005 | no | no |
    /// | AlreadyExists | 409 | 6 | -32006 | no | no |
    /// | PermissionDenied | 403 | 7 | -32007 | no | no |
    /// | ResourceExhausted | 429 | 8 | -32008 | yes | yes |
    /// | FailedPrecondition | 400 | 9 | -32009 | no | no |
    /// | Aborted | 409 | 10 | -32010 | yes | no |
    /// | OutOfRange | 400 | 11 | -32011 | no | no |
    /// | Unimplemented | 501 | 12 | -32601 | no | no |
    /// | Internal | 500 | 13 | -32603 | no | yes |
    /// | Unavailable | 503 | 14 | -32014 | yes | yes |
    /// | DataLoss | 500 | 15 | -32015 | no | yes |
    /// | Unauthenticated | 401 | 16 | -32016 | no | no |
    ///
    /// JSON-RPC uses the specification's own codes where one fits (`-32602` invalid params,
    /// `-32601` method not found, `-32603` internal error) and the implementation-defined
    /// server-error range `-32000 - grpc` otherwise, so every code survives a round trip.
    /// `ResourceExhausted` counts as a failure because an overloaded callee is exactly what a
    /// circuit breaker should back off from (Go kit's addsvc puts its rate limiter inside its
    /// breaker for the same reason).
    pub const fn class(self) -> Class {
        match self {
            Code::Cancelled => class(499, 1, -32001, false, false),
            Code::Unknown => class(500, 2, -32002, false, true),
            Code::InvalidArgument => class(400, 3, -32602, false, false),
            Code::DeadlineExceeded => class(504, 4, -32004, true, true),
            Code::NotFound => class(404, 5, -32005, false, false),
            Code::AlreadyExists => class(409, 6, -32006, false, false),
            Code::PermissionDenied => class(403, 7, -32007, false, false),
            Code::ResourceExhausted => class(429, 8, -32008, true, true),
            Code::FailedPrecondition => class(400, 9, -32009, false, false),
            Code::Aborted => class(409, 10, -32010, true, false),
            Code::OutOfRange => class(400, 11, -32011, false, false),
            Code::Unimplemented => class(501, 12, -32601, false, false),
            Code::Internal => class(500, 13, -32603, false, true),
            Code::Unavailable => class(503, 14, -32014, true, true),
            Code::DataLoss => class(500, 15, -32015, false, true),
            Code::Unauthenticated => class(401, 16, -32016, false, false),
        }
    }

    /// HTTP status a server answers with for this code.
    pub const fn http_status(self) -> u16 {
        self.class().http_status
    }

    /// Numeric gRPC status code.
    pub const fn grpc(self) -> i32 {
        self.class().grpc
    }

    /// JSON-RPC 2.0 error code.
    pub const fn jsonrpc(self) -> i32 {
        self.class().jsonrpc
    }

    /// Whether a call that failed with this code may be retried.
    pub const fn is_retryable(self) -> bool {
        self.class().retryable
    }

    /// Whether this code is the callee's fault (counts for circuit breakers and failure
    /// metrics).
    pub const fn counts_as_failure(self) -> bool {
        self.class().counts_as_failure
    }

    /// The code for a numeric gRPC status; `None` for `0` (OK) and for numbers outside the
    /// set.
    pub fn from_grpc(code: i32) -> Option<Code> {
        ALL.into_iter().find(|c| c.grpc() == code)
    }

    /// The code for a JSON-RPC error code: the inverse of [`Code::jsonrpc`], plus the
    /// specification's parse error (`-32700`) and invalid request (`-32600`), which are
    /// `InvalidArgument`. Any other code is `Unknown`.
    pub fn from_jsonrpc(code: i32) -> Code {
        match code {
            -32700 | -32600 => Code::InvalidArgument,
            _ => ALL
                .into_iter()
                .find(|c| c.jsonrpc() == code)
                .unwrap_or(Code::Unknown),
        }
    }

    /// The code a client reads from a non-success HTTP status: the inverse of
    /// [`Code::http_status`] where that is unambiguous (`409` reads as `AlreadyExists`, `500`
    /// as `Internal`), the nearest meaning for statuses kit servers do not send themselves
    /// (`405` `Unimplemented`, `408` `DeadlineExceeded`, `413` `ResourceExhausted`, `502`
    /// `Unavailable`), `InvalidArgument` for any other 4xx (the caller's fault, not retried)
    /// and `Unknown` for everything else.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            405 | 501 => Code::Unimplemented,
            408 | 504 => Code::DeadlineExceeded,
            409 => Code::AlreadyExists,
            412 => Code::FailedPrecondition,
            413 | 429 => Code::ResourceExhausted,
            416 => Code::OutOfRange,
            499 => Code::Cancelled,
            500 => Code::Internal,
            502 | 503 => Code::Unavailable,
            400..=499 => Code::InvalidArgument,
            _ => Code::Unknown,
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

    /// The code's name in the gRPC spelling, e.g. `INVALID_ARGUMENT`.
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
