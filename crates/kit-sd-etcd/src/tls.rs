//! TLS to etcd: the CA to trust, and the client certificate for mutual TLS.

use std::fmt;
use std::sync::Arc;

use kit::Error;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How to speak TLS to etcd (its `--cert-file`/`--key-file`): the CA whose certificates to
/// trust, and the client certificate to present where etcd requires one
/// (`--client-cert-auth`). Given to [`Config::tls`](crate::Config::tls).
///
/// The PEM text is checked when the settings are made, so a file name passed where its
/// contents belong, or a file that holds no certificate, is an error then rather than a
/// failed handshake later.
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
///
/// etcd's certificate is verified against the endpoint's host (a name or an IP address),
/// with the CA given here as the only root: the system's roots are not used.
#[derive(Clone)]
pub struct Tls {
    ca: Vec<u8>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

impl Tls {
    /// Trusts the CA certificates in `ca_pem` (PEM text: one or more `CERTIFICATE` blocks)
    /// to sign etcd's certificate.
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](kit::Code::InvalidArgument) when `ca_pem` is not PEM or holds no
    /// certificate.
    pub fn new(ca_pem: impl Into<Vec<u8>>) -> Result<Tls, Error> {
        let ca = ca_pem.into();
        certificates("the CA certificate", &ca)?;
        Ok(Tls { ca, client: None })
    }

    /// Presents the certificate in `cert_pem` (PEM: the certificate, then any intermediate
    /// certificates) with its private key `key_pem` (PEM: PKCS#8, PKCS#1 or SEC1) to etcd,
    /// for an etcd that requires client certificates (`--client-cert-auth`).
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](kit::Code::InvalidArgument) when `cert_pem` holds no certificate
    /// or `key_pem` no private key. (That the key is the certificate's is checked at the
    /// first connection.)
    pub fn client_certificate(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Result<Tls, Error> {
        let (cert, key) = (cert_pem.into(), key_pem.into());
        certificates("the client certificate", &cert)?;
        PrivateKeyDer::from_pem_slice(&key).map_err(|err| {
            Error::invalid_argument(format!(
                "the client key holds no PEM private key ({err}); give the PEM text, not a file name"
            ))
        })?;
        self.client = Some((cert, key));
        Ok(self)
    }

    /// etcd-client's settings for these.
    pub(crate) fn options(&self) -> etcd_client::TlsOptions {
        let options = etcd_client::TlsOptions::new()
            .ca_certificate(etcd_client::Certificate::from_pem(&self.ca));
        match &self.client {
            Some((cert, key)) => options.identity(etcd_client::Identity::from_pem(cert, key)),
            None => options,
        }
    }

    /// Whether a client certificate is given.
    pub(crate) fn has_client_certificate(&self) -> bool {
        self.client.is_some()
    }

    /// The rustls settings etcd-client makes of these (tonic's, on ring unless the process
    /// chose a crypto provider), for a connection of our own (see `probe`).
    pub(crate) fn client_config(&self) -> Option<rustls::ClientConfig> {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&self.ca).flatten());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(roots);
        let mut config = match &self.client {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert).flatten().collect();
                let key = PrivateKeyDer::from_pem_slice(key).ok()?;
                builder.with_client_auth_cert(chain, key).ok()?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Some(config)
    }
}

/// Checks that `pem` holds at least one certificate; `what` names it in the error.
fn certificates(what: &str, pem: &[u8]) -> Result<(), Error> {
    let found = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::invalid_argument(format!("{what} is not valid PEM: {err}")))?;
    if found.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{what} holds no PEM certificate; give the PEM text, not a file name"
        )));
    }
    Ok(())
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Certificates are long and say little in a log; the key must never be printed.
        f.debug_struct("Tls")
            .field("client_certificate", &self.client.is_some())
            .finish_non_exhaustive()
    }
}
