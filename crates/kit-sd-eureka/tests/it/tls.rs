//! HTTPS to the server: the stand-in behind kit-testkit's TLS front.

use kit::Code;
use kit::sd::Registrar;
use kit_sd_eureka::{AppQuery, Client, Registration, Tls};
use kit_testkit::eureka::EurekaStandIn;
use kit_testkit::tls::{Certificates, FrontOptions, TlsFront};

use crate::wait_for_instances;

#[tokio::test]
async fn https_with_the_right_ca_and_another() {
    let eureka = EurekaStandIn::start().await;
    eureka.require_basic_auth("app", "pw");
    let certificates = Certificates::generate();
    let front = TlsFront::start(eureka.addr(), &certificates, FrontOptions::default()).await;
    let url = format!("https://app:pw@{}/eureka", front.addr());
    let registration = Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081);

    let right = Client::new(&url)
        .unwrap()
        .tls(&Tls::new(&certificates.ca).unwrap());
    right
        .registrar(registration.clone())
        .register()
        .await
        .unwrap();
    wait_for_instances(
        &right.instancer(AppQuery::new("addsvc")),
        &["127.0.0.1:8081"],
    )
    .await;

    let other = Client::new(&url)
        .unwrap()
        .tls(&Tls::new(Certificates::generate().ca).unwrap());
    let err = other.registrar(registration).register().await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::Unavailable,
            format!(
                "eureka at https://{}/eureka: POST /apps/ADDSVC: TLS handshake with 127.0.0.1 \
                 failed: invalid peer certificate: UnknownIssuer",
                front.addr()
            )
            .as_str()
        )
    );
}
