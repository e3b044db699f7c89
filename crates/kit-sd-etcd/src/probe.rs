//! A fresh connection to etcd, made to tell why etcd closed the connection a request was
//! on, where the request's error cannot say.
//!
//! Two mistakes end that way. etcd requiring a client certificate refuses a missing or
//! untrusted one with a TLS alert, but under TLS 1.3 the client finishes its handshake
//! first and starts sending HTTP/2: etcd then closes a connection holding unread bytes,
//! the kernel resets it, and the alert is lost with whatever else was unread (the request
//! fails with "broken pipe" or "connection closed", or sometimes shows the alert). And an
//! etcd serving TLS closes a plain HTTP/2 connection at its first bytes. A probe that
//! sends nothing after its TLS handshake reads the alert; one that sends the HTTP/2
//! preface in the clear sees an HTTP/2 server answer, or the connection closed.

use std::io;
use std::time::Duration;

use kit::Code;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::Config;

/// How long a probe waits for etcd's verdict once connected. Only a refusal is prompt: an
/// etcd that accepts a TLS connection waits for the client to speak, so this bounds the
/// probe of an etcd that has nothing to report.
const VERDICT_WAIT: Duration = Duration::from_secs(2);

/// The start of an HTTP/2 connection: its preface, then an empty SETTINGS frame.
const HTTP2_START: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// Why etcd closes this client's connections, if a fresh connection to one of its
/// endpoints shows it: a code, and what to tell the user.
pub(crate) async fn why_closed(config: &Config) -> Option<(Code, String)> {
    for endpoint in &config.endpoints {
        let authority = authority(endpoint);
        let Ok(Ok(tcp)) =
            tokio::time::timeout(config.dial_timeout, TcpStream::connect(authority)).await
        else {
            continue;
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &config.tls {
            if let Some(why) = tls_refusal(tls, authority, tcp).await {
                return Some(why);
            }
            continue;
        }
        if closes_plain_http2(tcp).await {
            let hint = if cfg!(feature = "tls") {
                "if it serves TLS, give https:// endpoints and Config::tls"
            } else {
                "if it serves TLS, build kit-sd-etcd with its `tls` feature and use Config::tls"
            };
            return Some((
                Code::Unavailable,
                format!("etcd closed a plain HTTP/2 connection at its first bytes; {hint}"),
            ));
        }
    }
    None
}

/// `host:port` of an endpoint given as `host:port` or a URL.
fn authority(endpoint: &str) -> &str {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// Whether the server at the other end of `tcp` closes it when it is spoken to in plain
/// HTTP/2 (an HTTP/2 server answers with its settings).
async fn closes_plain_http2(mut tcp: TcpStream) -> bool {
    let verdict = tokio::time::timeout(VERDICT_WAIT, async {
        tcp.write_all(HTTP2_START).await?;
        tcp.read(&mut [0; 1]).await
    })
    .await;
    match verdict {
        Ok(Ok(read)) => read == 0,
        Ok(Err(err)) => matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionAborted
        ),
        Err(_) => false,
    }
}

/// The refusal of a TLS handshake with `tls` on `tcp`: the alert etcd sends after it, if
/// it sends one, said in terms of the client certificate.
#[cfg(feature = "tls")]
async fn tls_refusal(tls: &crate::Tls, authority: &str, tcp: TcpStream) -> Option<(Code, String)> {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).ok()?;
    let connector = tokio_rustls::TlsConnector::from(tls.rustls_config(&[b"h2"]));
    let verdict = tokio::time::timeout(VERDICT_WAIT, async {
        // A handshake that fails says why itself (in the request's error too).
        let mut stream = connector.connect(name, tcp).await.ok()?;
        stream.read(&mut [0; 1]).await.err()
    })
    .await;
    let err = verdict.ok()??;
    let Some(rustls::Error::AlertReceived(alert)) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return None;
    };
    let why = if tls.has_client_certificate() {
        format!(
            "etcd refused the client certificate (TLS alert {alert:?}): it takes those signed \
             by a CA in its --trusted-ca-file"
        )
    } else {
        format!(
            "etcd requires a client certificate and refused the connection without one (TLS \
             alert {alert:?}); give one with Tls::client_certificate"
        )
    };
    Some((Code::Unauthenticated, why))
}
