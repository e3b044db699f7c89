//! The HTTP status an error is answered with.

use std::fmt;

use http::{Method, StatusCode};
use kit::Error;

/// An error source that pins the HTTP status of the error it is attached to, for the few
/// HTTP-only answers the classification table cannot express (`413 Payload Too Large`,
/// `405 Method Not Allowed`).
///
/// ```
/// use http::StatusCode;
/// use kit_http::{status_of, HttpStatus};
///
/// let err = kit::Error::unimplemented("method GET not allowed")
///     .with_source(HttpStatus(StatusCode::METHOD_NOT_ALLOWED));
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

impl std::error::Error for HttpStatus {}

/// The status a server answers `err` with: an [`HttpStatus`] attached as its source, or else
/// the status of its code in the classification table.
pub fn status_of(err: &Error) -> StatusCode {
    std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<HttpStatus>())
        .map(|pinned| pinned.0)
        .unwrap_or_else(|| {
            StatusCode::from_u16(err.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
}

/// The error for a request whose path is served but not with its method: `Unimplemented`,
/// answered `405`.
pub(crate) fn method_not_allowed(method: &Method, path: &str) -> Error {
    Error::unimplemented(format!("method {method} not allowed for {path}"))
        .with_source(HttpStatus(StatusCode::METHOD_NOT_ALLOWED))
}
