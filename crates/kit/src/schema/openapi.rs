//! The OpenAPI 3.1 document of a service's HTTP/JSON routes.

use serde_json::{Map, Value, json};

use super::{FieldDef, FieldType, HttpDef, Label, MethodDef, ServiceDef, messages};
use crate::Code;

/// The error body's schema and the error responses, in `components`. Message names are
/// identifiers, so no message can take a name with a dot.
const ERROR: &str = "kit.Error";
const BAD_REQUEST: &str = "kit.BadRequest";
const CONTENT_TOO_LARGE: &str = "kit.ContentTooLarge";

/// The OpenAPI 3.1 document of `service`'s HTTP/JSON routes, as kit's HTTP transport serves
/// them, with `version` as the API's version (`info.version`).
///
/// - `info.title` is the service's name; its documentation is the description.
/// - Each method with a route ([`MethodDef::http`]) is an operation whose `operationId` is
///   the method's name, with its path and query parameters, a JSON request body for the
///   other request fields (the request message itself when there are none), and its
///   answers: the success status with the reply message (`204` with no content), `400` (a
///   request that does not decode, or a business error), `413` where there is a body, and a
///   `default` for every other error status. Error answers have kit's error body,
///   `{"error": "...", "code": "...", "details": ...}` (schema `kit.Error`). Methods
///   without a route are left out.
/// - `components.schemas` holds every message, under its name, with the fields under their
///   JSON names: 64-bit integers are integers (format `int64` or `uint64`, with their
///   range), `bytes` an array of integers from 0 to 255 (as serde writes a `Vec<u8>`),
///   optional fields may be `null` and lists are arrays. A field is required when JSON
///   must have it: a single scalar that is not [`omit_empty`](FieldDef::omit_empty).
///
/// ```
/// use kit::schema::{openapi, HttpDef, MessageDef, MethodDef, ServiceDef};
///
/// static EMPTY: MessageDef = MessageDef { name: "Empty", doc: "", fields: &[] };
/// static PING: ServiceDef = ServiceDef {
///     package: "demo",
///     name: "Ping",
///     doc: "",
///     methods: &[MethodDef {
///         name: "Ping",
///         doc: "",
///         request: || &EMPTY,
///         response: || &EMPTY,
///         http: Some(HttpDef {
///             method: "GET",
///             path: "/ping",
///             status: 204,
///             path_fields: &[],
///             query_fields: &[],
///             has_body: false,
///             response_body: false,
///         }),
///         jsonrpc: "ping",
///     }],
/// };
/// let document = openapi(&PING, "1.0.0");
/// assert_eq!(document["openapi"], "3.1.0");
/// assert_eq!(document["paths"]["/ping"]["get"]["operationId"], "Ping");
/// ```
///
/// # Panics
///
/// If a route names a path or query field that its request message does not have (a
/// description the macros never write).
pub fn openapi(service: &ServiceDef, version: &str) -> Value {
    let mut info = json!({ "title": service.name, "version": version });
    describe(&mut info, service.doc);
    let mut paths = Map::new();
    for method in service.methods {
        let Some(http) = &method.http else { continue };
        let item = paths.entry(http.path).or_insert_with(|| json!({}));
        item[http.method.to_ascii_lowercase()] = operation(method, http);
    }
    let mut schemas: Map<String, Value> = messages(service)
        .into_iter()
        .map(|message| {
            let schema = object_schema(message.doc, message.fields.iter());
            (message.name.to_owned(), schema)
        })
        .collect();
    schemas.insert(ERROR.to_owned(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                BAD_REQUEST: error_response(
                    "The request is invalid: its body or a parameter does not decode, or the \
                     service refused it (codes INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE).",
                ),
                CONTENT_TOO_LARGE: error_response("The request body is over the server's limit."),
                ERROR: error_response(
                    "An error: the status is the one of the error's code (NOT_FOUND 404, \
                     UNAVAILABLE 503, ...).",
                ),
            },
        },
    })
}

/// One operation: parameters, request body and answers.
fn operation(method: &MethodDef, http: &HttpDef) -> Value {
    let request = (method.request)();
    let field = |name: &str| {
        request
            .fields
            .iter()
            .find(|f| f.json_name == name)
            .unwrap_or_else(|| {
                panic!(
                    "the route of {} takes {name}, which {} does not have",
                    method.name, request.name
                )
            })
    };
    // The router names a path parameter after the field (`{id}`); the query string uses
    // the JSON name.
    let path = http.path_fields.iter().map(|name| {
        let field = field(name);
        parameter(field, field.name, "path")
    });
    let query = http.query_fields.iter().map(|name| {
        let field = field(name);
        parameter(field, field.json_name, "query")
    });
    let parameters: Vec<Value> = path.chain(query).collect();
    let mut operation = json!({ "operationId": method.name });
    describe(&mut operation, method.doc);
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if http.has_body {
        let schema = if http.path_fields.is_empty() && http.query_fields.is_empty() {
            reference(request.name)
        } else {
            let in_body = |f: &&FieldDef| {
                !http.path_fields.contains(&f.json_name)
                    && !http.query_fields.contains(&f.json_name)
            };
            object_schema("", request.fields.iter().filter(in_body))
        };
        operation["requestBody"] = json!({ "required": true, "content": json_content(schema) });
    }
    let success = if http.response_body {
        json!({
            "description": "The reply.",
            "content": json_content(reference((method.response)().name)),
        })
    } else {
        json!({ "description": "Done: no content." })
    };
    let mut responses = Map::new();
    responses.insert(http.status.to_string(), success);
    responses.insert("400".to_owned(), response_reference(BAD_REQUEST));
    if http.has_body {
        responses.insert("413".to_owned(), response_reference(CONTENT_TOO_LARGE));
    }
    responses.insert("default".to_owned(), response_reference(ERROR));
    operation["responses"] = Value::Object(responses);
    operation
}

/// A path or query parameter (an absent optional one is `None`, so it is never `null`).
fn parameter(field: &FieldDef, name: &str, location: &str) -> Value {
    let required = location == "path" || field.label == Label::Single;
    let mut parameter = json!({
        "name": name,
        "in": location,
        "required": required,
        "schema": value_schema(field.ty),
    });
    describe(&mut parameter, field.doc);
    parameter
}

/// The schema of a JSON object with `fields`.
fn object_schema<'a>(doc: &str, fields: impl Iterator<Item = &'a FieldDef>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        properties.insert(field.json_name.to_owned(), field_schema(field));
        let single_scalar =
            field.label == Label::Single && !matches!(field.ty, FieldType::Message(_));
        if single_scalar && !field.omit_empty {
            required.push(Value::from(field.json_name));
        }
    }
    let mut schema = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    describe(&mut schema, doc);
    schema
}

/// The schema of a field's JSON value: `null` allowed where it is optional, an array where
/// it is a list.
fn field_schema(field: &FieldDef) -> Value {
    let value = value_schema(field.ty);
    let mut schema = match field.label {
        Label::Single => value,
        Label::Optional => nullable(value),
        Label::Repeated => json!({ "type": "array", "items": value }),
    };
    describe(&mut schema, field.doc);
    schema
}

/// The schema of one value of type `ty`.
fn value_schema(ty: FieldType) -> Value {
    match ty {
        FieldType::Bool => json!({ "type": "boolean" }),
        FieldType::Int32 => integer("int32", i32::MIN, i32::MAX),
        FieldType::Int64 => integer("int64", i64::MIN, i64::MAX),
        FieldType::Uint32 => integer("uint32", u32::MIN, u32::MAX),
        FieldType::Uint64 => integer("uint64", u64::MIN, u64::MAX),
        FieldType::Float => json!({ "type": "number", "format": "float" }),
        FieldType::Double => json!({ "type": "number", "format": "double" }),
        FieldType::String => json!({ "type": "string" }),
        FieldType::Bytes => json!({
            "type": "array",
            "items": integer("uint8", u8::MIN, u8::MAX),
        }),
        FieldType::Message(def) => reference(def().name),
    }
}

fn integer(format: &str, minimum: impl Into<Value>, maximum: impl Into<Value>) -> Value {
    json!({
        "type": "integer",
        "format": format,
        "minimum": minimum.into(),
        "maximum": maximum.into(),
    })
}

/// `schema` or `null` (JSON Schema 2020-12: a second type, or `anyOf` for a reference).
fn nullable(mut schema: Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some(ty) => {
            schema["type"] = json!([ty, "null"]);
            schema
        }
        None => json!({ "anyOf": [schema, { "type": "null" }] }),
    }
}

/// kit's error body (kit-http's `encode_error`).
fn error_schema() -> Value {
    let codes: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    json!({
        "type": "object",
        "description": "An error answer.",
        "properties": {
            "error": { "type": "string", "description": "What went wrong." },
            "code": { "type": "string", "enum": codes, "description": "The error's code." },
            "details": { "description": "Structured details, when the error has some." },
        },
        "required": ["error", "code"],
    })
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": json_content(reference(ERROR)) })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn reference(schema: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{schema}") })
}

fn response_reference(response: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{response}") })
}

/// Adds `doc` as the description of `object`, unless it is empty.
fn describe(object: &mut Value, doc: &str) {
    if !doc.is_empty() {
        object["description"] = Value::from(doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MessageDef;

    // A REST-style service: a path parameter, a query parameter, a body beside a path
    // parameter, a body that is the whole request, `201` and `204`, a method without a route.
    /// A field whose JSON name is its name, with no documentation.
    const fn field(name: &'static str, tag: u32, ty: FieldType, label: Label) -> FieldDef {
        FieldDef {
            name,
            json_name: name,
            tag,
            ty,
            label,
            omit_empty: false,
            doc: "",
        }
    }

    static ITEM: MessageDef = MessageDef {
        name: "Item",
        doc: "An item.",
        fields: &[
            field("id", 1, FieldType::Uint64, Label::Single),
            FieldDef {
                doc: "Its tags.",
                ..field("tags", 2, FieldType::String, Label::Repeated)
            },
            field("parent", 3, FieldType::Message(item), Label::Optional),
            field("raw", 4, FieldType::Bytes, Label::Single),
        ],
    };
    static GET_REQUEST: MessageDef = MessageDef {
        name: "GetRequest",
        doc: "",
        fields: &[
            FieldDef {
                doc: "Which item.",
                ..field("id", 1, FieldType::Uint64, Label::Single)
            },
            FieldDef {
                json_name: "maxDepth",
                ..field("depth", 2, FieldType::Int32, Label::Optional)
            },
        ],
    };
    static PUT_REQUEST: MessageDef = MessageDef {
        name: "PutRequest",
        doc: "",
        fields: &[
            FieldDef {
                json_name: "itemId",
                ..field("id", 1, FieldType::Uint64, Label::Single)
            },
            field("ok", 2, FieldType::Bool, Label::Single),
            field("score", 3, FieldType::Double, Label::Optional),
        ],
    };
    static REPLY: MessageDef = MessageDef {
        name: "Reply",
        doc: "",
        fields: &[
            field("n", 1, FieldType::Int64, Label::Single),
            FieldDef {
                omit_empty: true,
                ..field("err", 2, FieldType::String, Label::Single)
            },
        ],
    };
    static EMPTY: MessageDef = MessageDef {
        name: "Empty",
        doc: "",
        fields: &[],
    };

    fn item() -> &'static MessageDef {
        &ITEM
    }
    fn get_request() -> &'static MessageDef {
        &GET_REQUEST
    }
    fn put_request() -> &'static MessageDef {
        &PUT_REQUEST
    }
    fn reply() -> &'static MessageDef {
        &REPLY
    }
    fn empty() -> &'static MessageDef {
        &EMPTY
    }

    static SERVICE: ServiceDef = ServiceDef {
        package: "demo.v1",
        name: "Items",
        doc: "Keeps items.",
        methods: &[
            MethodDef {
                name: "Get",
                doc: "Reads an item.",
                request: get_request,
                response: item,
                http: Some(HttpDef {
                    method: "GET",
                    path: "/items/{id}",
                    status: 200,
                    path_fields: &["id"],
                    query_fields: &["maxDepth"],
                    has_body: false,
                    response_body: true,
                }),
                jsonrpc: "get",
            },
            MethodDef {
                name: "Put",
                doc: "",
                request: put_request,
                response: empty,
                http: Some(HttpDef {
                    method: "PUT",
                    path: "/items/{id}",
                    status: 204,
                    path_fields: &["itemId"],
                    query_fields: &[],
                    has_body: true,
                    response_body: false,
                }),
                jsonrpc: "put",
            },
            MethodDef {
                name: "Create",
                doc: "",
                request: item,
                response: reply,
                http: Some(HttpDef {
                    method: "POST",
                    path: "/items",
                    status: 201,
                    path_fields: &[],
                    query_fields: &[],
                    has_body: true,
                    response_body: true,
                }),
                jsonrpc: "create",
            },
            MethodDef {
                name: "Internal",
                doc: "",
                request: empty,
                response: empty,
                http: None,
                jsonrpc: "internal",
            },
        ],
    };

    fn errors(body: bool) -> Value {
        let mut errors = json!({
            "400": { "$ref": "#/components/responses/kit.BadRequest" },
            "default": { "$ref": "#/components/responses/kit.Error" },
        });
        if body {
            errors["413"] = json!({ "$ref": "#/components/responses/kit.ContentTooLarge" });
        }
        errors
    }

    fn with(mut responses: Value, status: &str, success: Value) -> Value {
        responses[status] = success;
        responses
    }

    #[test]
    fn operations_have_their_parameters_bodies_and_answers() {
        let document = openapi(&SERVICE, "1.2.3");
        assert_eq!(
            document["info"],
            json!({ "title": "Items", "version": "1.2.3", "description": "Keeps items." })
        );
        assert_eq!(document["openapi"], "3.1.0");
        let reply = |schema: &str| {
            json!({
                "description": "The reply.",
                "content": { "application/json": { "schema": { "$ref": schema } } },
            })
        };
        assert_eq!(
            document["paths"],
            json!({
                "/items/{id}": {
                    "get": {
                        "operationId": "Get",
                        "description": "Reads an item.",
                        "parameters": [
                            {
                                "name": "id",
                                "in": "path",
                                "required": true,
                                "description": "Which item.",
                                "schema": {
                                    "type": "integer",
                                    "format": "uint64",
                                    "minimum": 0,
                                    "maximum": 18_446_744_073_709_551_615_u64,
                                },
                            },
                            {
                                "name": "maxDepth",
                                "in": "query",
                                "required": false,
                                "schema": {
                                    "type": "integer",
                                    "format": "int32",
                                    "minimum": -2_147_483_648,
                                    "maximum": 2_147_483_647,
                                },
                            },
                        ],
                        "responses": with(errors(false), "200", reply("#/components/schemas/Item")),
                    },
                    "put": {
                        "operationId": "Put",
                        "parameters": [{
                            "name": "id",
                            "in": "path",
                            "required": true,
                            "schema": {
                                "type": "integer",
                                "format": "uint64",
                                "minimum": 0,
                                "maximum": 18_446_744_073_709_551_615_u64,
                            },
                        }],
                        "requestBody": {
                            "required": true,
                            "content": { "application/json": { "schema": {
                                "type": "object",
                                "properties": {
                                    "ok": { "type": "boolean" },
                                    "score": { "type": ["number", "null"], "format": "double" },
                                },
                                "required": ["ok"],
                            } } },
                        },
                        "responses": with(
                            errors(true),
                            "204",
                            json!({ "description": "Done: no content." }),
                        ),
                    },
                },
                "/items": {
                    "post": {
                        "operationId": "Create",
                        "requestBody": {
                            "required": true,
                            "content": { "application/json": { "schema": {
                                "$ref": "#/components/schemas/Item",
                            } } },
                        },
                        "responses": with(errors(true), "201", reply("#/components/schemas/Reply")),
                    },
                },
            })
        );
    }

    #[test]
    fn every_message_is_a_schema_with_json_names_and_the_fields_json_requires() {
        let document = openapi(&SERVICE, "1");
        let schemas = &document["components"]["schemas"];
        let mut names: Vec<&String> = schemas.as_object().unwrap().keys().collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "Empty",
                "GetRequest",
                "Item",
                "PutRequest",
                "Reply",
                "kit.Error"
            ]
        );
        assert_eq!(
            schemas["Item"],
            json!({
                "type": "object",
                "description": "An item.",
                "properties": {
                    "id": {
                        "type": "integer",
                        "format": "uint64",
                        "minimum": 0,
                        "maximum": 18_446_744_073_709_551_615_u64,
                    },
                    "tags": {
                        "type": "array",
                        "items": { "type": "string" },
                        "description": "Its tags.",
                    },
                    "parent": {
                        "anyOf": [{ "$ref": "#/components/schemas/Item" }, { "type": "null" }],
                    },
                    "raw": {
                        "type": "array",
                        "items": { "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255 },
                    },
                },
                "required": ["id", "raw"],
            })
        );
        assert_eq!(
            schemas["GetRequest"]["properties"]["maxDepth"],
            json!({
                "type": ["integer", "null"],
                "format": "int32",
                "minimum": -2_147_483_648,
                "maximum": 2_147_483_647,
            })
        );
        assert_eq!(
            schemas["Reply"],
            json!({
                "type": "object",
                "properties": {
                    "n": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": i64::MIN,
                        "maximum": i64::MAX,
                    },
                    "err": { "type": "string" },
                },
                "required": ["n"],
            })
        );
        assert_eq!(
            schemas["Empty"],
            json!({ "type": "object", "properties": {} })
        );
    }

    #[test]
    fn errors_have_kits_error_body() {
        let document = openapi(&SERVICE, "1");
        let components = &document["components"];
        let codes: Vec<Value> = Code::ALL.iter().map(|c| json!(c.as_str())).collect();
        assert_eq!(codes.len(), 16);
        assert_eq!(codes[2], "INVALID_ARGUMENT");
        assert_eq!(
            components["schemas"]["kit.Error"],
            json!({
                "type": "object",
                "description": "An error answer.",
                "properties": {
                    "error": { "type": "string", "description": "What went wrong." },
                    "code": { "type": "string", "enum": codes, "description": "The error's code." },
                    "details": { "description": "Structured details, when the error has some." },
                },
                "required": ["error", "code"],
            })
        );
        let error_body = json!({ "application/json": { "schema": {
            "$ref": "#/components/schemas/kit.Error",
        } } });
        for name in ["kit.BadRequest", "kit.ContentTooLarge", "kit.Error"] {
            assert_eq!(
                components["responses"][name]["content"], error_body,
                "{name}"
            );
        }
        assert_eq!(
            components["responses"]["kit.ContentTooLarge"]["description"],
            "The request body is over the server's limit."
        );
    }

    #[test]
    #[should_panic(expected = "the route of Get takes maxDepth, which Reply does not have")]
    fn a_route_field_the_request_lacks_is_a_bug() {
        static BROKEN: ServiceDef = ServiceDef {
            package: "demo",
            name: "Broken",
            doc: "",
            methods: &[MethodDef {
                name: "Get",
                doc: "",
                request: reply,
                response: reply,
                http: Some(HttpDef {
                    method: "GET",
                    path: "/",
                    status: 200,
                    path_fields: &[],
                    query_fields: &["maxDepth"],
                    has_body: false,
                    response_body: true,
                }),
                jsonrpc: "get",
            }],
        };
        openapi(&BROKEN, "1");
    }
}
