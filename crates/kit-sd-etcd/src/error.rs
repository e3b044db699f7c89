//! etcd's errors as kit errors: a code that says what to do, and a message that says
//! which etcd, what failed and why.

use std::error::Error as _;

use kit::Code;

/// What etcd answers when auth is enabled and the request carries no token.
const NO_USER: &str = "user name is empty";

/// The code of the kit error for `err`, and why it happened.
pub(crate) fn classify(err: &etcd_client::Error) -> (Code, String) {
    match err {
        etcd_client::Error::GRpcStatus(status) => from_status(status),
        // Made only while connecting, from the TLS settings; `Tls` checks what tonic would
        // refuse (a key not the certificate's) when it is made, so this is a fallback.
        etcd_client::Error::TransportError(err) => (
            Code::InvalidArgument,
            format!("the TLS settings were refused: {}", deepest_cause(err)),
        ),
        // The first answer of a keep-alive stream said the lease is unknown.
        etcd_client::Error::LeaseKeepAliveError(why) if why == "lease not found" => {
            (Code::NotFound, why.clone())
        }
        etcd_client::Error::LeaseKeepAliveError(why) | etcd_client::Error::WatchError(why) => {
            (Code::Unavailable, why.clone())
        }
        etcd_client::Error::InvalidArgs(_) | etcd_client::Error::InvalidUri(_) => {
            (Code::InvalidArgument, err.to_string())
        }
        _ => (Code::Internal, err.to_string()),
    }
}

fn from_status(status: &tonic::Status) -> (Code, String) {
    let message = status.message();
    let message = message.strip_prefix("etcdserver: ").unwrap_or(message);
    #[cfg(feature = "tls")]
    if let Some(err @ rustls::Error::InvalidCertificate(_)) = tls_error(status) {
        return (
            Code::Unavailable,
            format!("etcd's certificate is not trusted: {err}"),
        );
    }
    match status.code() {
        // Could not connect, or the connection broke: say what the network said.
        tonic::Code::Unavailable => (Code::Unavailable, with_cause(message, status)),
        // A connection lost mid-stream surfaces as an HTTP/2 error with code Unknown.
        tonic::Code::Unknown if status.source().is_some() => {
            (Code::Unavailable, with_cause(message, status))
        }
        tonic::Code::InvalidArgument if message.starts_with("authentication failed") => {
            (Code::Unauthenticated, message.to_owned())
        }
        tonic::Code::InvalidArgument if message == NO_USER => (
            Code::Unauthenticated,
            "authentication is enabled on etcd and no credentials were given".to_owned(),
        ),
        code => (
            Code::from_number(code as i32).unwrap_or(Code::Unknown),
            message.to_owned(),
        ),
    }
}

/// Whether `err` says that the connection failed under the request (rather than etcd
/// answering it, or nothing listening): what `probe` looks into.
pub(crate) fn connection_closed(err: &etcd_client::Error) -> bool {
    let etcd_client::Error::GRpcStatus(status) = err else {
        return false;
    };
    // etcd's own answers have no source; a transport's failures do.
    if status.source().is_none() {
        return false;
    }
    #[cfg(feature = "tls")]
    if matches!(
        tls_error(status),
        Some(rustls::Error::InvalidCertificate(_))
    ) {
        return false;
    }
    !chain(status).any(|err| {
        err.downcast_ref::<std::io::Error>()
            .is_some_and(|err| err.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// The TLS error under `status`, if a TLS failure caused it.
#[cfg(feature = "tls")]
fn tls_error(status: &tonic::Status) -> Option<&rustls::Error> {
    chain(status).find_map(|err| {
        err.downcast_ref::<rustls::Error>().or_else(|| {
            // An I/O error shows its inner error's text but not the error itself as a source.
            err.downcast_ref::<std::io::Error>()?
                .get_ref()?
                .downcast_ref::<rustls::Error>()
        })
    })
}

/// `err` and its sources, outermost first.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |&err| err.source())
}

/// `message`, followed by the innermost cause of `status` where it adds something.
fn with_cause(message: &str, status: &tonic::Status) -> String {
    let cause = deepest_cause(status);
    if cause.is_empty() || cause == message {
        message.to_owned()
    } else {
        format!("{message}: {cause}")
    }
}

/// The text of the innermost error in `err`'s chain of sources (the OS's "connection
/// refused" under a transport's "tcp connect error").
fn deepest_cause(err: &(dyn std::error::Error + 'static)) -> String {
    chain(err).last().unwrap_or(err).to_string()
}
