//! kit's codes as HTTP statuses, both ways.

use std::fmt;

use http::{Method, StatusCode};
use kit::{Code, Error};

/// A [hint](kit::Error::with_hint) that pins the HTTP status of the error it is attached to,
/// for the few answers whose status says more than the code's own (`413 Content Too Large`
/// is an `InvalidArgument`, `405 Method Not Allowed` an `Unimplemented`). kit's HTTP client
/// also attaches the status it received to the errors it returns, so that a
/// [classifier](kit::error::Classifier) can look at it.
///
/// ```
/// use http::StatusCode;
/// use kit_http::{status_of, HttpStatus};
///
/// let err = kit::Error::unimplemented("method GET not allowed")
///     .with_hint(HttpStatus(StatusCode::METHOD_NOT_ALLOWED));
/// assert_eq!(status_of(&err), StatusCode::METHOD_NOT_ALLOWED);
/// assert_eq!(status_of(&kit::Error::not_found("gone")), StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpStatus(pub StatusCode);

impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP status {}", self.0)
    }
}

/// The status a server answers `err` with: its [`HttpStatus`] hint, or else the status of its
/// code ([`status_for`]).
pub fn status_of(err: &Error) -> StatusCode {
    err.hint::<HttpStatus>()
        .map_or_else(|| status_for(err.code()), |pinned| pinned.0)
}

/// The HTTP status of a code, as kit's servers answer it:
///
/// | code | status | | code | status |
/// |---|---|---|---|---|
/// | Cancelled | 499 | | FailedPrecondition | 400 |
/// | Unknown | 500 | | Aborted | 409 |
/// | InvalidArgument | 400 | | OutOfRange | 400 |
/// | DeadlineExceeded | 504 | | Unimplemented | 501 |
/// | NotFound | 404 | | Internal | 500 |
/// | AlreadyExists | 409 | | Unavailable | 503 |
/// | PermissionDenied | 403 | | DataLoss | 500 |
/// | ResourceExhausted | 429 | | Unauthenticated | 401 |
///
/// Several codes share a status, so kit's error bodies also carry the code by name, and a kit
/// client reads it back from there ([`code_for`] is only the fallback).
pub fn status_for(code: Code) -> StatusCode {
    let status = match code {
        Code::Cancelled => 499,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unauthenticated => 401,
        _ => 500,
    };
    StatusCode::from_u16(status).expect("every status in the table is valid")
}

/// The code a client reads from a non-success status when the answer does not name one (a
/// server that is not kit): the inverse of [`status_for`] where that is unambiguous (`409`
/// reads as `AlreadyExists`, `500` as `Internal`), the nearest meaning for statuses kit
/// servers do not send by code (`405` `Unimplemented`, `408` `DeadlineExceeded`, `413`
/// `InvalidArgument`, `502` `Unavailable`), `InvalidArgument` for any other 4xx (the caller's
/// fault, not retried) and `Unknown` for everything else.
pub fn code_for(status: StatusCode) -> Code {
    match status.as_u16() {
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        405 | 501 => Code::Unimplemented,
        408 | 504 => Code::DeadlineExceeded,
        409 => Code::AlreadyExists,
        412 => Code::FailedPrecondition,
        429 => Code::ResourceExhausted,
        416 => Code::OutOfRange,
        499 => Code::Cancelled,
        500 => Code::Internal,
        502 | 503 => Code::Unavailable,
        400..=499 => Code::InvalidArgument,
        _ => Code::Unknown,
    }
}

/// The error for a request whose path is served but not with its method: `Unimplemented`,
/// answered `405`.
pub(crate) fn method_not_allowed(method: &Method, path: &str) -> Error {
    Error::unimplemented(format!("method {method} not allowed for {path}"))
        .with_hint(HttpStatus(StatusCode::METHOD_NOT_ALLOWED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_as_a_code_with_the_same_status() {
        for code in Code::ALL {
            let back = code_for(status_for(code));
            assert_eq!(status_for(back), status_for(code), "{code}");
        }
        let code = |n| code_for(StatusCode::from_u16(n).unwrap());
        assert_eq!(code(413), Code::InvalidArgument);
        assert_eq!(code(405), Code::Unimplemented);
        assert_eq!(code(418), Code::InvalidArgument);
        assert_eq!(code(302), Code::Unknown);
        assert_eq!(code(599), Code::Unknown);
    }

    #[test]
    fn a_hint_pins_the_status() {
        let err =
            Error::invalid_argument("too big").with_hint(HttpStatus(StatusCode::PAYLOAD_TOO_LARGE));
        assert_eq!(status_of(&err), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status_of(&Error::aborted("conflict")), StatusCode::CONFLICT);
    }
}
