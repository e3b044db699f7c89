//! addsvc over HTTP/JSON: `POST /sum` and `POST /concat` (see the contract in the crate
//! docs).

use http::{Method, Uri};
use kit::Error;
use kit_http::{Client, Pool, Router, Server, json};

use crate::endpoints::{ConcatResponse, Set, SumResponse};

/// The routes of the HTTP listener.
pub fn router(set: &Set) -> Router {
    Router::new()
        .route(
            Method::POST,
            "/sum",
            Server::new(set.sum.clone(), json::decode_request, json::encode_response),
        )
        .route(
            Method::POST,
            "/concat",
            Server::new(
                set.concat.clone(),
                json::decode_request,
                json::encode_response,
            ),
        )
}

/// A client [`Set`] for the addsvc at `instance`: `host:port` or an `http://` URL (with or
/// without a trailing slash); its endpoints share one connection pool.
pub fn client(instance: &str) -> Result<Set, Error> {
    if instance.starts_with("https://") {
        return Err(Error::invalid_argument(format!(
            "invalid address {instance:?}: the HTTP transport speaks plain http only"
        )));
    }
    let base = if instance.starts_with("http://") {
        instance.trim_end_matches('/').to_owned()
    } else {
        format!("http://{instance}")
    };
    let url = |path: &str| -> Result<Uri, Error> {
        format!("{base}{path}")
            .parse()
            .map_err(|e| Error::invalid_argument(format!("invalid address {instance:?}: {e}")))
    };
    let pool = Pool::new();
    let sum = Client::new(
        Method::POST,
        url("/sum")?,
        json::encode_request,
        json::decode_response::<SumResponse>,
    )
    .pool(pool.clone());
    let concat = Client::new(
        Method::POST,
        url("/concat")?,
        json::encode_request,
        json::decode_response::<ConcatResponse>,
    )
    .pool(pool);
    Ok(Set {
        sum: kit::Endpoint::boxed(sum),
        concat: kit::Endpoint::boxed(concat),
    })
}
