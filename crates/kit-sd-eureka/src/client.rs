//! The connection to a Eureka server: its service URL, and one call of its REST API with
//! the error it ends with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use http::{Method, request, response};
use kit::sd::Instancer;
use kit::{Context, Endpoint, Error};
use kit_http::client::{Pool, Target};

use crate::{AppQuery, EurekaRegistrar, Registration};

/// How long a call may take, by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Eureka server's REST API: its service URL, as Eureka clients are configured with
/// (`http://host:8761/eureka`, or `.../eureka/v2` for Netflix's own server). Cheap to
/// clone; clones share one connection pool.
///
/// ```
/// let eureka = kit_sd_eureka::Client::new("http://127.0.0.1:8761/eureka")?;
/// # Ok::<(), kit::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    target: Target,
    pool: Pool,
    timeout: Duration,
}

/// A call's answer: a `2xx` head and its body.
pub(crate) struct Answer {
    pub(crate) body: Bytes,
}

impl Client {
    /// The server whose service URL is `url`: `http://host:port/prefix` (or `host:port/prefix`).
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for a URL that is not one.
    pub fn new(url: &str) -> Result<Client, Error> {
        Ok(Client {
            inner: Arc::new(Inner {
                target: Target::parse(url)?,
                pool: Pool::new(),
                timeout: DEFAULT_TIMEOUT,
            }),
        })
    }

    /// How long a call may take (default 10 seconds).
    pub fn timeout(self, timeout: Duration) -> Client {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.timeout = timeout;
        Client {
            inner: Arc::new(inner),
        }
    }

    /// An instancer polling an application's instances; see [`AppQuery`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn instancer(&self, query: AppQuery) -> Instancer {
        crate::instancer::spawn(self.clone(), query)
    }

    /// A registrar of `registration` with this server; see [`EurekaRegistrar`].
    pub fn registrar(&self, registration: Registration) -> EurekaRegistrar {
        EurekaRegistrar::new(self.clone(), registration)
    }

    /// Sends `method path` (under the service URL) with a JSON `body`, asking for JSON. Any
    /// answer but a `2xx` is an error with the status's code.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Answer, Error> {
        let uri = self.inner.target.uri(path)?;
        let encode = |body: Option<Bytes>, head: &mut request::Parts| {
            head.headers
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
            if body.is_some() {
                head.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Ok::<_, Error>(body.unwrap_or_default())
        };
        let decode = |_: response::Parts, body| Ok(Answer { body });
        let client = kit_http::Client::new(method.clone(), uri, encode, decode)
            .pool(self.inner.pool.clone());
        let ctx = Context::background().with_timeout(self.inner.timeout);
        client
            .call(ctx, body)
            .await
            .map_err(|err| self.eureka_error(&method, path, &err))
    }

    /// The error of a failed call, saying which server and call it was.
    fn eureka_error(&self, method: &Method, path: &str, err: &Error) -> Error {
        let call = format!("eureka at {}: {method} {path}", self.inner.target);
        kit_http::client::call_error(&call, err, self.inner.timeout)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.target)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}
