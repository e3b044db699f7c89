//! The connection pool behind clients.

use std::error::Error as StdError;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client as HyperClient, ResponseFuture};
use hyper_util::rt::TokioExecutor;
use kit::error::Delivery;
use kit::{Code, Error};

use crate::Body;
use crate::cause::{io_code, root_cause};

/// A pool of keep-alive connections (HTTP/1.1) shared by the clients it is given to; clones
/// share the same pool.
///
/// A pool speaks plain HTTP; one made with `Pool::with_tls` (the `tls` feature)
/// speaks HTTPS to `https://` URLs too, over connections kept apart from the plain ones.
///
/// Connections belong to the tokio runtime the pool first dials from, so give each runtime
/// its own pool.
#[derive(Clone, Debug)]
pub struct Pool {
    client: HyperClient<HttpConnector, Body>,
    /// The pool of TLS connections, for `https://` URLs, and whether it presents a client
    /// certificate.
    #[cfg(feature = "tls")]
    https: Option<(HyperClient<super::tls::HttpsConnector, Body>, bool)>,
}

impl Pool {
    /// An empty pool; connections are made on demand with `TCP_NODELAY` set.
    pub fn new() -> Pool {
        Pool {
            client: HyperClient::builder(TokioExecutor::new()).build(connector()),
            #[cfg(feature = "tls")]
            https: None,
        }
    }

    /// An empty pool that also speaks HTTPS, with `tls`, to `https://` URLs.
    #[cfg(feature = "tls")]
    pub fn with_tls(tls: &super::Tls) -> Pool {
        let https = super::tls::HttpsConnector::new(connector(), tls);
        Pool {
            https: Some((
                HyperClient::builder(TokioExecutor::new()).build(https),
                tls.has_client_certificate(),
            )),
            ..Pool::new()
        }
    }

    /// Sends `request` and returns the response head with its unread body. A failure says
    /// how far the request got (see [`delivery_of`]).
    pub(crate) async fn send(&self, request: Request<Body>) -> Result<Response<Incoming>, Error> {
        // Kept for the error message only: cheap clones (a standard method, a shared URI).
        let method = request.method().clone();
        let uri = request.uri().clone();
        let sent = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            self.https_request(request)
                .ok_or_else(|| no_tls(&method, &uri))?
        } else {
            self.client.request(request)
        };
        sent.await.map_err(|err| {
            #[cfg(feature = "tls")]
            if let Some((_, client_certificate)) = &self.https
                && let Some(why) = super::tls::refusal(&err, *client_certificate)
            {
                // The reason as the innermost cause, where callers look for the useful words
                // (`call_error`); hyper's chain ends in the bare alert.
                return Error::new(Code::Unauthenticated, format!("{method} {uri}: {why}"))
                    .with_delivery(Delivery::NotSent)
                    .with_source(std::io::Error::other(why));
            }
            let message = format!("{method} {uri}: {}", root_cause(&err));
            let delivery = delivery_of(&err);
            let code = match io_code(&err) {
                Some(code) if delivery == Delivery::MaybeExecuted => code,
                _ => Code::Unavailable,
            };
            Error::new(code, message)
                .with_delivery(delivery)
                .with_source(err)
        })
    }
}

impl Pool {
    /// `request` sent over the TLS connections, if the pool has TLS settings.
    #[cfg(feature = "tls")]
    fn https_request(&self, request: Request<Body>) -> Option<ResponseFuture> {
        Some(self.https.as_ref()?.0.request(request))
    }

    /// No TLS without the `tls` feature.
    #[cfg(not(feature = "tls"))]
    fn https_request(&self, _: Request<Body>) -> Option<ResponseFuture> {
        None
    }
}

/// A connector with `TCP_NODELAY` set.
fn connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector
}

/// The error of an `https://` request on a pool without TLS.
fn no_tls(method: &http::Method, uri: &http::Uri) -> Error {
    let why = if cfg!(feature = "tls") {
        "this pool has no TLS settings (make it with Pool::with_tls)"
    } else {
        "kit-http was built without its `tls` feature"
    };
    Error::invalid_argument(format!("{method} {uri}: HTTPS, but {why}"))
        .with_delivery(Delivery::NotSent)
}

/// How far a request that failed with `err` got: not sent when the connection could not be
/// made or hyper had not started writing the request (a connection that closed while idle
/// in the pool); otherwise it may have reached the server (the connection was lost after
/// the request was written, or while it was being written).
fn delivery_of(err: &hyper_util::client::legacy::Error) -> Delivery {
    if err.is_connect() {
        return Delivery::NotSent;
    }
    let mut cause: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(current) = cause {
        if current
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_canceled)
        {
            return Delivery::NotSent;
        }
        cause = current.source();
    }
    Delivery::MaybeExecuted
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}
