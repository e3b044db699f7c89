//! The business logic: what addsvc does, with no transport in sight.

use kit::{Context, Error};

/// The error text of `Sum(0, 0)`.
pub const ERR_TWO_ZEROES: &str = "can't sum two zeroes";
/// The error text of a `Sum` that would leave the 32-bit range (Go kit's rule).
pub const ERR_INT_OVERFLOW: &str = "integer overflow";
/// The error text of a `Concat` result over [`MAX_CONCAT_LEN`] bytes.
pub const ERR_MAX_SIZE_EXCEEDED: &str = "result exceeds maximum size";
/// The longest `Concat` result, in bytes.
pub const MAX_CONCAT_LEN: usize = 10;

/// What addsvc offers, as Go kit's addsvc: implemented by [`BasicService`] on the server and
/// by the endpoint [`Set`](add::Set) of any transport's client, so callers do not know which
/// one they hold. `#[kit::service]` makes the rest: the messages (`pb.SumRequest`,
/// `pb.SumReply` with Go kit's `v` and `err` fields), the endpoints, the HTTP/JSON routes
/// (`POST /sum`, `POST /concat`), the JSON-RPC methods (`sum`, `concat`), the gRPC service
/// `pb.Add`, and a client of each.
#[kit::service(
    http,
    jsonrpc,
    grpc,
    go,
    package = "pb",
    name = "Add",
    reply_suffix = "Reply",
    err_field = "err"
)]
pub trait Add {
    /// Sums two integers.
    async fn sum(&self, ctx: &Context, a: i64, b: i64) -> Result<i64, Error>;
    /// Concatenates two strings.
    async fn concat(&self, ctx: &Context, a: String, b: String) -> Result<String, Error>;
}

/// The real implementation. Its errors are business errors (`InvalidArgument`): returned to
/// the caller, never counted as failures.
#[derive(Debug, Default, Clone, Copy)]
pub struct BasicService;

impl Add for BasicService {
    async fn sum(&self, _ctx: &Context, a: i64, b: i64) -> Result<i64, Error> {
        if a == 0 && b == 0 {
            return Err(Error::invalid_argument(ERR_TWO_ZEROES));
        }
        // Go kit's exact rule: the operands are int64 but results must fit an int32.
        let (max, min) = (i64::from(i32::MAX), i64::from(i32::MIN));
        if (b > 0 && a > max - b) || (b < 0 && a < min - b) {
            return Err(Error::invalid_argument(ERR_INT_OVERFLOW));
        }
        Ok(a + b)
    }

    async fn concat(&self, _ctx: &Context, a: String, b: String) -> Result<String, Error> {
        if a.len() + b.len() > MAX_CONCAT_LEN {
            return Err(Error::invalid_argument(ERR_MAX_SIZE_EXCEEDED));
        }
        Ok(a + &b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::Code;

    async fn sum(a: i64, b: i64) -> Result<i64, String> {
        BasicService
            .sum(&Context::background(), a, b)
            .await
            .map_err(|e| {
                assert_eq!(e.code(), Code::InvalidArgument);
                e.message().to_owned()
            })
    }

    #[tokio::test]
    async fn sum_follows_go_kits_rules() {
        assert_eq!(sum(1, 2).await, Ok(3));
        assert_eq!(sum(0, 0).await, Err(ERR_TWO_ZEROES.into()));
        assert_eq!(sum(3_000_000_000, 0).await, Ok(3_000_000_000));
        assert_eq!(sum(2_147_483_646, 1).await, Ok(2_147_483_647));
        assert_eq!(sum(2_147_483_647, 1).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(-2_147_483_647, -1).await, Ok(-2_147_483_648));
        assert_eq!(sum(-2_147_483_648, -1).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(i64::MIN, -1).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(i64::MAX, i64::MAX).await, Err(ERR_INT_OVERFLOW.into()));
        assert_eq!(sum(i64::MIN, 0).await, Ok(i64::MIN));
    }

    #[tokio::test]
    async fn concat_limits_the_result() {
        let ctx = Context::background();
        assert_eq!(
            BasicService
                .concat(&ctx, "x".into(), "y".into())
                .await
                .unwrap(),
            "xy"
        );
        assert_eq!(
            BasicService
                .concat(&ctx, "01234".into(), "56789".into())
                .await
                .unwrap(),
            "0123456789"
        );
        let err = BasicService
            .concat(&ctx, "01234".into(), "567890".into())
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (Code::InvalidArgument, ERR_MAX_SIZE_EXCEEDED)
        );
    }
}

#[cfg(test)]
mod proto_tests {
    use prost::Message;

    /// The text of a `.proto` without comments, with `rpc X (A) returns (B) {}` and
    /// `...;` written alike and spaces collapsed.
    fn normalise(proto: &str) -> String {
        let text: Vec<&str> = proto
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect();
        text.join(" ")
            .replace(") {}", ");")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_emitted_proto_is_go_kits_contract() {
        let contract = include_str!("../proto/addsvc.proto");
        assert_eq!(normalise(&super::add::proto()), normalise(contract));
    }

    /// The emitted `.proto` in a temporary directory, as `pb/add.proto`.
    fn emitted() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pb")).unwrap();
        std::fs::write(dir.path().join("pb/add.proto"), super::add::proto()).unwrap();
        dir
    }

    fn served() -> prost_types::FileDescriptorSet {
        prost_types::FileDescriptorSet::decode(super::add::grpc::file_descriptor_set()).unwrap()
    }

    #[test]
    fn protox_compiles_the_emitted_proto_into_the_served_descriptors() {
        let dir = emitted();
        let mut compiled = protox::compile(["pb/add.proto"], [dir.path()]).unwrap();
        for file in &mut compiled.file {
            file.source_code_info = None;
        }
        assert_eq!(served(), compiled);
    }

    #[test]
    fn protoc_compiles_the_emitted_proto_into_the_served_descriptors() {
        let dir = emitted();
        let out = dir.path().join("set.bin");
        let status = std::process::Command::new("protoc")
            .arg("-I")
            .arg(dir.path())
            .arg("--descriptor_set_out")
            .arg(&out)
            .arg("pb/add.proto")
            .status()
            .expect("protoc is needed: apt-get install -y protobuf-compiler (./scripts/test does)");
        assert!(status.success(), "protoc refused the emitted proto");
        let compiled = std::fs::read(out).unwrap();
        assert_eq!(
            served(),
            prost_types::FileDescriptorSet::decode(&*compiled).unwrap()
        );
    }
}

#[cfg(test)]
mod openapi_tests {
    use serde_json::json;

    #[test]
    fn the_openapi_document_describes_the_http_contract() {
        let document = super::add::openapi();
        assert_eq!(
            (&document["info"]["title"], &document["info"]["version"]),
            (&json!("Add"), &json!(env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            document["paths"]["/sum"],
            json!({ "post": {
                "operationId": "Sum",
                "description": "Sums two integers.",
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": {
                        "$ref": "#/components/schemas/SumRequest",
                    } } },
                },
                "responses": {
                    "200": {
                        "description": "The reply.",
                        "content": { "application/json": { "schema": {
                            "$ref": "#/components/schemas/SumReply",
                        } } },
                    },
                    "400": { "$ref": "#/components/responses/kit.BadRequest" },
                    "413": { "$ref": "#/components/responses/kit.ContentTooLarge" },
                    "default": { "$ref": "#/components/responses/kit.Error" },
                },
            } })
        );
        let int64 = json!({
            "type": "integer",
            "format": "int64",
            "minimum": i64::MIN,
            "maximum": i64::MAX,
        });
        let schemas = &document["components"]["schemas"];
        assert_eq!(
            schemas["SumRequest"],
            json!({
                "type": "object",
                "properties": { "a": int64, "b": int64 },
                "required": ["a", "b"],
            })
        );
        // Go kit's `err` is left out of successful replies: not required.
        assert_eq!(
            schemas["ConcatReply"],
            json!({
                "type": "object",
                "properties": {
                    "v": { "type": "string" },
                    "err": { "type": "string", "description": "A business error, empty on success." },
                },
                "required": ["v"],
            })
        );
    }
}
