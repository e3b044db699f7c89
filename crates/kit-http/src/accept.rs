//! The accept loop every kit server runs: connections served until a shutdown signal, then a
//! bounded drain.
//!
//! [`serve`](crate::serve) (HTTP/1.1 and h2c) and kit-grpc's `serve` (HTTP/2) differ only in
//! how they turn an accepted socket into a hyper connection; accepting, back-off on failed
//! accepts, `TCP_NODELAY`, graceful shutdown and the grace period are the same, and live
//! here.

use std::fmt::Display;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::server::graceful::GracefulConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::graceful::Drain;

/// Accepts connections on `listener` and serves each with the connection `connect` makes of
/// it, until `shutdown` completes; then stops accepting, asks every connection to finish its
/// in-flight requests and close (idle ones close at once), and waits up to `grace` for them
/// before closing the rest. `protocol` names the server in its log events.
///
/// Sockets get `TCP_NODELAY`: small RPC answers must not wait for Nagle's algorithm. Failed
/// `accept`s are logged and retried after a short pause, never fatal.
pub async fn serve_connections<F, M, C>(
    listener: TcpListener,
    shutdown: F,
    grace: Duration,
    protocol: &'static str,
    mut connect: M,
) where
    F: Future<Output = ()>,
    M: FnMut(TcpStream, SocketAddr) -> C,
    C: GracefulConnection + Send + 'static,
    C::Error: Display,
{
    let drain = Drain::default();
    // Connection tasks, so that the ones still open after the grace period can be closed
    // rather than left running.
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err, protocol).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = drain.watch(connect(stream, peer));
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(protocol, error = %err, %peer, "connection ended with an error");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    drop(listener);
    tracing::info!(protocol, %addr, ?grace, "shutting down: draining in-flight requests");
    drain.start();
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!(protocol, %addr, "grace period over: closing the remaining connections");
        connections.shutdown().await;
    }
}

/// Backs off after a failed `accept`: errors such as running out of file descriptors last a
/// while, and spinning on them would starve the requests being served.
async fn accept_failed(err: io::Error, protocol: &'static str) {
    use io::ErrorKind as K;
    if matches!(
        err.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted
    ) {
        return;
    }
    tracing::warn!(protocol, error = %err, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
