//! Socket options of accepted connections.

use std::time::Duration;

use tokio::net::TcpStream;

/// How many unanswered TCP keepalive probes end a connection (Go's servers use 9 too).
#[cfg(any(target_os = "linux", target_os = "android"))]
const KEEPALIVE_PROBES: u32 = 9;

/// Sets up an accepted socket: `TCP_NODELAY` (small RPC answers must not wait for Nagle's
/// algorithm) and, with `keepalive`, TCP keepalive probes after that long without traffic
/// and every that long after. Failures are ignored: the connection works without them.
pub(crate) fn prepare(stream: &TcpStream, keepalive: Option<Duration>) {
    let _ = stream.set_nodelay(true);
    if let Some(idle) = keepalive {
        set_keepalive(stream, idle);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_keepalive(stream: &TcpStream, idle: Duration) {
    use rustix::net::sockopt;
    // The kernel counts in whole seconds, at least one.
    let idle = idle.max(Duration::from_secs(1));
    let _ = sockopt::set_tcp_keepidle(stream, idle);
    let _ = sockopt::set_tcp_keepintvl(stream, idle);
    let _ = sockopt::set_tcp_keepcnt(stream, KEEPALIVE_PROBES);
    let _ = sockopt::set_socket_keepalive(stream, true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_keepalive(_stream: &TcpStream, _idle: Duration) {}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use rustix::net::sockopt;

    use super::*;

    #[tokio::test]
    async fn keepalive_probes_start_after_the_idle_time_repeat_at_it_and_give_up_after_9() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        prepare(&accepted, Some(Duration::from_secs(7)));
        assert!(accepted.nodelay().unwrap());
        assert!(sockopt::socket_keepalive(&accepted).unwrap());
        assert_eq!(
            sockopt::tcp_keepidle(&accepted).unwrap(),
            Duration::from_secs(7)
        );
        assert_eq!(
            sockopt::tcp_keepintvl(&accepted).unwrap(),
            Duration::from_secs(7)
        );
        assert_eq!(sockopt::tcp_keepcnt(&accepted).unwrap(), 9);

        prepare(&client, None);
        assert!(
            !sockopt::socket_keepalive(&client).unwrap(),
            "off with None"
        );
    }
}
