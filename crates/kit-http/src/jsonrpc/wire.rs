//! The JSON-RPC 2.0 objects as they travel, for both sides.

use std::fmt;

use kit::{Code, Error};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// The error code of a body that is not JSON at all (answered with `"id": null`).
pub const PARSE_ERROR: i32 = -32700;

/// The error code of JSON that is not a request object: wrong `jsonrpc` version, `method`
/// not a string, `id` neither a string, a number nor null, an empty batch.
pub const INVALID_REQUEST: i32 = -32600;

/// The version every answer and request kit writes carries.
const VERSION: &str = "2.0";

/// Reads a member that is there, even as `null`, as `Some`: serde reads a `null` option as
/// `None`, but for `id` (and `jsonrpc`, `result`) being `null` and being absent mean
/// different things. Absent members fall back to `#[serde(default)]`, i.e. `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A request object as received: every member raw, so that each can be checked on its own
/// and the id echoed exactly as sent.
#[derive(Deserialize)]
struct RequestObject<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
}

/// A valid request: a call, or a notification if it has no id.
#[derive(Debug)]
pub(super) struct Request<'a> {
    pub(super) method: String,
    /// The raw params; `null` when absent.
    pub(super) params: &'a RawValue,
    /// The raw id; `None` for a notification (no `id` member; `"id": null` is a call).
    pub(super) id: Option<&'a RawValue>,
}

impl<'a> Request<'a> {
    /// Checks one request object; an invalid one is described by the error's message, with
    /// the request's id when it could be read (an answer then echoes it, as the
    /// specification asks: `null` only when the id cannot be determined).
    pub(super) fn parse(
        raw: &'a RawValue,
    ) -> Result<Request<'a>, (Option<&'a RawValue>, ErrorObject)> {
        // serde would happily read a struct from an array too.
        if !raw.get().starts_with('{') {
            return Err((None, ErrorObject::invalid_request("not a request object")));
        }
        let object: RequestObject<'a> = serde_json::from_str(raw.get())
            .map_err(|err| (None, ErrorObject::invalid_request(err.to_string())))?;
        let id = match object.id {
            // The raw value is valid JSON, so its first byte tells its type.
            Some(id) if !matches!(id.get().as_bytes()[0], b'"' | b'-' | b'0'..=b'9' | b'n') => {
                return Err((
                    None,
                    ErrorObject::invalid_request("id must be a string, a number or null"),
                ));
            }
            id => id,
        };
        if let Some(version) = object.jsonrpc {
            // Go kit's client sends "", so an empty version is read as 2.0.
            let known = serde_json::from_str::<String>(version.get())
                .is_ok_and(|v| v == VERSION || v.is_empty());
            if !known {
                let why = format!("unsupported jsonrpc version {version}");
                return Err((id, ErrorObject::invalid_request(why)));
            }
        }
        let method = object
            .method
            .and_then(|method| serde_json::from_str::<String>(method.get()).ok())
            .ok_or_else(|| (id, ErrorObject::invalid_request("method must be a string")))?;
        // The specification allows only a structured value (or no member); `null` is read
        // as no member, as clients that always write the member send it.
        let params = object.params.unwrap_or(RawValue::NULL);
        if !matches!(params.get().as_bytes()[0], b'[' | b'{' | b'n') {
            let why = "invalid params: params must be an array or an object";
            return Err((
                id,
                ErrorObject::new(error_code(Code::InvalidArgument), why.into()),
            ));
        }
        Ok(Request { method, params, id })
    }
}

/// A JSON-RPC error object; `data` carries the error's [details](kit::Error::details).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ErrorObject {
    pub(super) code: i64,
    #[serde(default)]
    pub(super) message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<serde_json::Value>,
}

impl ErrorObject {
    fn new(code: i32, message: String) -> ErrorObject {
        ErrorObject {
            code: code.into(),
            message,
            data: None,
        }
    }

    pub(super) fn parse_error(err: serde_json::Error) -> ErrorObject {
        ErrorObject::new(PARSE_ERROR, format!("parse error: {err}"))
    }

    pub(super) fn invalid_request(why: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(INVALID_REQUEST, format!("invalid request: {why}"))
    }

    /// The error object of an endpoint's error: its code's JSON-RPC code
    /// ([`error_code`]), its message for callers, its details as `data`.
    pub(super) fn from_error(err: &Error) -> ErrorObject {
        ErrorObject {
            code: error_code(err.code()).into(),
            message: err.message_for_caller().to_owned(),
            data: err.details().cloned(),
        }
    }

    /// The error a client returns for it: the code read back ([`code_of`]), the same
    /// message, `data` as details.
    pub(super) fn into_error(self) -> Error {
        let err = Error::new(code_of(self.code), self.message);
        match self.data {
            Some(data) => err.with_details(data),
            None => err,
        }
    }
}

/// The JSON-RPC error code of a kit code, as kit's servers answer:
///
/// | code | JSON-RPC |
/// |---|---|
/// | InvalidArgument | `-32602` (invalid params) |
/// | Unimplemented | `-32601` (method not found) |
/// | Internal | `-32603` (internal error) |
/// | any other | `-32000 - n`, `n` its number ([`Code::number`]): `-32001` Cancelled ... `-32016` Unauthenticated |
///
/// The specification's own codes where one fits, the implementation-defined server-error
/// range otherwise, so that every code survives a round trip ([`code_of`]).
pub fn error_code(code: Code) -> i32 {
    match code {
        Code::InvalidArgument => -32602,
        Code::Unimplemented => -32601,
        Code::Internal => -32603,
        other => -32000 - other.number(),
    }
}

/// The kit code of a JSON-RPC error code: the inverse of [`error_code`], plus the
/// specification's parse error (`-32700`) and invalid request (`-32600`), which are
/// `InvalidArgument`. Any other code is `Unknown`.
pub fn code_of(error_code: i64) -> Code {
    match error_code {
        -32700 | -32600 | -32602 => Code::InvalidArgument,
        -32601 => Code::Unimplemented,
        -32603 => Code::Internal,
        n => (-32000_i64)
            .checked_sub(n)
            .and_then(|number| i32::try_from(number).ok())
            .and_then(Code::from_number)
            .filter(|code| self::error_code(*code) == -32000 - code.number())
            .unwrap_or(Code::Unknown),
    }
}

/// A response object as written: members in the specification's order.
#[derive(Debug, Serialize)]
pub(super) struct Answer<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorObject>,
    id: &'a RawValue,
}

impl<'a> Answer<'a> {
    /// The answer to the call with `id`.
    pub(super) fn new(id: &'a RawValue, outcome: Result<Box<RawValue>, Error>) -> Answer<'a> {
        match outcome {
            Ok(result) => Answer {
                jsonrpc: VERSION,
                result: Some(result),
                error: None,
                id,
            },
            Err(err) => Answer::error(id, ErrorObject::from_error(&err)),
        }
    }

    /// An error answer.
    pub(super) fn error(id: &'a RawValue, error: ErrorObject) -> Answer<'a> {
        Answer {
            jsonrpc: VERSION,
            result: None,
            error: Some(error),
            id,
        }
    }
}

/// A request object as a client writes it.
#[derive(Serialize)]
pub(super) struct Call<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    /// Left out when `null` (a request type of `()`): the specification allows only a
    /// structured value or no member.
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
    id: u64,
}

impl<'a> Call<'a> {
    pub(super) fn new(method: &'a str, params: &'a RawValue, id: u64) -> Call<'a> {
        Call {
            jsonrpc: VERSION,
            method,
            params: (params.get() != "null").then_some(params),
            id,
        }
    }
}

/// A response object as a client reads it.
#[derive(Debug, Deserialize)]
pub(super) struct Reply {
    #[serde(default, deserialize_with = "present")]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<ErrorObject>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Box<RawValue>>,
}

impl Reply {
    /// The result of the call with `id`, or its error.
    ///
    /// The id must be the request's, except on an error answer with `"id": null` (or none),
    /// which is how Go kit's server answers errors, and how every server answers requests
    /// it could not read.
    pub(super) fn into_result(self, id: u64) -> Result<Box<RawValue>, Error> {
        let echoed = self.id.as_deref().map_or("null", RawValue::get);
        let same_id = serde_json::from_str::<u64>(echoed).is_ok_and(|echoed| echoed == id);
        let null_id_error = self.error.is_some() && echoed == "null";
        if !same_id && !null_id_error {
            return Err(Error::internal(format!(
                "JSON-RPC answer has id {echoed}, expected {id}"
            )));
        }
        match (self.error, self.result) {
            (Some(error), _) => Err(error.into_error()),
            (None, Some(result)) => Ok(result),
            (None, None) => Err(Error::internal(
                "JSON-RPC answer has neither a result nor an error",
            )),
        }
    }
}
