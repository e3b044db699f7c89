//! The connection pool behind clients.

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kit::{Code, Error};

use crate::cause::{io_code, root_cause};

use crate::Body;

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

    /// Sends `request` and returns the response head with its unread body.
    pub(crate) async fn send(&self, request: Request<Body>) -> Result<Response<Incoming>, Error> {
        let target = format!("{} {}", request.method(), request.uri());
        self.client.request(request).await.map_err(|err| {
            let message = format!("{target}: {}", root_cause(&err));
            let code = match io_code(&err) {
                Some(code) if !err.is_connect() => code,
                _ => Code::Unavailable,
            };
            Error::new(code, message).with_source(err)
        })
    }
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}
