//! The connection to etcd shared by instancers and registrars, and its settings.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kit::middleware::retry::Backoff;
use kit::sd::Instancer;
use kit::{Code, Error};

#[cfg(feature = "tls")]
use crate::Tls;
use crate::error::{classify, connection_closed};
use crate::probe;
use crate::{Registrar, instancer};

/// How to reach etcd: its endpoints, credentials and timeouts.
///
/// ```
/// use std::time::Duration;
/// use kit_sd_etcd::Config;
///
/// let config = Config::new(["127.0.0.1:2379"])
///     .credentials("addsvc", "secret")
///     .request_timeout(Duration::from_secs(2));
/// // The password is never printed.
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) endpoints: Vec<String>,
    credentials: Option<(String, String)>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Tls>,
    pub(crate) dial_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) backoff: Backoff,
}

impl Config {
    /// Settings for the etcd cluster at `endpoints` (`host:port`, `http://host:port`, or
    /// `https://host:port` with `Config::tls` and the `tls` feature), with the defaults: no
    /// credentials, no TLS, a dial timeout of 3 s, a request timeout of 5 s, retries after
    /// 100 ms doubling up to 5 s.
    pub fn new<I>(endpoints: I) -> Config
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Config {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            credentials: None,
            #[cfg(feature = "tls")]
            tls: None,
            dial_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
        }
    }

    /// Authenticates as `user` with `password` (for an etcd with auth enabled). The token
    /// etcd hands out is renewed when etcd refuses it (it expires, or etcd restarted).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Config {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Speaks TLS to etcd with `tls` (the CA to trust, a client certificate): endpoints
    /// without a scheme are then `https://`, and `http://` ones are refused. etcd's
    /// certificate is verified against the endpoint's host (a name or an IP address).
    ///
    /// ```
    /// use kit_sd_etcd::{Config, Tls};
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = Tls::new(std::fs::read("/etc/etcd/ca.pem")?)?.client_certificate(
    ///     std::fs::read("/etc/etcd/client.pem")?,
    ///     std::fs::read("/etc/etcd/client-key.pem")?,
    /// )?;
    /// let config = Config::new(["https://10.0.0.1:2379"]).tls(tls);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: Tls) -> Config {
        self.tls = Some(tls);
        self
    }

    /// How long to wait for a TCP connection to an endpoint (and, with TLS, its handshake).
    pub fn dial_timeout(mut self, timeout: Duration) -> Config {
        self.dial_timeout = timeout;
        self
    }

    /// How long to wait for etcd's answer to one request (a read, a write, a lease grant,
    /// the start of a watch).
    pub fn request_timeout(mut self, timeout: Duration) -> Config {
        self.request_timeout = timeout;
        self
    }

    /// The pauses between retries after a failure: each drawn at random up to a ceiling
    /// that starts at `min` and doubles up to `max` ([`Backoff::random_delay`]), so that
    /// clients that failed together spread out.
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Config {
        self.backoff = Backoff::new(min, max.max(min));
        self
    }

    /// Checks that the endpoints' schemes agree with the TLS settings, so that the error
    /// says which endpoint and what to do: given an `https://` endpoint without settings,
    /// etcd-client would speak TLS trusting no CA at all (or, without the feature, name its
    /// own features), and it refuses an `http://` one with settings in its own words.
    fn check_schemes(&self) -> Result<(), String> {
        #[cfg(feature = "tls")]
        let tls = self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let tls = false;
        for endpoint in &self.endpoints {
            if tls && endpoint.starts_with("http://") {
                return Err(format!(
                    "{endpoint} is plain HTTP but TLS is configured: give https:// or no scheme"
                ));
            }
            if !tls && endpoint.starts_with("https://") {
                return Err(if cfg!(feature = "tls") {
                    format!("{endpoint} is HTTPS but TLS is not configured (Config::tls)")
                } else {
                    format!(
                        "{endpoint} is HTTPS but kit-sd-etcd was built without its `tls` feature"
                    )
                });
            }
        }
        Ok(())
    }

    fn connect_options(&self) -> etcd_client::ConnectOptions {
        let mut options = etcd_client::ConnectOptions::new()
            .with_connect_timeout(self.dial_timeout)
            // HTTP/2 pings find a connection that died without a word (a crashed host):
            // etcd refuses pings more often than every 5 s (`--grpc-keepalive-min-time`),
            // and pings without a stream open (`keep_alive_while_idle`) altogether.
            .with_keep_alive(Duration::from_secs(10), self.request_timeout)
            .with_keep_alive_while_idle(false);
        if let Some((user, password)) = &self.credentials {
            options = options
                .with_user(user.clone(), password.clone())
                .with_auto_token_refresh(true);
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            options = options.with_tls(tls_options(tls));
        }
        options
    }
}

/// etcd-client's settings for `tls`: the same CA and client certificate, as PEM.
#[cfg(feature = "tls")]
fn tls_options(tls: &Tls) -> etcd_client::TlsOptions {
    let options = etcd_client::TlsOptions::new()
        .ca_certificate(etcd_client::Certificate::from_pem(tls.ca_pem()));
    match tls.client_pem() {
        Some((cert, key)) => options.identity(etcd_client::Identity::from_pem(cert, key)),
        None => options,
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Config");
        f.field("endpoints", &self.endpoints)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user));
        #[cfg(feature = "tls")]
        f.field("tls", &self.tls);
        f.field("dial_timeout", &self.dial_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// A client of one etcd cluster, from which [`instancers`](Client::instancer) and
/// [`registrars`](Client::registrar) are made (Go kit's `etcdv3.Client`).
///
/// Cheap to clone: clones share one connection. Making a client does not connect: the
/// first request does (authenticating, with [`Config::credentials`]), and a request that
/// finds etcd down fails with [`Code::Unavailable`](kit::Code::Unavailable) rather than
/// waiting for it. Connections that break are re-established by the next request.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The endpoints, for messages.
    at: String,
    /// The connection, made by the first request that succeeds in making it.
    etcd: tokio::sync::Mutex<Option<etcd_client::Client>>,
}

impl Client {
    /// A client of the etcd cluster `config` describes; connects on first use.
    pub fn new(config: Config) -> Client {
        let at = config.endpoints.join(",");
        Client {
            inner: Arc::new(Inner {
                config,
                at,
                etcd: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// An instancer over the keys under `prefix` (Go kit's `etcdv3.NewInstancer`): each
    /// key's value is an instance. See the [crate docs](crate) for how it follows etcd.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (its watch runs as a task).
    pub fn instancer(&self, prefix: impl Into<String>) -> Instancer {
        let client = self.clone();
        let prefix = prefix.into();
        Instancer::spawn(move |publisher| instancer::run(client, prefix, publisher))
    }

    /// A registrar that puts `key` with `value` (an instance's address) into etcd under a
    /// lease (Go kit's `etcdv3.NewRegistrar`). By the contract kit's instancers read, `key`
    /// is a service's prefix followed by the address, and `value` the address:
    ///
    /// ```
    /// # fn demo(client: kit_sd_etcd::Client) {
    /// let prefix = kit_sd_etcd::service_prefix("addsvc", "http");
    /// let addr = "127.0.0.1:8081";
    /// let registrar = client.registrar(format!("{prefix}{addr}"), addr);
    /// # }
    /// ```
    pub fn registrar(&self, key: impl Into<String>, value: impl Into<String>) -> Registrar {
        Registrar::new(self.clone(), key.into(), value.into())
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Runs one request (`call`, given the connection) within the request timeout; its
    /// error says that `action` failed and why.
    pub(crate) async fn request<T, F, Fut>(&self, action: &str, call: F) -> Result<T, Error>
    where
        F: FnOnce(etcd_client::Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let timeout = self.inner.config.request_timeout;
        let result = tokio::time::timeout(timeout, async {
            let etcd = self.connection(action).await?;
            match call(etcd).await {
                Ok(value) => Ok(value),
                Err(err) => Err(self.explained(action, err).await),
            }
        })
        .await;
        match result {
            Ok(result) => result,
            Err(_) => Err(self.failure(
                Code::Unavailable,
                action,
                format_args!("no answer within {timeout:?}"),
            )),
        }
    }

    /// The error for `err`, met while doing `action`; when etcd closed the connection,
    /// with the reason a fresh connection shows (see `probe`).
    async fn explained(&self, action: &str, err: etcd_client::Error) -> Error {
        if connection_closed(&err)
            && let Some((code, why)) = probe::why_closed(&self.inner.config).await
        {
            return self.failure(code, action, why).with_source(err);
        }
        self.error(action, err)
    }

    /// The error for `err`, met while doing `action`.
    pub(crate) fn error(&self, action: &str, err: etcd_client::Error) -> Error {
        let (code, why) = classify(&err);
        self.failure(code, action, why).with_source(err)
    }

    /// An error with `code` that says `action` failed on this etcd, and `why`:
    /// `etcd at <endpoints>: <action>: <why>`.
    pub(crate) fn failure(&self, code: Code, action: &str, why: impl fmt::Display) -> Error {
        Error::new(code, format!("etcd at {}: {action}: {why}", self.inner.at))
    }

    /// The connection, made (and authenticated) if this request, `action`, is the first.
    async fn connection(&self, action: &str) -> Result<etcd_client::Client, Error> {
        let mut etcd = self.inner.etcd.lock().await;
        if let Some(etcd) = &*etcd {
            return Ok(etcd.clone());
        }
        let config = &self.inner.config;
        config
            .check_schemes()
            .map_err(|why| self.failure(Code::InvalidArgument, action, why))?;
        let connected =
            etcd_client::Client::connect(&config.endpoints, Some(config.connect_options())).await;
        let connected = match connected {
            Ok(connected) => connected,
            Err(err) => return Err(self.explained(action, err).await),
        };
        *etcd = Some(connected.clone());
        Ok(connected)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
