//! Where a call came from.

use std::net::SocketAddr;

/// The connection a served call came in on: what a server knows of its caller before any
/// header is read.
///
/// Transports make one per connection and put it in each call's context
/// ([`Context::peer`](crate::Context::peer)), where `before` hooks, middleware (a rate limit
/// per client address) and endpoints read it.
///
/// ```
/// use std::sync::Arc;
/// use kit::context::Peer;
/// use kit::Context;
///
/// let peer = Arc::new(Peer::new("10.0.0.7:51234".parse().unwrap()));
/// let ctx = Context::background().with_peer(peer);
/// assert_eq!(ctx.peer().unwrap().remote_addr.port(), 51234);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// The address of the remote end of the connection.
    pub remote_addr: SocketAddr,
    /// The local address the connection was accepted on, when known.
    pub local_addr: Option<SocketAddr>,
}

impl Peer {
    /// A peer at `remote_addr`.
    pub fn new(remote_addr: SocketAddr) -> Peer {
        Peer {
            remote_addr,
            local_addr: None,
        }
    }

    /// The same peer, accepted on `local_addr`.
    pub fn with_local_addr(mut self, local_addr: SocketAddr) -> Peer {
        self.local_addr = Some(local_addr);
        self
    }
}
