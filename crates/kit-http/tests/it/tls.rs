//! The client over HTTPS: a kit-http server behind kit-testkit's TLS front.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Version, response};
use kit::error::Delivery;
use kit::{Code, Context, Endpoint, Error};
use kit_http::client::Tls;
use kit_http::{Client, Pool, json};
use kit_testkit::tls::{Certificates, FrontOptions, TlsFront};

use crate::support::{SumReply, SumRequest, spawn, sum_router};

/// A `POST /sum` client to `base` over `pool` that answers the reply with the response's
/// HTTP version.
fn sum_at(
    base: &str,
    pool: &Pool,
) -> impl Endpoint<SumRequest, Response = (SumReply, Version)> + use<> {
    let decode = |head: response::Parts, body: Bytes| -> Result<_, Error> {
        let version = head.version;
        Ok((json::decode_response::<SumReply>(head, body)?, version))
    };
    Client::new(
        Method::POST,
        format!("{base}/sum").parse().unwrap(),
        json::encode_request,
        decode,
    )
    .pool(pool.clone())
}

async fn front(upstream: SocketAddr, certificates: &Certificates, alpn: &[&[u8]]) -> TlsFront {
    let options = FrontOptions {
        alpn: alpn.iter().map(|protocol| protocol.to_vec()).collect(),
        ..FrontOptions::default()
    };
    TlsFront::start(upstream, certificates, options).await
}

#[tokio::test]
async fn https_with_the_servers_ca_and_plain_http_on_the_same_pool() {
    let server = spawn(sum_router()).await;
    let certificates = Certificates::generate();
    let http1 = front(server, &certificates, &[]).await;
    let h2 = front(server, &certificates, &[b"h2"]).await;
    let pool = Pool::with_tls(&Tls::new(&certificates.ca).unwrap());
    let one_plus_two = || SumRequest { a: 1, b: 2 };

    let https = sum_at(&format!("https://{}", http1.addr()), &pool);
    for _ in 0..2 {
        let reply = https.call(Context::background(), one_plus_two()).await;
        assert_eq!(reply.unwrap(), (SumReply { v: 3 }, Version::HTTP_11));
    }
    // A server that picks HTTP/2 by ALPN gets HTTP/2.
    let https = sum_at(&format!("https://{}", h2.addr()), &pool);
    let reply = https.call(Context::background(), one_plus_two()).await;
    assert_eq!(reply.unwrap(), (SumReply { v: 3 }, Version::HTTP_2));
    // Plain HTTP to the server itself, over the same pool.
    let plain = sum_at(&format!("http://{server}"), &pool);
    let reply = plain.call(Context::background(), one_plus_two()).await;
    assert_eq!(reply.unwrap(), (SumReply { v: 3 }, Version::HTTP_11));
}

#[tokio::test]
async fn https_with_another_ca_fails_before_sending() {
    let server = spawn(sum_router()).await;
    let front = front(server, &Certificates::generate(), &[]).await;
    let pool = Pool::with_tls(&Tls::new(Certificates::generate().ca).unwrap());
    let err = sum_at(&format!("https://{}", front.addr()), &pool)
        .call(Context::background(), SumRequest { a: 1, b: 2 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message(), err.delivery()),
        (
            Code::Unavailable,
            format!(
                "POST https://{}/sum: TLS handshake with 127.0.0.1 failed: invalid peer certificate: UnknownIssuer",
                front.addr()
            )
            .as_str(),
            Delivery::NotSent
        )
    );
}

#[tokio::test]
async fn https_on_a_pool_without_tls_settings_is_refused() {
    let server = spawn(sum_router()).await;
    let front = front(server, &Certificates::generate(), &[]).await;
    let err = sum_at(&format!("https://{}", front.addr()), &Pool::new())
        .call(Context::background(), SumRequest { a: 1, b: 2 })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::InvalidArgument,
            format!(
                "POST https://{}/sum: HTTPS, but this pool has no TLS settings (make it with Pool::with_tls)",
                front.addr()
            )
            .as_str()
        )
    );
}

#[test]
fn settings_refuse_what_is_not_pem() {
    let err = Tls::new("/etc/ssl/ca.pem").unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::InvalidArgument,
            "the CA certificate holds no PEM certificate; give the PEM text, not a file name"
        )
    );
    let certificates = Certificates::generate();
    let err = Tls::new(&certificates.ca)
        .unwrap()
        .client_certificate(&certificates.client_cert, "client-key.pem")
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("the client key holds no PEM private key"),
        "{}",
        err.message()
    );
    // The settings never print a key.
    let tls = Tls::new(&certificates.ca)
        .unwrap()
        .client_certificate(&certificates.client_cert, &certificates.client_key)
        .unwrap();
    assert_eq!(
        format!("{tls:?}"),
        "Tls { roots: 1, client_certificate: true }"
    );
}
