//! addsvc over JSON-RPC 2.0: methods `sum` and `concat` on one HTTP listener, any path
//! (Go kit's addcli posts to `/rpc`), params `{"a":..,"b":..}`, result `{"v":..}`.

use kit::Error;
use kit_http::jsonrpc::{self, Methods};
use kit_http::{Pool, Server};

use crate::endpoints::{ConcatRequest, ConcatResponse, Set, SumRequest, SumResponse};

/// The JSON-RPC server of the listener.
pub fn server(set: &Set) -> Server<Methods> {
    Server::jsonrpc(
        Methods::new()
            .method(
                "sum",
                set.sum.clone(),
                jsonrpc::go::decode_params::<SumRequest>,
                jsonrpc::encode_result,
            )
            .method(
                "concat",
                set.concat.clone(),
                jsonrpc::go::decode_params::<ConcatRequest>,
                jsonrpc::encode_result,
            ),
    )
}

/// A client [`Set`] for the addsvc JSON-RPC listener at `instance` (`host:port`, which posts
/// to `/rpc` as Go kit's addcli does, or a full `http://` URL); its endpoints share one
/// connection pool.
pub fn client(instance: &str) -> Result<Set, Error> {
    let base = super::base_url(instance)?;
    let has_path = base.trim_start_matches("http://").contains('/');
    let url = super::parse_uri(
        instance,
        &if has_path {
            base
        } else {
            format!("{base}/rpc")
        },
    )?;
    let pool = Pool::new();
    let sum = jsonrpc::Client::new(
        url.clone(),
        "sum",
        jsonrpc::encode_params::<SumRequest>,
        jsonrpc::go::decode_result::<SumResponse>,
    )
    .pool(pool.clone());
    let concat = jsonrpc::Client::new(
        url,
        "concat",
        jsonrpc::encode_params::<ConcatRequest>,
        jsonrpc::go::decode_result::<ConcatResponse>,
    )
    .pool(pool);
    Ok(Set {
        sum: kit::Endpoint::boxed(sum),
        concat: kit::Endpoint::boxed(concat),
    })
}
