//! etcd serving TLS only and requiring client certificates (`--client-cert-auth`): mutual
//! TLS that works, and each way of getting it wrong, said clearly.

use kit::Code;
use kit::sd::Registrar as _;
use kit_sd_etcd::{Client, Config, Tls};
use kit_testkit::etcd::{Certificates, Etcd};

use crate::support::{config_at, wait_for, wait_for_instances};

const PREFIX: &str = "/services/svc/http/";

/// Settings that trust `ca` and present `client`'s certificate, if any.
fn tls(ca: &str, client: Option<&Certificates>) -> Tls {
    let tls = Tls::new(ca).unwrap();
    match client {
        Some(client) => tls
            .client_certificate(client.client_cert.as_str(), client.client_key.as_str())
            .unwrap(),
        None => tls,
    }
}

/// A client of `etcd`'s TLS client port (`https://`) with `tls`.
fn tls_client(etcd: &Etcd, tls: Tls) -> Client {
    Client::new(config_at(etcd.client_url()).tls(tls))
}

/// The error of a first registration through `client`.
async fn register_error(client: &Client) -> kit::Error {
    let registrar = client.registrar(format!("{PREFIX}127.0.0.1:1"), "127.0.0.1:1");
    registrar.register().await.unwrap_err()
}

#[tokio::test]
async fn instancer_and_registrar_over_mutual_tls() {
    let mut etcd = Etcd::started_tls().await;
    let certificates = etcd.tls().unwrap().clone();
    let client = tls_client(&etcd, tls(&certificates.ca, Some(&certificates)));
    let registrar = client.registrar(format!("{PREFIX}127.0.0.1:1"), "127.0.0.1:1");
    registrar.register().await.unwrap();
    let instancer = client.instancer(PREFIX);
    wait_for_instances(&instancer, &["127.0.0.1:1"]).await;
    let value = etcd
        .etcdctl(["get", "--print-value-only", &format!("{PREFIX}127.0.0.1:1")])
        .await;
    assert_eq!(value, "127.0.0.1:1\n");

    // A restart: the connections are made again, over TLS, and the watch resumes.
    etcd.stop().await;
    etcd.start().await;
    let second = client.registrar(format!("{PREFIX}127.0.0.1:2"), "127.0.0.1:2");
    second.register().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:1", "127.0.0.1:2"]).await;
    registrar.deregister().await.unwrap();
    wait_for_instances(&instancer, &["127.0.0.1:2"]).await;

    // An endpoint without a scheme is https:// when TLS is configured.
    let bare =
        config_at(etcd.client_addr().to_string()).tls(tls(&certificates.ca, Some(&certificates)));
    let instancer = Client::new(bare).instancer(PREFIX);
    wait_for_instances(&instancer, &["127.0.0.1:2"]).await;
}

#[tokio::test]
async fn no_client_certificate_is_refused() {
    let etcd = Etcd::started_tls().await;
    let at = etcd.client_url();
    let client = tls_client(&etcd, tls(&etcd.tls().unwrap().ca, None));
    let err = register_error(&client).await;
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: granting a lease of 10s: etcd requires a client certificate and \
             refused the connection without one (TLS alert BadCertificate); give one with \
             Tls::client_certificate"
        )
    );

    let instancer = client.instancer(PREFIX);
    let event = wait_for(&instancer, "an error", |event| event.error().is_some()).await;
    let err = event.error().unwrap();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: reading {PREFIX}*: etcd requires a client certificate and refused \
             the connection without one (TLS alert BadCertificate); give one with \
             Tls::client_certificate"
        )
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let etcd = Etcd::started_tls().await;
    let at = etcd.client_url();
    let stranger = Certificates::generate();
    let client = tls_client(&etcd, tls(&etcd.tls().unwrap().ca, Some(&stranger)));
    let err = register_error(&client).await;
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: granting a lease of 10s: etcd refused the client certificate (TLS \
             alert BadCertificate): it takes those signed by a CA in its --trusted-ca-file"
        )
    );
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_not_trusted() {
    let etcd = Etcd::started_tls().await;
    let at = etcd.client_url();
    let certificates = etcd.tls().unwrap();
    let other_ca = Certificates::generate().ca;
    let client = tls_client(&etcd, tls(&other_ca, Some(certificates)));
    let err = register_error(&client).await;
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: granting a lease of 10s: etcd's certificate is not trusted: invalid \
             peer certificate: UnknownIssuer"
        )
    );
}

#[tokio::test]
async fn plain_http_to_a_tls_etcd() {
    let etcd = Etcd::started_tls().await;
    let at = etcd.client_addr();
    // What a client without TLS settings gets from an etcd that serves TLS only.
    let client = Client::new(Config::new([at.to_string()]));
    let err = register_error(&client).await;
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {at}: granting a lease of 10s: etcd closed a plain HTTP/2 connection at \
             its first bytes; if it serves TLS, give https:// endpoints and Config::tls"
        )
    );
}

#[tokio::test]
async fn schemes_that_contradict_the_tls_settings() {
    let etcd = Etcd::started_tls().await;
    let certificates = etcd.tls().unwrap();
    let http = format!("http://{}", etcd.client_addr());
    let client =
        Client::new(Config::new([http.as_str()]).tls(tls(&certificates.ca, Some(certificates))));
    let err = register_error(&client).await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {http}: granting a lease of 10s: {http} is plain HTTP but TLS is \
             configured: give https:// or no scheme"
        )
    );

    let https = etcd.client_url();
    let err = register_error(&Client::new(Config::new([https.as_str()]))).await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        format!(
            "etcd at {https}: granting a lease of 10s: {https} is HTTPS but TLS is not \
             configured (Config::tls)"
        )
    );
}

#[test]
fn pem_is_checked_up_front() {
    let err = Tls::new("/etc/etcd/ca.pem").unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "the CA certificate holds no PEM certificate; give the PEM text, not a file name"
    );

    let certificates = Certificates::generate();
    let err = Tls::new("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("the CA certificate is not valid PEM: "),
        "{}",
        err.message()
    );

    let tls = Tls::new(certificates.ca.as_str()).unwrap();
    let with_key = tls
        .clone()
        .client_certificate(
            certificates.client_cert.as_str(),
            certificates.client_key.as_str(),
        )
        .unwrap();
    // The key is never printed.
    assert_eq!(
        format!("{with_key:?}"),
        "Tls { roots: 1, client_certificate: true }"
    );
    let err = tls
        .clone()
        .client_certificate("client.pem", certificates.client_key.as_str())
        .unwrap_err();
    assert_eq!(
        err.message(),
        "the client certificate holds no PEM certificate; give the PEM text, not a file name"
    );
    let err = tls
        .client_certificate(certificates.client_cert.as_str(), "client-key.pem")
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "the client key holds no PEM private key (no items found); give the PEM text, not a \
         file name"
    );
}

/// A key that is not the certificate's is refused when the settings are made.
#[test]
fn a_key_that_is_not_the_certificates() {
    let certificates = Certificates::generate();
    let err = Tls::new(certificates.ca.as_str())
        .unwrap()
        .client_certificate(
            certificates.client_cert.as_str(),
            certificates.server_key.as_str(),
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "the client certificate is not usable: keys may not be consistent: KeyMismatch"
    );
}
