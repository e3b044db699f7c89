//! Errors to gRPC statuses and back, through kit's classification table.

use kit::{Code, Error};
use tonic::Status;

/// The gRPC status a server answers `err` with: the status code of the error's [`Code`]
/// (kit's codes are gRPC's, [`Code::number`]) and its message for callers.
///
/// ```
/// let status = kit_grpc::status_of(&kit::Error::invalid_argument("can't sum two zeroes"));
/// assert_eq!(status.code(), tonic::Code::InvalidArgument);
/// assert_eq!(status.message(), "can't sum two zeroes");
/// ```
pub fn status_of(err: &Error) -> Status {
    Status::new(
        tonic::Code::from_i32(err.code().number()),
        err.message_for_caller(),
    )
}

/// The error a client gets for a failed call: the [`Code`] of the status code (see
/// [`Code::from_number`]; `OK` or an unknown number becomes [`Code::Unknown`]), the status
/// message, and the status itself as the source.
///
/// tonic reports transport failures (connection refused or reset, DNS errors) as
/// `UNAVAILABLE` statuses, so they come out as [`Code::Unavailable`]: retryable, and counted
/// as failures by circuit breakers.
///
/// ```
/// let err = kit_grpc::error_of(tonic::Status::not_found("no such profile"));
/// assert_eq!(err.code(), kit::Code::NotFound);
/// assert_eq!(err.message(), "no such profile");
/// ```
pub fn error_of(status: Status) -> Error {
    let code = Code::from_number(status.code() as i32).unwrap_or(Code::Unknown);
    Error::new(code, status.message().to_owned()).with_source(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for n in 1..=16 {
            let code = Code::from_number(n).expect("1 to 16 are gRPC error codes");
            let status = status_of(&Error::new(code, "boom"));
            assert_eq!(status.code() as i32, n);
            let back = error_of(status);
            assert_eq!((back.code(), back.message()), (code, "boom"));
        }
    }

    #[test]
    fn ok_and_unknown_numbers_are_unknown_errors() {
        assert_eq!(
            error_of(Status::new(tonic::Code::Ok, "")).code(),
            Code::Unknown
        );
        assert_eq!(error_of(Status::unknown("?")).code(), Code::Unknown);
    }
}
