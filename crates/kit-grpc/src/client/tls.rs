//! Channels over TLS (the `tls` feature): kit-http's [`Tls`] settings given to tonic's
//! rustls connector.

use kit::Error;
use kit_http::client::{Target, Tls};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A channel to the gRPC server at `instance` (`https://host:port`, or `host:port`) over
/// TLS with `tls`: the [`lazy_channel`](super::lazy_channel) of TLS, which connects on its
/// first call and reconnects when needed. The server's certificate is verified against the
/// address's host (a DNS name or an IP address) with `tls`'s CAs as the only roots, and
/// the channel presents `tls`'s client certificate to a server that asks for one. An
/// `http://` address is refused. See [TLS](super#tls).
///
/// ```
/// use kit_grpc::client::{Tls, lazy_channel_tls};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kit::Error> {
/// # let ca = kit_testkit::tls::Certificates::generate().ca;
/// // `ca` is the PEM text of the CA that signed the server's certificate.
/// let channel = lazy_channel_tls("https://127.0.0.1:8443", &Tls::new(&ca)?)?;
/// # drop(channel);
/// let err = lazy_channel_tls("http://127.0.0.1:8082", &Tls::new(&ca)?).unwrap_err();
/// assert_eq!(
///     err.message(),
///     "invalid address \"http://127.0.0.1:8082\": lazy_channel_tls speaks TLS; \
///      call lazy_channel for plain HTTP/2"
/// );
/// # Ok(()) }
/// ```
pub fn lazy_channel_tls(instance: &str, tls: &Tls) -> Result<Channel, Error> {
    Ok(lazy_channel_tls_with_server(instance, tls)?.0)
}

/// A [`lazy_channel_tls`] to the gRPC server at `instance`, and the server's host and port
/// for the spans of calls over it ([`Client::server_address`](super::Client::server_address));
/// the port is 443 when `instance` names none.
pub fn lazy_channel_tls_with_server(
    instance: &str,
    tls: &Tls,
) -> Result<(Channel, (String, u16)), Error> {
    if instance.starts_with("http://") {
        return Err(Error::invalid_argument(format!(
            "invalid address {instance:?}: lazy_channel_tls speaks TLS; \
             call lazy_channel for plain HTTP/2"
        )));
    }
    let target = if instance.starts_with("https://") {
        Target::parse(instance)?
    } else {
        Target::parse(&format!("https://{instance}"))?
    };
    // Without a domain name, tonic verifies the certificate against the URL's host.
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(tls.ca_pem()));
    if let Some((cert, key)) = tls.client_pem() {
        config = config.identity(Identity::from_pem(cert, key));
    }
    let endpoint = super::endpoint(&target, instance)?
        .tls_config(config)
        .map_err(|e| Error::invalid_argument(format!("invalid address {instance:?}: {e}")))?;
    Ok((endpoint.connect_lazy(), target.host_port()))
}

/// Why a call failed in the TLS handshake, if it did, from the chain of errors behind
/// its `status`: this side's refusal of the server's certificate (rustls's error, when
/// connecting), or the server's refusal of the client's certificate (a certificate alert,
/// which under TLS 1.3 arrives only after this side's handshake is done, when HTTP/2 first
/// reads the connection). Either way the server never read the request.
pub(super) fn handshake_failure(status: &tonic::Status) -> Option<String> {
    let mut connecting = false;
    let mut cause = std::error::Error::source(status);
    while let Some(current) = cause {
        connecting |= current.is::<tonic::ConnectError>();
        if connecting && let Some(err) = current.downcast_ref::<rustls::Error>() {
            return Some(format!("TLS handshake failed: {err}"));
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if connecting
                && let Some(err) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>())
            {
                return Some(format!("TLS handshake failed: {err}"));
            }
            if let Some(why) = certificate_refusal(io) {
                return Some(why);
            }
        }
        cause = current.source();
    }
    None
}

/// The server's refusal of the client's certificate, if `io` is one: rustls's error for a
/// certificate alert. h2 hands the connection's error to each stream as a new I/O error
/// with the same kind and text, so the alert is read from rustls's wording of it
/// (`received fatal alert: <name>`). Under TLS 1.3 a server that got no certificate answers
/// `CertificateRequired`, and one that got a certificate it refuses answers another alert.
fn certificate_refusal(io: &std::io::Error) -> Option<String> {
    if io.kind() != std::io::ErrorKind::InvalidData {
        return None;
    }
    let text = io.to_string();
    let alert = text.strip_prefix("received fatal alert: ")?;
    kit_http::client::certificate_alert(alert, alert != "CertificateRequired")
}
