//! HTTPS for clients (the `tls` feature): the settings ([`Tls`]) and the connector that
//! opens TLS connections for a [`Pool`](super::Pool).

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use kit::Error;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How a client speaks TLS to `https://` servers: the CA certificates to trust, and the
/// client certificate to present to a server that requires one (mutual TLS). Given to
/// [`Pool::with_tls`](super::Pool::with_tls).
///
/// The server's certificate is verified against the URL's host (a DNS name or an IP
/// address), which is also sent as the server name (SNI), with the CAs given here as the
/// only roots: the system's roots are not read. Connections offer HTTP/2 and HTTP/1.1 by
/// ALPN and use what the server picks (HTTP/1.1 when it picks none).
///
/// The PEM text is checked when the settings are made, so a file name given where its
/// contents belong is an error then rather than a failed handshake later; so is a
/// private key that is not the client certificate's.
///
/// Clients built on other TLS stacks take the same settings: [`Tls::ca_pem`] and
/// [`Tls::client_pem`] give back the PEM text, and [`Tls::rustls_config`] a rustls
/// config with the ALPN protocols a client speaks (kit-sd-etcd's `Config::tls` does both).
///
/// ```
/// use kit_http::client::{Pool, Tls};
///
/// # fn demo() -> Result<(), kit::Error> {
/// let tls = Tls::from_ca_file("/etc/consul/ca.pem")?
///     .client_certificate_files("/etc/consul/client.pem", "/etc/consul/client-key.pem")?;
/// let pool = Pool::with_tls(&tls);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Tls {
    ca_pem: Arc<[u8]>,
    /// The client certificate chain and its key, as PEM.
    client_pem: Option<Arc<(Vec<u8>, Vec<u8>)>>,
    roots: Arc<rustls::RootCertStore>,
    /// The config made of these, without ALPN protocols (each client names its own).
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// Trusts the CA certificates in `ca_pem` (PEM text: one or more `CERTIFICATE`
    /// blocks) to sign servers' certificates.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when `ca_pem` is not PEM or holds no certificate.
    pub fn new(ca_pem: impl AsRef<[u8]>) -> Result<Tls, Error> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in certificates("the CA certificate", ca_pem.as_ref())? {
            roots.add(ca).map_err(|err| {
                Error::invalid_argument(format!("the CA certificate is not usable: {err}"))
            })?;
        }
        let roots = Arc::new(roots);
        let config = builder(&roots)?.with_no_client_auth();
        Ok(Tls {
            ca_pem: ca_pem.as_ref().into(),
            client_pem: None,
            roots,
            config: Arc::new(config),
        })
    }

    /// [`Tls::new`] with the PEM file at `path`.
    ///
    /// # Errors
    ///
    /// As [`Tls::new`], and `InvalidArgument` when the file cannot be read.
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<Tls, Error> {
        Tls::new(read("the CA file", path.as_ref())?)
    }

    /// Presents the certificate in `cert_pem` (PEM: the certificate, then any
    /// intermediates) with its private key `key_pem` (PEM: PKCS#8, PKCS#1 or SEC1) to
    /// servers that ask for one.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when `cert_pem` holds no certificate, `key_pem` no private key,
    /// or the key is not usable with the certificate.
    pub fn client_certificate(
        mut self,
        cert_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<Tls, Error> {
        let (cert_pem, key_pem) = (cert_pem.as_ref(), key_pem.as_ref());
        let chain = certificates("the client certificate", cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|err| {
            Error::invalid_argument(format!(
                "the client key holds no PEM private key ({err}); give the PEM text, not a file name"
            ))
        })?;
        let config = builder(&self.roots)?
            .with_client_auth_cert(chain, key)
            .map_err(|err| {
                Error::invalid_argument(format!("the client certificate is not usable: {err}"))
            })?;
        self.client_pem = Some(Arc::new((cert_pem.to_vec(), key_pem.to_vec())));
        self.config = Arc::new(config);
        Ok(self)
    }

    /// [`Tls::client_certificate`] with the PEM files at `cert_path` and `key_path`.
    ///
    /// # Errors
    ///
    /// As [`Tls::client_certificate`], and `InvalidArgument` when a file cannot be read.
    pub fn client_certificate_files(
        self,
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Tls, Error> {
        let cert = read("the client certificate file", cert_path.as_ref())?;
        let key = read("the client key file", key_path.as_ref())?;
        self.client_certificate(cert, key)
    }
}

impl Tls {
    /// Whether a client certificate is given ([`Tls::client_certificate`]).
    pub fn has_client_certificate(&self) -> bool {
        self.client_pem.is_some()
    }

    /// The CA certificates to trust, as the PEM text given to [`Tls::new`].
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// The client certificate (chain) and its private key, as the PEM text given to
    /// [`Tls::client_certificate`]; `None` without one. For handing the settings to
    /// another TLS stack: the key is secret, so keep it out of logs.
    pub fn client_pem(&self) -> Option<(&[u8], &[u8])> {
        self.client_pem
            .as_deref()
            .map(|(cert, key)| (cert.as_slice(), key.as_slice()))
    }

    /// The rustls client config made of these settings (on the process's default crypto
    /// provider, else ring), offering the protocols `alpn` in order by ALPN (none when
    /// empty). HTTPS pools offer `h2` and `http/1.1`; a gRPC client would offer `h2`.
    pub fn rustls_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut config = (*self.config).clone();
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Arc::new(config)
    }
}

/// What a server's refusal of the handshake in `err` means, said in terms of the client
/// certificate, when it is one: a certificate alert. With TLS 1.3 a client learns of it
/// only when it reads, after its request was written; the server never read the request.
/// Why the server refused the connection, if the TLS alert named `alert` (rustls's name of
/// it, such as `CertificateRequired`) is a refusal of the client's certificate, worded for
/// a client that gave one (`client_certificate`) or not; `None` for other alerts. kit's
/// HTTP and gRPC clients word these refusals the same way.
pub fn certificate_alert(alert: &str, client_certificate: bool) -> Option<String> {
    let certificate = matches!(
        alert,
        "CertificateRequired"
            | "BadCertificate"
            | "UnknownCA"
            | "CertificateUnknown"
            | "UnsupportedCertificate"
            | "CertificateExpired"
            | "CertificateRevoked"
            | "AccessDenied"
    );
    certificate.then(|| {
        if client_certificate {
            format!(
                "the server refused the client certificate (TLS alert {alert}): is it signed by \
                 a CA the server trusts?"
            )
        } else {
            format!(
                "the server requires a client certificate and refused the connection without \
                 one (TLS alert {alert}); give one with Tls::client_certificate"
            )
        }
    })
}

pub(super) fn refusal(
    err: &(dyn std::error::Error + 'static),
    client_certificate: bool,
) -> Option<String> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        let alert = current
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::AlertReceived(alert)) = alert {
            return certificate_alert(&format!("{alert:?}"), client_certificate);
        }
        cause = current.source();
    }
    None
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Certificates say little in a log; the key must never be printed.
        f.debug_struct("Tls")
            .field("roots", &self.roots.len())
            .field("client_certificate", &self.has_client_certificate())
            .finish()
    }
}

/// A config builder trusting `roots`, on the process's default crypto provider if one was
/// installed, else ring (the only one kit builds, so rustls never has to choose).
fn builder(
    roots: &Arc<rustls::RootCertStore>,
) -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>, Error> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::internal(format!("TLS: {err}")))?;
    Ok(builder.with_root_certificates(roots.clone()))
}

/// The certificates in `pem`, at least one; `what` names it in the error.
fn certificates(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let found = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::invalid_argument(format!("{what} is not valid PEM: {err}")))?;
    if found.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{what} holds no PEM certificate; give the PEM text, not a file name"
        )));
    }
    Ok(found)
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|err| {
        Error::invalid_argument(format!("{what} {} cannot be read: {err}", path.display()))
    })
}

/// Opens TCP connections with hyper-util's connector, then TLS on them.
#[derive(Clone)]
pub(super) struct HttpsConnector {
    tcp: HttpConnector,
    tls: TlsConnector,
}

impl HttpsConnector {
    pub(super) fn new(mut tcp: HttpConnector, tls: &Tls) -> HttpsConnector {
        // hyper-util's connector refuses `https` URIs unless told the scheme is ours.
        tcp.enforce_http(false);
        HttpsConnector {
            tcp,
            tls: TlsConnector::from(tls.rustls_config(&[b"h2", b"http/1.1"])),
        }
    }
}

impl tower_service::Service<Uri> for HttpsConnector {
    type Response = TokioIo<HttpsStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<HttpsStream>>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp.poll_ready(cx).map_err(io::Error::other)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connect = self.tcp.call(uri.clone());
        let tls = self.tls.clone();
        Box::pin(async move {
            let tcp = connect.await.map_err(io::Error::other)?.into_inner();
            // `[::1]` in a URI is `::1` as a server name.
            let host = uri.host().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let name = ServerName::try_from(host.to_owned()).map_err(|err| {
                io::Error::other(format!("TLS: {host:?} is not a server name: {err}"))
            })?;
            let stream = tls.connect(name, tcp).await.map_err(|err| {
                io::Error::other(format!("TLS handshake with {host} failed: {err}"))
            })?;
            Ok(TokioIo::new(HttpsStream(stream)))
        })
    }
}

/// A TLS connection to a server.
pub(super) struct HttpsStream(TlsStream<TcpStream>);

impl Connection for HttpsStream {
    fn connected(&self) -> Connected {
        let (tcp, session) = self.0.get_ref();
        let connected = tcp.connected();
        if session.alpn_protocol() == Some(b"h2") {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl AsyncRead for HttpsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for HttpsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
