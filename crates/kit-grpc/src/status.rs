//! Errors to gRPC statuses and back.

use bytes::Bytes;
use kit::{Code, Error};
use prost::Message;
use prost_types::value::Kind;
use prost_types::{Any, ListValue, Struct, Value};
use tonic::Status;

/// The `type_url` of the one status detail kit sends: a `google.protobuf.Value`.
pub const VALUE_TYPE_URL: &str = "type.googleapis.com/google.protobuf.Value";

/// `google.rpc.Status`, the message gRPC's rich error model puts (encoded) in the
/// `grpc-status-details-bin` trailer.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// The gRPC status a server answers `err` with: the status code of the error's [`Code`]
/// (kit's codes are gRPC's, [`Code::number`]), its [message for
/// callers](Error::message_for_caller) (a [redacted](Error::redact_private) error's code
/// description), and its [details](Error::details), if any.
///
/// Details travel in gRPC's standard rich-error form, so any gRPC client can read them
/// (grpc-go's `status.Details()`, grpc-java's `StatusProto.fromThrowable`): the
/// `grpc-status-details-bin` trailer holds a `google.rpc.Status` with the code, the message
/// and one `google.protobuf.Any` of type [`VALUE_TYPE_URL`], a `google.protobuf.Value` with
/// the details' JSON. (`Value` numbers are doubles: integers beyond ±2^53 lose precision.)
///
/// ```
/// let err = kit::Error::invalid_argument("can't sum two zeroes")
///     .with_details(serde_json::json!({"field": "a"}));
/// let status = kit_grpc::status_of(&err);
/// assert_eq!(status.code(), tonic::Code::InvalidArgument);
/// assert_eq!(status.message(), "can't sum two zeroes");
/// assert!(!status.details().is_empty());
/// assert_eq!(kit_grpc::error_of(status).details(), err.details());
/// ```
pub fn status_of(err: &Error) -> Status {
    let code = tonic::Code::from_i32(err.code().number());
    let message = err.message_for_caller();
    match err.details() {
        None => Status::new(code, message),
        Some(details) => {
            let encoded = RpcStatus {
                code: err.code().number(),
                message: message.to_owned(),
                details: vec![Any {
                    type_url: VALUE_TYPE_URL.to_owned(),
                    value: value_of(details).encode_to_vec(),
                }],
            }
            .encode_to_vec();
            Status::with_details(code, message, Bytes::from(encoded))
        }
    }
}

/// The error a client gets for a status: the [`Code`] of the status code (see
/// [`Code::from_number`]; `OK` or an unknown number becomes [`Code::Unknown`]), the status
/// message, the details [`status_of`] sent (the first `google.protobuf.Value` among the
/// status details; other detail types are left in the status), and the status itself as
/// the source.
///
/// It reads what a server answered. A [`Client`](crate::Client) also tells transport
/// failures apart (whether the request can have reached the server) before it calls this;
/// see [`client`](crate::client).
///
/// ```
/// let err = kit_grpc::error_of(tonic::Status::not_found("no such profile"));
/// assert_eq!(err.code(), kit::Code::NotFound);
/// assert_eq!(err.message(), "no such profile");
/// ```
pub fn error_of(status: Status) -> Error {
    let code = Code::from_number(status.code() as i32).unwrap_or(Code::Unknown);
    let err = Error::new(code, status.message().to_owned());
    let err = match details_of(status.details()) {
        Some(details) => err.with_details(details),
        None => err,
    };
    err.with_source(status)
}

/// The first `google.protobuf.Value` in encoded `google.rpc.Status` details, as JSON.
fn details_of(encoded: &[u8]) -> Option<serde_json::Value> {
    if encoded.is_empty() {
        return None;
    }
    let status = RpcStatus::decode(encoded).ok()?;
    let any = status
        .details
        .into_iter()
        .find(|any| any.type_url == VALUE_TYPE_URL)?;
    Value::decode(&*any.value).ok().map(json_of)
}

/// JSON as a `google.protobuf.Value`.
fn value_of(json: &serde_json::Value) -> Value {
    let kind = match json {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        // Every JSON number has an f64 value (serde_json's `as_f64` never fails for one
        // that parsed); precision beyond 2^53 is lost, as in every JSON-to-Value mapping.
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(value_of).collect(),
        }),
        serde_json::Value::Object(fields) => Kind::StructValue(Struct {
            fields: fields
                .iter()
                .map(|(k, v)| (k.clone(), value_of(v)))
                .collect(),
        }),
    };
    Value { kind: Some(kind) }
}

/// The largest integer that a double and JSON integers both hold exactly.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// A `google.protobuf.Value` as JSON. Whole numbers within ±2^53 become JSON integers, so
/// that `{"retry_after": 2}` comes back as it was sent, not as `2.0`; a number JSON cannot
/// hold (NaN, infinities) and a value with no kind become `null`.
fn json_of(value: Value) -> serde_json::Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => b.into(),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() <= MAX_EXACT_INTEGER => {
            (n as i64).into()
        }
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Some(Kind::StringValue(s)) => s.into(),
        Some(Kind::ListValue(list)) => list.values.into_iter().map(json_of).collect(),
        Some(Kind::StructValue(s)) => {
            serde_json::Value::Object(s.fields.into_iter().map(|(k, v)| (k, json_of(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_code_round_trips() {
        for n in 1..=16 {
            let code = Code::from_number(n).expect("1 to 16 are gRPC error codes");
            let status = status_of(&Error::new(code, "boom"));
            assert_eq!(status.code() as i32, n);
            let back = error_of(status);
            assert_eq!((back.code(), back.message()), (code, "boom"));
        }
    }

    #[test]
    fn ok_and_unknown_numbers_are_unknown_errors() {
        assert_eq!(
            error_of(Status::new(tonic::Code::Ok, "")).code(),
            Code::Unknown
        );
        assert_eq!(error_of(Status::unknown("?")).code(), Code::Unknown);
    }

    #[test]
    fn details_travel_as_a_google_rpc_status_holding_a_value() {
        let details = json!({
            "field": "a",
            "limits": [1, -2, 2.5, 9007199254740992_i64],
            "nested": {"ok": true, "none": null},
        });
        let err = Error::invalid_argument("bad").with_details(details.clone());
        let status = status_of(&err);

        // The wire form a grpc-go client unpacks with status.Details().
        let rpc = RpcStatus::decode(status.details()).unwrap();
        assert_eq!((rpc.code, &*rpc.message), (3, "bad"));
        assert_eq!(rpc.details.len(), 1);
        assert_eq!(rpc.details[0].type_url, VALUE_TYPE_URL);
        let value = Value::decode(&*rpc.details[0].value).unwrap();
        assert!(matches!(value.kind, Some(Kind::StructValue(_))));

        assert_eq!(error_of(status).details(), Some(&details));
    }

    #[test]
    fn an_error_without_details_sends_none() {
        let status = status_of(&Error::not_found("gone"));
        assert!(status.details().is_empty());
        assert_eq!(error_of(status).details(), None);
    }

    #[test]
    fn details_of_other_types_or_malformed_are_ignored() {
        let other = RpcStatus {
            code: 3,
            message: "bad".into(),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.BadRequest".into(),
                value: vec![1, 2, 3],
            }],
        };
        let status = Status::with_details(
            tonic::Code::InvalidArgument,
            "bad",
            other.encode_to_vec().into(),
        );
        assert_eq!(error_of(status).details(), None);
        let garbage = Status::with_details(tonic::Code::Internal, "x", Bytes::from_static(&[0xff]));
        assert_eq!(error_of(garbage).details(), None);
    }

    #[test]
    fn numbers_json_cannot_hold_become_null() {
        let nan = Value {
            kind: Some(Kind::NumberValue(f64::NAN)),
        };
        assert_eq!(json_of(nan), serde_json::Value::Null);
        assert_eq!(json_of(Value { kind: None }), serde_json::Value::Null);
    }

    #[test]
    fn a_redacted_error_sends_its_code_description() {
        let err = Error::internal("disk /dev/sda1 on fire").redact_private();
        let status = status_of(&err);
        assert_eq!(status.message(), "internal error");
        assert_eq!(err.message(), "disk /dev/sda1 on fire");
    }
}
