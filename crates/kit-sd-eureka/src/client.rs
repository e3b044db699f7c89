//! The connection to a Eureka server: its service URL, and one call of its REST API with
//! the error it ends with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, StatusCode, request, response};
use kit::sd::Instancer;
use kit::{Context, Endpoint, Error};
use kit_http::HttpStatus;
use kit_http::client::{Pool, Target};

use crate::{AppQuery, EurekaRegistrar, Registration};

/// How long a call may take, by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Eureka server's REST API: its service URL, as Eureka clients are configured with
/// (`http://host:8761/eureka`, or `.../eureka/v2` for Netflix's own server), with the
/// credentials of HTTP basic auth in it (`http://user:password@host:8761/eureka`, as Spring
/// Cloud writes them) or given with [`basic_auth`](Client::basic_auth). Cheap to clone;
/// clones share one connection pool.
///
/// The password is never shown: not in [`Debug`](fmt::Debug), not in errors, whose URL
/// is the service URL without its credentials.
///
/// ```
/// let eureka = kit_sd_eureka::Client::new("http://app:s%40cret@127.0.0.1:8761/eureka")?;
/// assert_eq!(
///     format!("{eureka:?}"),
///     "Client { url: Target(\"http://127.0.0.1:8761/eureka\"), user: Some(\"app\"), timeout: 10s }"
/// );
/// # Ok::<(), kit::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    target: Target,
    /// The basic auth user, shown in `Debug`, and the `Authorization` header (sensitive).
    credentials: Option<(String, HeaderValue)>,
    pool: Pool,
    timeout: Duration,
}

/// A call's answer: a `2xx` head and its body.
pub(crate) struct Answer {
    pub(crate) body: Bytes,
}

impl Client {
    /// The server whose service URL is `url`: `http://host:port/prefix` (or
    /// `host:port/prefix`; `https://` with the `tls` feature and [`Client::tls`]). A
    /// `user:password@` before the host is sent as HTTP basic auth, percent-decoded (a `@`
    /// in a password is written `%40`).
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for a URL that is not one; the message shows it without its
    /// credentials.
    pub fn new(url: &str) -> Result<Client, Error> {
        let (url, credentials) = split_credentials(url)?;
        let client = Client {
            inner: Arc::new(Inner {
                target: Target::parse(&url)?,
                credentials: None,
                pool: Pool::new(),
                timeout: DEFAULT_TIMEOUT,
            }),
        };
        Ok(match credentials {
            Some((user, password)) => client.basic_auth(&user, &password),
            None => client,
        })
    }

    /// Sends `user` and `password` with every call, as HTTP basic auth (what a Eureka
    /// server secured with Spring Security asks for), instead of any in the URL.
    pub fn basic_auth(self, user: &str, password: &str) -> Client {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
            .expect("base64 text is a header value");
        value.set_sensitive(true);
        self.with(|inner| inner.credentials = Some((user.to_owned(), value)))
    }

    /// Speaks HTTPS to an `https://` service URL with `tls` (the CAs to trust, a client
    /// certificate).
    #[cfg(feature = "tls")]
    pub fn tls(self, tls: &crate::Tls) -> Client {
        let pool = Pool::with_tls(tls);
        self.with(|inner| inner.pool = pool)
    }

    /// How long a call may take (default 10 seconds).
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
        let authorization = self
            .inner
            .credentials
            .as_ref()
            .map(|(_, value)| value.clone());
        let encode = move |body: Option<Bytes>, head: &mut request::Parts| {
            head.headers
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
            if let Some(authorization) = &authorization {
                head.headers.insert(AUTHORIZATION, authorization.clone());
            }
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

    /// The error of a failed call, saying which server and call it was and, for a refusal
    /// of the credentials, what to check.
    fn eureka_error(&self, method: &Method, path: &str, err: &Error) -> Error {
        let call = format!("eureka at {}: {method} {path}", self.inner.target);
        let failed = kit_http::client::call_error(&call, err, self.inner.timeout);
        if err.hint::<HttpStatus>() != Some(&HttpStatus(StatusCode::UNAUTHORIZED)) {
            return failed;
        }
        let why = match self.inner.credentials {
            Some(_) => "the server refused the user and password",
            None => {
                "the server asks for credentials: give them in the URL or with Client::basic_auth"
            }
        };
        Error::new(failed.code(), format!("{} ({why})", failed.message()))
    }
}

/// `url` without the `user:password@` before its host, and those, percent-decoded.
fn split_credentials(url: &str) -> Result<(String, Option<(String, String)>), Error> {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (&url[..scheme.len() + 3], rest),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return Ok((url.to_owned(), None));
    };
    let (user, password) = rest[..at].split_once(':').unwrap_or((&rest[..at], ""));
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|text| text.into_owned())
    };
    let stripped = format!("{scheme}{}", &rest[at + 1..]);
    match (decode(user), decode(password)) {
        (Ok(user), Ok(password)) => Ok((stripped, Some((user, password)))),
        _ => Err(Error::invalid_argument(format!(
            "invalid address {stripped:?}: its user or password is not UTF-8 once percent-decoded"
        ))),
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The user only: the password stays out of logs.
        f.debug_struct("Client")
            .field("url", &self.inner.target)
            .field(
                "user",
                &self.inner.credentials.as_ref().map(|(user, _)| user),
            )
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_out_of_the_url() {
        let split = |url| split_credentials(url).unwrap();
        assert_eq!(
            split("http://app:p%40ss:w@h:8761/eureka"),
            (
                "http://h:8761/eureka".to_owned(),
                Some(("app".to_owned(), "p@ss:w".to_owned()))
            )
        );
        assert_eq!(
            split("app@h:1/eureka/v2"),
            (
                "h:1/eureka/v2".to_owned(),
                Some(("app".to_owned(), String::new()))
            )
        );
        assert_eq!(split("http://h:1/a@b"), ("http://h:1/a@b".to_owned(), None));
        let err = split_credentials("http://u:%FF@h:1/eureka").unwrap_err();
        assert_eq!(
            err.message(),
            "invalid address \"http://h:1/eureka\": its user or password is not UTF-8 once percent-decoded"
        );
    }
}
