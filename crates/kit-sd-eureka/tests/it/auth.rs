//! HTTP basic auth, required by the stand-in as Spring Security does (`401`).

use std::time::Duration;

use kit::Code;
use kit::sd::Registrar;
use kit_sd_eureka::{AppQuery, Client, Registration};
use kit_testkit::eureka::EurekaStandIn;

use crate::{wait_for_error, wait_for_instances};

const PASSWORD: &str = "s3cr@t";

#[tokio::test]
async fn credentials_from_the_url_and_their_refusal() {
    let eureka = EurekaStandIn::start().await;
    eureka.require_basic_auth("app", PASSWORD);
    let addr = eureka.addr();
    let registration = Registration::new("addsvc", "addsvc-1", "127.0.0.1", 8081);
    let query = || AppQuery::new("addsvc").interval(Duration::from_millis(50));

    let right = Client::new(&format!("http://app:s3cr%40t@{addr}/eureka")).unwrap();
    right
        .registrar(registration.clone())
        .register()
        .await
        .unwrap();
    wait_for_instances(&right.instancer(query()), &["127.0.0.1:8081"]).await;

    let wrong = Client::new(&format!("http://app:wrong@{addr}/eureka")).unwrap();
    let err = wrong
        .registrar(registration.clone())
        .register()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::Unauthenticated,
            format!(
                "eureka at http://{addr}/eureka: POST /apps/ADDSVC: 401 Unauthorized (the server \
                 refused the user and password)"
            )
            .as_str()
        )
    );
    let event = wait_for_error(&wrong.instancer(query())).await;
    let read = event.error().unwrap();
    assert_eq!(
        (read.code(), read.message()),
        (
            Code::Unauthenticated,
            format!(
                "eureka at http://{addr}/eureka: GET /apps/ADDSVC: 401 Unauthorized (the server \
                 refused the user and password)"
            )
            .as_str()
        )
    );

    let none = Client::new(&eureka.url()).unwrap();
    let err = none
        .registrar(registration.clone())
        .register()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        format!(
            "eureka at http://{addr}/eureka: POST /apps/ADDSVC: 401 Unauthorized (the server asks \
             for credentials: give them in the URL or with Client::basic_auth)"
        )
    );
    // The builder option does what the URL does.
    none.basic_auth("app", PASSWORD)
        .registrar(registration)
        .register()
        .await
        .unwrap();

    // The password is in no error or Debug text.
    let texts = [
        format!("{right:?}"),
        format!("{:?}", right.clone().basic_auth("app", PASSWORD)),
        format!("{err:?}"),
        format!("{read:?}"),
        format!(
            "{:?}",
            Client::new("http://app:s3cr%40t@h:1/%zz?").unwrap_err()
        ),
    ];
    for text in texts {
        assert!(!text.contains("s3cr"), "{text}");
    }
    assert_eq!(
        format!("{right:?}"),
        format!(
            "Client {{ url: Target(\"http://{addr}/eureka\"), user: Some(\"app\"), timeout: 10s }}"
        )
    );
}
