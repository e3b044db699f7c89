//! The HTTP server under the registry stand-ins ([`consul`](crate::consul),
//! [`eureka`](crate::eureka)): HTTP/1.1 on a loopback listener, in-process, each request
//! read whole before its handler runs.
//!
//! Stopping aborts the accept loop and every connection task with it, so requests held open
//! (a Consul blocking query) end as a real server's would when it dies: the client sees its
//! connection closed.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A running stand-in server: its accept loop and connections, stopped on drop.
#[derive(Debug)]
pub(crate) struct Server {
    task: JoinHandle<()>,
}

impl Server {
    /// Listens on `addr` and serves every request with `handler`.
    pub(crate) async fn start<H, Fut>(addr: SocketAddr, handler: H) -> io::Result<Server>
    where
        H: Fn(Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops the set, which aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                let service = service_fn(move |request: Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let response = match body.collect().await {
                            Ok(body) => handler(Request::from_parts(parts, body.to_bytes())).await,
                            Err(err) => text(StatusCode::BAD_REQUEST, format!("bad body: {err}")),
                        };
                        Ok::<_, Infallible>(response)
                    }
                });
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                // Reap finished connections so that the set does not grow without bound.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Server { task })
    }

    /// Stops serving and waits until the listener and every connection are closed, so that
    /// the address can be bound again.
    pub(crate) async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response with `body` as plain text.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Refuses (`415`, with the reason) a request whose body is compressed: the trace
/// receivers read plain bodies only.
pub(crate) fn uncompressed(request: &Request<Bytes>) -> Result<(), (StatusCode, String)> {
    if let Some(encoding) = request.headers().get(header::CONTENT_ENCODING)
        && encoding != "identity"
    {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the stand-in does not decode Content-Encoding {encoding:?}"),
        ));
    }
    Ok(())
}

/// A `200` response with `body` as JSON.
pub(crate) fn json(body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The values of query parameter `name` in `request`'s URI, percent-decoded.
pub(crate) fn query_values<'a>(
    request: &'a Request<Bytes>,
    name: &'a str,
) -> impl Iterator<Item = String> + 'a {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(move |pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then(|| percent_decode(value))
        })
}

/// Decodes `%XX` escapes and `+` (a space in a query).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
