//! addsvc's descriptions: the emitted `.proto` is Go kit's contract and compiles (protox,
//! protoc) into the descriptors it serves; the OpenAPI document is the expected one.

mod proto {
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
        let contract = include_str!("../../proto/addsvc.proto");
        assert_eq!(normalise(&addsvc::add::proto()), normalise(contract));
    }

    /// The emitted `.proto` in a temporary directory, as `pb/add.proto`.
    fn emitted() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pb")).unwrap();
        std::fs::write(dir.path().join("pb/add.proto"), addsvc::add::proto()).unwrap();
        dir
    }

    fn served() -> prost_types::FileDescriptorSet {
        prost_types::FileDescriptorSet::decode(addsvc::add::grpc::file_descriptor_set()).unwrap()
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

mod openapi_document {
    use serde_json::json;

    #[test]
    fn the_openapi_document_describes_the_http_contract() {
        let document = addsvc::add::openapi();
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
