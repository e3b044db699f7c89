//! The shared session with a ZooKeeper ensemble, and how to reach it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kit::Error;
use zookeeper_client as zk;

use crate::error::from_zk;

/// How long a new session may take to establish, by default (Go kit's default too).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The session timeout asked of the server, by default (Go kit's default too). The server
/// grants it within its own bounds (by default 2 to 20 of its ticks: 4 s to 40 s).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(5);

/// Who may do what with the nodes this client creates (the instances' nodes and any parent
/// nodes it has to create).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Acl {
    /// Anyone may do anything (ZooKeeper's `OPEN_ACL_UNSAFE`, and Go kit's default): the
    /// default without credentials.
    Open,
    /// Only clients with the same digest credentials may read or change them (ZooKeeper's
    /// `CREATOR_ALL_ACL`): the default with credentials.
    CreatorOnly,
    /// The same credentials may change them; anyone may read them, so that clients without
    /// credentials (Go kit's, say) can still discover the instances.
    CreatorWritesAnyoneReads,
}

/// Digest credentials (ZooKeeper's `digest` scheme: a user name and a password).
#[derive(Clone)]
struct Credentials {
    user: String,
    password: String,
}

/// A ZooKeeper client shared by instancers and registrars: where the ensemble is, the
/// credentials and ACL to use, and one session (Go kit's `zk.Client`).
///
/// The session is made on first use, not by [`ClientBuilder::build`]: an instancer made while
/// the ensemble is down reports the error and keeps trying. When the session ends (the
/// server expired it, or the client gave up reaching any server within the session timeout),
/// the next user makes a new one; registrars then register again and instancers watch
/// again.
///
/// Cheap to clone: clones share the session.
///
/// ```
/// use std::time::Duration;
/// use kit_sd_zookeeper::{Acl, Client};
///
/// let client = Client::builder("127.0.0.1:2181,127.0.0.1:2182")
///     .session_timeout(Duration::from_secs(10))
///     .digest("addsvc", "secret")
///     .acl(Acl::CreatorWritesAnyoneReads)
///     .build()
///     .unwrap();
/// assert_eq!(client.servers(), "127.0.0.1:2181,127.0.0.1:2182");
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    servers: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    credentials: Option<Credentials>,
    acl: Acl,
    /// The current session, if one was made; replaced when it has ended.
    session: tokio::sync::Mutex<Option<zk::Client>>,
}

/// Builds a [`Client`]; see [`Client::builder`].
#[derive(Clone)]
pub struct ClientBuilder {
    servers: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    credentials: Option<Credentials>,
    acl: Option<Acl>,
}

impl Client {
    /// A builder for a client of the ensemble at `servers`, a ZooKeeper connect string:
    /// `host:port` pairs separated by commas.
    pub fn builder(servers: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            servers: servers.into(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            credentials: None,
            acl: None,
        }
    }

    /// The connect string.
    pub fn servers(&self) -> &str {
        &self.inner.servers
    }

    /// How long trying to reach the ensemble may take before an operation reports it
    /// unavailable.
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.inner.connect_timeout
    }

    /// The ACL for nodes this client creates, as the ZooKeeper client takes it.
    pub(crate) fn acls(&self) -> zk::Acls<'static> {
        /// Creator all, anyone read.
        static CREATOR_WRITES_ANYONE_READS: [zk::Acl; 2] = [
            zk::Acl::new_const(zk::Permission::ALL, "auth", ""),
            zk::Acl::new_const(zk::Permission::READ, "world", "anyone"),
        ];
        match self.inner.acl {
            Acl::Open => zk::Acls::anyone_all(),
            Acl::CreatorOnly => zk::Acls::creator_all(),
            Acl::CreatorWritesAnyoneReads => zk::Acls::new(&CREATOR_WRITES_ANYONE_READS),
        }
    }

    /// Who this client is, for error messages.
    pub(crate) fn identity(&self) -> String {
        match &self.inner.credentials {
            Some(credentials) => format!("digest user `{}`", credentials.user),
            None => "a client without credentials".to_owned(),
        }
    }

    /// `err`, met while doing `what`, as a kit error.
    pub(crate) fn error(&self, err: zk::Error, what: &str) -> Error {
        from_zk(err, what, &self.identity())
    }

    /// The current session, or a new one if there is none yet or it has ended.
    ///
    /// A session that is only disconnected is returned as it is: the ZooKeeper client
    /// reconnects it by itself (keeping its watches and ephemeral nodes) until the session
    /// timeout, and then reports it expired.
    pub(crate) async fn session(&self) -> Result<zk::Client, Error> {
        let mut current = self.inner.session.lock().await;
        if let Some(session) = current.as_ref().filter(|s| !s.state().is_terminated()) {
            return Ok(session.clone());
        }
        let session = self.connect().await?;
        tracing::debug!(servers = %self.inner.servers, session = %session.session_id(), "zookeeper: new session");
        *current = Some(session.clone());
        Ok(session)
    }

    /// The current session if it has not ended (it may be disconnected), without making one.
    pub(crate) async fn live_session(&self) -> Option<zk::Client> {
        let current = self.inner.session.lock().await;
        current
            .as_ref()
            .filter(|session| !session.state().is_terminated())
            .cloned()
    }

    async fn connect(&self) -> Result<zk::Client, Error> {
        let inner = &self.inner;
        let mut connector = zk::Client::connector()
            .with_session_timeout(inner.session_timeout)
            // Report unreachable servers at once; callers retry with their own backoff.
            .with_fail_eagerly();
        if let Some(credentials) = &inner.credentials {
            let auth = format!("{}:{}", credentials.user, credentials.password);
            connector = connector.with_auth("digest", auth.as_bytes());
        }
        let what = format!("connect to {}", inner.servers);
        match tokio::time::timeout(inner.connect_timeout, connector.connect(&inner.servers)).await {
            Ok(Ok(session)) => Ok(session),
            Ok(Err(zk::Error::NoHosts)) => Err(Error::unavailable(format!(
                "zookeeper: cannot {what}: no server answered"
            ))
            .with_source(zk::Error::NoHosts)),
            Ok(Err(err)) => Err(self.error(err, &what)),
            Err(_) => Err(Error::unavailable(format!(
                "zookeeper: cannot {what}: no session within {:?}",
                inner.connect_timeout
            ))),
        }
    }
}

impl ClientBuilder {
    /// The session timeout to ask of the server (default [`DEFAULT_SESSION_TIMEOUT`]): how
    /// long the server keeps this client's session, and so its registrations, after it stops
    /// hearing from it.
    pub fn session_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.session_timeout = timeout;
        self
    }

    /// How long making a session may take, and how long a registration or deregistration
    /// keeps trying to reach the ensemble (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// Authenticates every session with ZooKeeper's `digest` scheme, as `user` with
    /// `password`. The ACL then defaults to [`Acl::CreatorOnly`].
    ///
    /// ZooKeeper never refuses digest credentials themselves: wrong ones are a different
    /// identity, which the nodes' ACLs then refuse (`PermissionDenied`).
    pub fn digest(mut self, user: impl Into<String>, password: impl Into<String>) -> ClientBuilder {
        self.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// The ACL of the nodes the client creates (default [`Acl::Open`] without credentials,
    /// [`Acl::CreatorOnly`] with them).
    pub fn acl(mut self, acl: Acl) -> ClientBuilder {
        self.acl = Some(acl);
        self
    }

    /// The client. It connects on first use.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for an empty connect string, a zero timeout, a user name with a `:`,
    /// or an ACL that names the creator without credentials to name it by.
    pub fn build(self) -> Result<Client, Error> {
        if self.servers.trim().is_empty() {
            return Err(Error::invalid_argument(
                "zookeeper: no servers given (a connect string is host:port,host:port,...)",
            ));
        }
        if self.session_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::invalid_argument(
                "zookeeper: the session and connect timeouts must not be zero",
            ));
        }
        if let Some(credentials) = &self.credentials
            && credentials.user.contains(':')
        {
            return Err(Error::invalid_argument(format!(
                "zookeeper: a digest user name cannot contain `:` (got `{}`)",
                credentials.user
            )));
        }
        let acl = match (self.acl, &self.credentials) {
            (Some(Acl::CreatorOnly | Acl::CreatorWritesAnyoneReads), None) => {
                return Err(Error::invalid_argument(
                    "zookeeper: an ACL for the creator needs digest credentials (ClientBuilder::digest)",
                ));
            }
            (Some(acl), _) => acl,
            (None, Some(_)) => Acl::CreatorOnly,
            (None, None) => Acl::Open,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                servers: self.servers,
                session_timeout: self.session_timeout,
                connect_timeout: self.connect_timeout,
                credentials: self.credentials,
                acl,
                session: tokio::sync::Mutex::new(None),
            }),
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("servers", &self.inner.servers)
            .field("identity", &self.identity())
            .field("acl", &self.inner.acl)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("servers", &self.servers)
            .field("session_timeout", &self.session_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user", &self.credentials.as_ref().map(|c| &c.user))
            .field("acl", &self.acl)
            .finish_non_exhaustive()
    }
}
