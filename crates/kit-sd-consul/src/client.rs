//! The connection to a Consul agent: its address, the ACL token, and one call of its HTTP
//! API with the error it ends with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, request, response};
use kit::sd::Instancer;
use kit::{Context, Endpoint, Error};
use kit_http::HttpStatus;
use kit_http::client::{Pool, Target};

use crate::{ConsulRegistrar, HealthQuery, Registration};

/// How long a call that is not a blocking query may take, by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Consul agent's HTTP API (Go kit's `consul.Client`): where it is, and the ACL token to
/// send. Cheap to clone; clones share one connection pool.
///
/// ```
/// let consul = kit_sd_consul::Client::new("127.0.0.1:8500")?.acl_token("s3cr3t")?;
/// # Ok::<(), kit::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    target: Target,
    token: Option<HeaderValue>,
    pool: Pool,
    timeout: Duration,
}

/// A call's answer: a `2xx` head and its body.
pub(crate) struct Answer {
    pub(crate) head: response::Parts,
    pub(crate) body: Bytes,
}

impl Client {
    /// The agent at `addr`: `host:port` or `http://host:port` (Consul's HTTP port is 8500),
    /// or `https://host:port` with the `tls` feature and [`Client::tls`].
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for an address that is neither.
    pub fn new(addr: &str) -> Result<Client, Error> {
        Ok(Client {
            inner: Arc::new(Inner {
                target: Target::parse(addr)?,
                token: None,
                pool: Pool::new(),
                timeout: DEFAULT_TIMEOUT,
            }),
        })
    }

    /// Sends `token` as `X-Consul-Token` with every call.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for a token that cannot be a header value.
    pub fn acl_token(self, token: &str) -> Result<Client, Error> {
        let mut value = HeaderValue::try_from(token).map_err(|_| {
            Error::invalid_argument("consul: the ACL token is not a valid header value")
        })?;
        value.set_sensitive(true);
        Ok(self.with(|inner| inner.token = Some(value)))
    }

    /// Speaks HTTPS to an `https://` agent address (Consul's HTTPS port, 8501 by
    /// convention) with `tls`: the CAs to trust, and the client certificate an agent with
    /// `verify_incoming` requires.
    #[cfg(feature = "tls")]
    pub fn tls(self, tls: &crate::Tls) -> Client {
        let pool = Pool::with_tls(tls);
        self.with(|inner| inner.pool = pool)
    }

    /// How long a call other than a blocking query may take (default 10 seconds).
    pub fn timeout(self, timeout: Duration) -> Client {
        self.with(|inner| inner.timeout = timeout)
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> Client {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        Client {
            inner: Arc::new(inner),
        }
    }

    /// An instancer over the healthy instances of a service; see [`HealthQuery`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn instancer(&self, query: HealthQuery) -> Instancer {
        crate::instancer::spawn(self.clone(), query)
    }

    /// A registrar of `registration` with this agent; see [`ConsulRegistrar`].
    pub fn registrar(&self, registration: Registration) -> ConsulRegistrar {
        ConsulRegistrar::new(self.clone(), registration)
    }

    /// The timeout of calls that are not blocking queries.
    pub(crate) fn default_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Sends `method path_and_query` with a JSON `body`, within `timeout`. Any answer but a
    /// `2xx` is an error with the status's code (see [`consul_error`]).
    pub(crate) async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Answer, Error> {
        let uri = self.inner.target.uri(path_and_query)?;
        let token = self.inner.token.clone();
        let encode = move |body: Option<Bytes>, head: &mut request::Parts| {
            if let Some(token) = &token {
                head.headers.insert("x-consul-token", token.clone());
            }
            if body.is_some() {
                head.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Ok(body.unwrap_or_default())
        };
        let decode = |head, body| Ok(Answer { head, body });
        let client = kit_http::Client::new(method.clone(), uri, encode, decode)
            .pool(self.inner.pool.clone());
        let ctx = Context::background().with_timeout(timeout);
        let path = path_and_query.split('?').next().unwrap_or_default();
        client
            .call(ctx, body)
            .await
            .map_err(|err| self.consul_error(&method, path, timeout, &err))
    }

    /// The error of a failed call, saying which agent and call it was and, for a refusal,
    /// what to check.
    fn consul_error(&self, method: &Method, path: &str, timeout: Duration, err: &Error) -> Error {
        let call = format!("consul at {}: {method} {path}", self.inner.target);
        match err.hint::<HttpStatus>() {
            Some(HttpStatus(status)) if matches!(status.as_u16(), 401 | 403) => {
                let message = format!(
                    "{call}: {status}: {} (the ACL token is missing, unknown, or lacks the permission)",
                    err.message()
                );
                Error::new(err.code(), message)
            }
            _ => kit_http::client::call_error(&call, err, timeout),
        }
    }
}

/// `duration` in Go's syntax, as Consul reads `wait`, `TTL` and the like: whole
/// milliseconds (`1500ms`), at least one.
pub(crate) fn go_duration(duration: Duration) -> String {
    format!("{}ms", duration.as_millis().max(1))
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.inner.target)
            .field(
                "acl_token",
                &self.inner.token.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}
