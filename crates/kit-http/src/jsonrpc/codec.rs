//! The default codecs of params and results: serde, standard or Go-compatible.

use kit::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Decodes a call's params (server side) with serde_json. Params that do not fit `T` are an
/// `InvalidArgument` error, answered as JSON-RPC's invalid params (`-32602`).
pub fn decode_params<T: DeserializeOwned>(params: &RawValue) -> Result<T, Error> {
    params_from(serde_json::from_str(params.get()))
}

/// Encodes an endpoint's response as a call's result (server side).
pub fn encode_result<T: Serialize>(result: T) -> Result<Box<RawValue>, Error> {
    to_raw(&result, "result")
}

/// Encodes a request as a call's params (client side).
pub fn encode_params<T: Serialize>(params: T) -> Result<Box<RawValue>, Error> {
    to_raw(&params, "params")
}

/// Decodes a call's result (client side) with serde_json. A result that does not fit `T` is
/// the server's fault: `Internal`.
pub fn decode_result<T: DeserializeOwned>(result: &RawValue) -> Result<T, Error> {
    result_from(serde_json::from_str(result.get()))
}

fn params_from<T>(decoded: Result<T, serde_json::Error>) -> Result<T, Error> {
    decoded
        .map_err(|err| Error::invalid_argument(format!("invalid params: {err}")).with_source(err))
}

fn result_from<T>(decoded: Result<T, serde_json::Error>) -> Result<T, Error> {
    decoded
        .map_err(|err| Error::internal(format!("invalid JSON-RPC result: {err}")).with_source(err))
}

/// Serialises the JSON-RPC `what` (params or result); failing to is a bug in the caller's
/// types: `Internal`.
fn to_raw<T: Serialize>(value: &T, what: &str) -> Result<Box<RawValue>, Error> {
    serde_json::value::to_raw_value(value)
        .map_err(|err| Error::internal(format!("encoding JSON-RPC {what}: {err}")).with_source(err))
}

/// The Go-compatible codec of params and results: decoding as Go's `encoding/json` does,
/// as [`json::go`](crate::json::go) does for plain HTTP bodies (Go kit's JSON-RPC client
/// sends `{"A":1,"B":2}`).
pub mod go {
    use kit::Error;
    use serde::de::DeserializeOwned;
    use serde_json::value::RawValue;

    pub use super::{encode_params, encode_result};
    use crate::json::go::from_slice;

    /// Decodes a call's params (server side) as Go would; errors as
    /// [`decode_params`](super::decode_params)'s.
    pub fn decode_params<T: DeserializeOwned>(params: &RawValue) -> Result<T, Error> {
        super::params_from(from_slice(params.get().as_bytes()))
    }

    /// Decodes a call's result (client side) as Go would; errors as
    /// [`decode_result`](super::decode_result)'s.
    pub fn decode_result<T: DeserializeOwned>(result: &RawValue) -> Result<T, Error> {
        super::result_from(from_slice(result.get().as_bytes()))
    }
}
