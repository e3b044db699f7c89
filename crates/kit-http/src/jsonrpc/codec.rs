//! The default codecs of params and results: serde, with Go's case-insensitive keys.

use kit::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::json;

/// Decodes a call's params (server side). Keys match struct fields case-insensitively, as
/// in [`json::from_slice`], because Go kit clients send `{"A":1,"B":2}`. Params that do not
/// fit `T` are an `InvalidArgument` error, answered as JSON-RPC's invalid params (`-32602`).
pub fn decode_params<T: DeserializeOwned>(params: &RawValue) -> Result<T, Error> {
    json::from_slice(params.get().as_bytes())
        .map_err(|err| Error::invalid_argument(format!("invalid params: {err}")).with_source(err))
}

/// Encodes an endpoint's response as a call's result (server side).
pub fn encode_result<T: Serialize>(result: T) -> Result<Box<RawValue>, Error> {
    to_raw(&result, "result")
}

/// Encodes a request as a call's params (client side).
pub fn encode_params<T: Serialize>(params: T) -> Result<Box<RawValue>, Error> {
    to_raw(&params, "params")
}

/// Decodes a call's result (client side), with keys matched case-insensitively as the
/// server side does. A result that does not fit `T` is the server's fault: `Internal`.
pub fn decode_result<T: DeserializeOwned>(result: &RawValue) -> Result<T, Error> {
    json::from_slice(result.get().as_bytes())
        .map_err(|err| Error::internal(format!("invalid JSON-RPC result: {err}")).with_source(err))
}

/// Serialises the JSON-RPC `what` (params or result); failing to is a bug in the caller's
/// types: `Internal`.
fn to_raw<T: Serialize>(value: &T, what: &str) -> Result<Box<RawValue>, Error> {
    serde_json::value::to_raw_value(value)
        .map_err(|err| Error::internal(format!("encoding JSON-RPC {what}: {err}")).with_source(err))
}
