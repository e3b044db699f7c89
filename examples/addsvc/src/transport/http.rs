//! addsvc over HTTP/JSON: `POST /sum` and `POST /concat` (see the contract in the crate
//! docs).

use http::Method;
use kit::Error;
use kit_http::{Client, Pool, Router, Server, json};

use crate::endpoints::{ConcatResponse, Set, SumResponse};

/// The routes of the HTTP listener, for request bodies of type `B` (hyper's, under
/// [`kit_http::serve`]).
pub fn router<B>(set: &Set) -> Router<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<kit::BoxError>,
{
    Router::default()
        .route(
            Method::POST,
            "/sum",
            Server::new(
                set.sum.clone(),
                json::go::decode_request,
                json::encode_response,
            ),
        )
        .route(
            Method::POST,
            "/concat",
            Server::new(
                set.concat.clone(),
                json::go::decode_request,
                json::encode_response,
            ),
        )
}

/// A client [`Set`] for the addsvc HTTP listener at `instance` (see
/// [`base_url`](super::base_url)); its endpoints share one connection pool.
pub fn client(instance: &str) -> Result<Set, Error> {
    let base = super::base_url(instance)?;
    let url = |path: &str| super::parse_uri(instance, &format!("{base}{path}"));
    let pool = Pool::new();
    let sum = Client::new(
        Method::POST,
        url("/sum")?,
        json::encode_request,
        json::go::decode_response::<SumResponse>,
    )
    .pool(pool.clone());
    let concat = Client::new(
        Method::POST,
        url("/concat")?,
        json::encode_request,
        json::go::decode_response::<ConcatResponse>,
    )
    .pool(pool);
    Ok(Set {
        sum: kit::Endpoint::boxed(sum),
        concat: kit::Endpoint::boxed(concat),
    })
}
