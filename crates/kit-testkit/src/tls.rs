//! TLS for tests: certificates from a CA of the test's own ([`Certificates`]), and a TLS
//! front ([`TlsFront`]) that serves any plain TCP server over TLS.
//!
//! A front terminates TLS on a loopback port of its own and forwards the decrypted bytes
//! to its upstream, so the in-process stand-ins ([`consul`](crate::consul),
//! [`eureka`](crate::eureka)) and any plain HTTP server of a test are reached over HTTPS
//! without a TLS mode of their own. Its certificate is [`Certificates::server_cert`]
//! (for `127.0.0.1` and `localhost`); with [`FrontOptions::require_client_certificate`] it
//! refuses clients without a certificate signed by the same CA, as a server with mutual
//! TLS does (Consul's `verify_incoming`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use kit_testkit::tls::{Certificates, FrontOptions, TlsFront};
//!
//! let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let certificates = Certificates::generate();
//! let front = TlsFront::start(upstream.local_addr().unwrap(), &certificates, FrontOptions::default()).await;
//! assert_ne!(front.addr(), upstream.local_addr().unwrap());
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::free_addr;

/// A CA of the test's own, and a server and a client certificate it signed, in PEM: what a
/// TLS server (a TLS etcd, [`crate::etcd::Etcd::new_tls`], or a [`TlsFront`]) and its clients
/// need. Each call of [`generate`](Certificates::generate)
/// makes a new CA, so two of them do not trust each other's certificates.
#[derive(Clone)]
pub struct Certificates {
    /// The CA's certificate, the one to trust.
    pub ca: String,
    /// The server's certificate, for `127.0.0.1` and `localhost`.
    pub server_cert: String,
    /// The server certificate's private key.
    pub server_key: String,
    /// A client certificate (common name `kit-client`), for mutual TLS.
    pub client_cert: String,
    /// The client certificate's private key.
    pub client_key: String,
}

impl Certificates {
    /// A new CA (ECDSA P-256, valid far into the future), and a server and a client
    /// certificate signed by it.
    ///
    /// # Panics
    ///
    /// If a key or certificate cannot be made (it does not happen with these parameters).
    pub fn generate() -> Certificates {
        // A name of its own, as distinct CAs have: a certificate of another is then from an
        // unknown issuer, not one whose signature fails.
        static CAS: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "kit test CA {}-{}",
            std::process::id(),
            CAS.fetch_add(1, Ordering::Relaxed)
        );
        let mut ca = CertificateParams::default();
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, key_pair()).expect("a self-signed CA");

        let leaf = |name: &str, sans: &[&str], usages: Vec<ExtendedKeyUsagePurpose>| {
            let sans = sans.iter().map(|san| (*san).to_owned()).collect::<Vec<_>>();
            let mut params = CertificateParams::new(sans).expect("valid names");
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = usages;
            let key = key_pair();
            let cert = params
                .signed_by(&key, &ca)
                .expect("a certificate signed by the CA");
            (cert.pem(), key.serialize_pem())
        };
        // The server's certificate serves as a client certificate too: etcd 3.4's gRPC
        // gateway connects to etcd's own client port with it.
        let (server_cert, server_key) = leaf(
            "kit-server",
            &["127.0.0.1", "localhost"],
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        );
        let (client_cert, client_key) =
            leaf("kit-client", &[], vec![ExtendedKeyUsagePurpose::ClientAuth]);
        Certificates {
            ca: ca.pem(),
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The PEM blocks say nothing useful in a test's failure output.
        f.debug_struct("Certificates").finish_non_exhaustive()
    }
}

fn key_pair() -> KeyPair {
    KeyPair::generate().expect("an ECDSA P-256 key")
}

/// How a [`TlsFront`] serves TLS.
#[derive(Debug, Clone, Default)]
pub struct FrontOptions {
    /// Refuse clients that present no certificate signed by the CA (mutual TLS).
    pub require_client_certificate: bool,
    /// The protocols offered by ALPN, in order (none by default: the client falls back to
    /// HTTP/1.1). Give `h2` only in front of a server that speaks HTTP/2.
    pub alpn: Vec<Vec<u8>>,
}

/// A TLS front for a plain TCP server; see the [module docs](self). Stopped when dropped,
/// with every connection it forwards.
#[derive(Debug)]
pub struct TlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Serves TLS with `certificates`' server certificate on a free loopback port, and
    /// forwards each connection, once its handshake is done, to `upstream`.
    ///
    /// # Panics
    ///
    /// If it cannot listen, or outside a tokio runtime.
    pub async fn start(
        upstream: SocketAddr,
        certificates: &Certificates,
        options: FrontOptions,
    ) -> TlsFront {
        TlsFront::start_on(free_addr(), upstream, certificates, options).await
    }

    /// [`TlsFront::start`] on `addr`: for a test that replaces a front with another (new
    /// certificates, say) where its clients already connect.
    ///
    /// # Panics
    ///
    /// If it cannot listen on `addr`, or outside a tokio runtime.
    pub async fn start_on(
        addr: SocketAddr,
        upstream: SocketAddr,
        certificates: &Certificates,
        options: FrontOptions,
    ) -> TlsFront {
        let acceptor = TlsAcceptor::from(Arc::new(server_config(certificates, &options)));
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|err| panic!("TLS front: cannot listen on {addr}: {err}"));
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops the set, which aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    // A failed handshake closes the connection: the client reads the alert.
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        TlsFront { addr, task }
    }

    /// The address it serves TLS on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits until the listener and every connection are closed, so that
    /// the address can be bound again.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn server_config(certificates: &Certificates, options: &FrontOptions) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let builder = if options.require_client_certificate {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(certificates.ca.as_bytes()) {
            roots.add(ca.expect("the CA's PEM")).expect("the CA");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("a client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let chain = CertificateDer::pem_slice_iter(certificates.server_cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the server certificate's PEM");
    let key = PrivateKeyDer::from_pem_slice(certificates.server_key.as_bytes())
        .expect("the server key's PEM");
    let mut config = builder
        .with_single_cert(chain, key)
        .expect("the server certificate and its key");
    config.alpn_protocols.clone_from(&options.alpn);
    config
}
