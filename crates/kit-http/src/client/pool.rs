//! The connection pool behind clients.

use std::error::Error as StdError;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kit::error::Delivery;
use kit::{Code, Error};

use crate::Body;
use crate::cause::{io_code, root_cause};

/// A pool of keep-alive connections (HTTP/1.1) shared by the clients it is given to; clones
/// share the same pool.
///
/// Connections belong to the tokio runtime the pool first dials from, so give each runtime
/// its own pool.
#[derive(Clone, Debug)]
pub struct Pool {
    client: HyperClient<HttpConnector, Body>,
}

impl Pool {
    /// An empty pool; connections are made on demand with `TCP_NODELAY` set.
    pub fn new() -> Pool {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Pool {
            client: HyperClient::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends `request` and returns the response head with its unread body. A failure says
    /// how far the request got (see [`delivery_of`]).
    pub(crate) async fn send(&self, request: Request<Body>) -> Result<Response<Incoming>, Error> {
        // Kept for the error message only: cheap clones (a standard method, a shared URI).
        let method = request.method().clone();
        let uri = request.uri().clone();
        self.client.request(request).await.map_err(|err| {
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
