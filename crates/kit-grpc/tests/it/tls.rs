//! gRPC over TLS: the test server behind kit-testkit's TLS front (offering `h2` by ALPN),
//! called over [`lazy_channel_tls`] channels.

use kit::error::Delivery;
use kit::{Code, Context, Endpoint};
use kit_grpc::client::{Tls, lazy_channel_tls, lazy_channel_tls_with_server};
use kit_testkit::tls::{Certificates, FrontOptions, TlsFront};

use crate::support::{TestServer, sum_client};

/// A TLS front with `certificates` for `server`, requiring client certificates if
/// `require_client_certificate`.
async fn front(
    server: &TestServer,
    certificates: &Certificates,
    require_client_certificate: bool,
) -> TlsFront {
    let options = FrontOptions {
        require_client_certificate,
        alpn: vec![b"h2".to_vec()],
    };
    TlsFront::start(server.addr, certificates, options).await
}

#[tokio::test]
async fn a_call_over_tls_with_the_servers_ca() {
    let server = TestServer::start().await;
    let certificates = Certificates::generate();
    let front = front(&server, &certificates, false).await;
    let tls = Tls::new(&certificates.ca).unwrap();

    let (channel, address) =
        lazy_channel_tls_with_server(&format!("https://{}", front.addr()), &tls).unwrap();
    assert_eq!(address, ("127.0.0.1".to_owned(), front.addr().port()));
    let sum = sum_client(channel);
    assert_eq!(sum.call(Context::background(), (1, 2)).await.unwrap(), 3);
    // Without a scheme, the address is `https://` too.
    let sum = sum_client(lazy_channel_tls(&front.addr().to_string(), &tls).unwrap());
    assert_eq!(sum.call(Context::background(), (2, 3)).await.unwrap(), 5);
}

#[tokio::test]
async fn a_ca_of_another_authority_fails_before_sending() {
    let server = TestServer::start().await;
    let front = front(&server, &Certificates::generate(), false).await;
    let tls = Tls::new(Certificates::generate().ca).unwrap();
    let sum = sum_client(lazy_channel_tls(&front.addr().to_string(), &tls).unwrap());
    let err = sum.call(Context::background(), (1, 2)).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message(), err.delivery()),
        (
            Code::Unavailable,
            "TLS handshake failed: invalid peer certificate: UnknownIssuer",
            Delivery::NotSent
        )
    );
}

#[tokio::test]
async fn a_server_requiring_a_client_certificate() {
    let server = TestServer::start().await;
    let certificates = Certificates::generate();
    let front = front(&server, &certificates, true).await;
    let address = front.addr().to_string();

    let without = Tls::new(&certificates.ca).unwrap();
    let sum = sum_client(lazy_channel_tls(&address, &without).unwrap());
    let err = sum.call(Context::background(), (1, 2)).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message(), err.delivery()),
        (
            Code::Unavailable,
            "the server requires a client certificate and refused the connection without \
             one (TLS alert CertificateRequired); give one with Tls::client_certificate",
            Delivery::NotSent
        )
    );

    // A certificate of another authority is refused too.
    let others = Certificates::generate();
    let unknown = Tls::new(&certificates.ca)
        .unwrap()
        .client_certificate(&others.client_cert, &others.client_key)
        .unwrap();
    let sum = sum_client(lazy_channel_tls(&address, &unknown).unwrap());
    let err = sum.call(Context::background(), (1, 2)).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message(), err.delivery()),
        (
            Code::Unavailable,
            "the server refused the client certificate (TLS alert UnknownCA): is it signed by \
             a CA the server trusts?",
            Delivery::NotSent
        )
    );

    let with = without
        .client_certificate(&certificates.client_cert, &certificates.client_key)
        .unwrap();
    let sum = sum_client(lazy_channel_tls(&address, &with).unwrap());
    assert_eq!(sum.call(Context::background(), (1, 2)).await.unwrap(), 3);
}

/// gRPC needs HTTP/2: tonic refuses a server that picks no protocol by ALPN (its words).
#[tokio::test]
async fn a_server_that_does_not_pick_http2_is_refused() {
    let server = TestServer::start().await;
    let certificates = Certificates::generate();
    let front = TlsFront::start(server.addr, &certificates, FrontOptions::default()).await;
    let tls = Tls::new(&certificates.ca).unwrap();
    let sum = sum_client(lazy_channel_tls(&front.addr().to_string(), &tls).unwrap());
    let err = sum.call(Context::background(), (1, 2)).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message(), err.delivery()),
        (
            Code::Unavailable,
            "HTTP/2 was not negotiated.",
            Delivery::NotSent
        )
    );
}
