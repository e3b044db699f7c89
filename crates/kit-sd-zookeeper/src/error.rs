//! ZooKeeper's errors as kit's.

use kit::{Code, Error};
use zookeeper_client as zk;

/// `err`, met while doing `what` ("read the children of /services/x"), as a kit error that
/// says what failed and, for a refused operation, who was refused (`identity`: "digest user
/// `alice`").
pub(crate) fn from_zk(err: zk::Error, what: &str, identity: &str) -> Error {
    let (code, message) = match &err {
        zk::Error::NoAuth => (
            Code::PermissionDenied,
            format!(
                "zookeeper: not allowed to {what}: the node's ACL refuses {identity} \
                 (wrong credentials, or none where some are needed)"
            ),
        ),
        zk::Error::AuthFailed => (
            Code::Unauthenticated,
            format!("zookeeper: cannot {what}: the server refused the credentials of {identity}"),
        ),
        // `Custom` is how the client reports a connection it has given up on (a read or
        // write failed, or the server answered nothing for too long): like
        // `ConnectionLoss`, the request may or may not have taken effect, and the client
        // reconnects. (It also carries TLS and SASL set-up errors, which kit does not use.)
        zk::Error::ConnectionLoss
        | zk::Error::Custom(_)
        | zk::Error::SessionExpired
        | zk::Error::SessionMoved
        | zk::Error::ClientClosed
        | zk::Error::NoHosts
        | zk::Error::Timeout
        | zk::Error::Throttled => (
            Code::Unavailable,
            format!("zookeeper: cannot {what}: {err}"),
        ),
        zk::Error::NoNode => (Code::NotFound, format!("zookeeper: cannot {what}: {err}")),
        zk::Error::NodeExists => (
            Code::AlreadyExists,
            format!("zookeeper: cannot {what}: {err}"),
        ),
        zk::Error::BadArguments(_) | zk::Error::InvalidAcl | zk::Error::NoChildrenForEphemerals => {
            (
                Code::InvalidArgument,
                format!("zookeeper: cannot {what}: {err}"),
            )
        }
        _ => (Code::Internal, format!("zookeeper: cannot {what}: {err}")),
    };
    Error::new(code, message).with_source(err)
}

/// Whether trying again later may succeed: the server was out of reach or busy, or the
/// session ended (a new one is made).
pub(crate) fn is_transient(err: &Error) -> bool {
    err.code() == Code::Unavailable
}
