//! Telling a server's answer from a transport failure, and how far a failed request got.

use std::error::Error as _;

use kit::error::Delivery;
use kit::{Code, Error};
use tonic::Status;

use crate::error_of;

/// The error of a call that ended with `status`: the server's answer as [`error_of`] reads
/// it, or a transport failure with its [`Delivery`] (see the table in the
/// [client docs](super)).
pub(super) fn error_of_call(status: Status) -> Error {
    #[cfg(feature = "tls")]
    if let Some(why) = super::tls::handshake_failure(&status) {
        return Error::new(Code::Unavailable, why)
            .with_delivery(Delivery::NotSent)
            .with_source(status);
    }
    match transport_failure(&status) {
        None => error_of(status),
        Some((code, delivery)) => Error::new(code, status.message().to_owned())
            .with_delivery(delivery)
            .with_source(status),
    }
}

/// The code and delivery of a transport failure, or `None` for a status the server sent
/// (or that was raised on this side, as an interceptor's): those carry no source error.
///
/// tonic keeps the transport's error as the status's source; its chain tells the cases
/// apart (connection errors come as `tonic::ConnectError` from a `Channel`, as hyper-util's
/// legacy client error from a hyper client; stream and connection errors as `h2::Error`,
/// `hyper::Error` or `std::io::Error`).
fn transport_failure(status: &Status) -> Option<(Code, Delivery)> {
    let mut source = status.source()?;
    let mut transport = false;
    loop {
        if source.is::<tonic::ConnectError>() {
            return Some((Code::Unavailable, Delivery::NotSent));
        }
        if let Some(err) = source.downcast_ref::<hyper_util::client::legacy::Error>() {
            if err.is_connect() {
                return Some((Code::Unavailable, Delivery::NotSent));
            }
            transport = true;
        }
        if let Some(err) = source.downcast_ref::<hyper::Error>() {
            // hyper gave the request back before writing any of it.
            if err.is_canceled() {
                return Some((Code::Unavailable, Delivery::NotSent));
            }
            transport = true;
        }
        if let Some(err) = source.downcast_ref::<h2::Error>() {
            return Some(h2_failure(status, err));
        }
        transport |= source.is::<std::io::Error>();
        match source.source() {
            Some(next) => source = next,
            None => break,
        }
    }
    // Some other error on this side (a tower middleware's, say): keep tonic's code.
    let code = if transport {
        Code::Unavailable
    } else {
        Code::from_number(status.code() as i32).unwrap_or(Code::Unknown)
    };
    Some((code, Delivery::MaybeExecuted))
}

/// An HTTP/2 failure. h2 reports a peer's `GOAWAY` only to the streams it excludes (above
/// its last stream id), which the peer promises not to have processed, and a peer's
/// `REFUSED_STREAM` means the same (gRPC's spec: "no processing occurred"). A stream reset
/// otherwise, by the peer or by this side (its request body failed), gets the code gRPC's
/// spec maps the reason to (as tonic gives it); anything else (the connection broke) is
/// `Unavailable`.
fn h2_failure(status: &Status, err: &h2::Error) -> (Code, Delivery) {
    let refused = err.is_reset() && err.reason() == Some(h2::Reason::REFUSED_STREAM);
    if err.is_remote() && (err.is_go_away() || refused) {
        return (Code::Unavailable, Delivery::NotSent);
    }
    let code = if err.is_reset() {
        Code::from_number(status.code() as i32).unwrap_or(Code::Unknown)
    } else {
        Code::Unavailable
    };
    (code, Delivery::MaybeExecuted)
}
