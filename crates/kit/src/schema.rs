//! Descriptions of a service's messages and methods, and the `.proto` file and OpenAPI
//! document made from them.
//!
//! `#[kit::service]` and `#[kit::message]` describe every type they generate or derive as
//! static data ([`MessageDef`], [`ServiceDef`]); this module renders that data, so a service
//! can hand its `.proto` ([`proto_file`]) and the OpenAPI 3.1 document of its HTTP/JSON
//! routes ([`openapi`]) to teams in other languages, who generate clients from them, without
//! anyone writing either by hand. The descriptions are plain data: hand-written services can
//! describe themselves the same way.
//!
//! ```
//! use kit::schema::{proto_file, FieldDef, FieldType, Label, MessageDef, MethodDef, ServiceDef};
//!
//! static PING: MessageDef = MessageDef {
//!     name: "Ping",
//!     doc: "",
//!     fields: &[FieldDef {
//!         name: "text",
//!         json_name: "text",
//!         tag: 1,
//!         ty: FieldType::String,
//!         label: Label::Single,
//!         omit_empty: false,
//!         doc: "",
//!     }],
//! };
//! static ECHO: ServiceDef = ServiceDef {
//!     package: "demo",
//!     name: "Echo",
//!     doc: "",
//!     methods: &[MethodDef {
//!         name: "Echo",
//!         doc: "Answers what it was sent.",
//!         request: ping,
//!         response: ping,
//!         http: None,
//!         jsonrpc: "echo",
//!     }],
//! };
//! fn ping() -> &'static MessageDef {
//!     &PING
//! }
//! let proto = proto_file(&ECHO);
//! assert!(proto.contains("service Echo {\n  // Answers what it was sent.\n  rpc Echo (Ping) returns (Ping);\n}"));
//! assert!(proto.contains("message Ping {\n  string text = 1;\n}"));
//! ```

mod openapi;

use std::fmt::Write;

pub use openapi::openapi;

/// A message type: a request, a reply, or a type they contain.
#[derive(Debug)]
pub struct MessageDef {
    /// Its name in the `.proto` (and in OpenAPI's components).
    pub name: &'static str,
    /// Its documentation, from its doc comments.
    pub doc: &'static str,
    /// Its fields, in declaration order.
    pub fields: &'static [FieldDef],
}

/// One field of a [`MessageDef`].
#[derive(Debug)]
pub struct FieldDef {
    /// Its name in the `.proto`.
    pub name: &'static str,
    /// Its name in JSON bodies.
    pub json_name: &'static str,
    /// Its protobuf field number.
    pub tag: u32,
    /// What it holds.
    pub ty: FieldType,
    /// Whether it holds one value, maybe one, or a list.
    pub label: Label,
    /// Whether JSON leaves the field out when it is empty (its type's default) and reads an
    /// absent field as empty, as Go's `omitempty` does: the business-error field of Go
    /// kit-style replies (`err`) is such a field.
    pub omit_empty: bool,
    /// Its documentation.
    pub doc: &'static str,
}

/// How many values a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// One value (`T`).
    Single,
    /// One value or none (`Option<T>`): proto3 `optional`.
    Optional,
    /// A list (`Vec<T>`): `repeated`.
    Repeated,
}

/// The type of a field's values.
#[derive(Debug, Clone, Copy)]
pub enum FieldType {
    /// `bool`.
    Bool,
    /// `i32`: `int32`.
    Int32,
    /// `i64`: `int64`.
    Int64,
    /// `u32`: `uint32`.
    Uint32,
    /// `u64`: `uint64`.
    Uint64,
    /// `f32`: `float`.
    Float,
    /// `f64`: `double`.
    Double,
    /// `String`: `string`.
    String,
    /// `Vec<u8>`: `bytes`.
    Bytes,
    /// Another message, described by the function.
    Message(fn() -> &'static MessageDef),
}

impl FieldType {
    /// The type's name in a `.proto`.
    pub fn proto_name(&self) -> &'static str {
        match self {
            FieldType::Bool => "bool",
            FieldType::Int32 => "int32",
            FieldType::Int64 => "int64",
            FieldType::Uint32 => "uint32",
            FieldType::Uint64 => "uint64",
            FieldType::Float => "float",
            FieldType::Double => "double",
            FieldType::String => "string",
            FieldType::Bytes => "bytes",
            FieldType::Message(def) => def().name,
        }
    }
}

/// A service: its methods and where they are served.
#[derive(Debug)]
pub struct ServiceDef {
    /// The protobuf package (`pb`), the first half of gRPC method paths.
    pub package: &'static str,
    /// The service's name (`Add`).
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// Its methods, in declaration order.
    pub methods: &'static [MethodDef],
}

/// One method of a [`ServiceDef`].
#[derive(Debug)]
pub struct MethodDef {
    /// Its name in the `.proto` and in gRPC paths (`Sum`).
    pub name: &'static str,
    /// Its documentation.
    pub doc: &'static str,
    /// The request message.
    pub request: fn() -> &'static MessageDef,
    /// The reply message.
    pub response: fn() -> &'static MessageDef,
    /// Its HTTP route, if it is served over HTTP/JSON.
    pub http: Option<HttpDef>,
    /// Its JSON-RPC method name.
    pub jsonrpc: &'static str,
}

/// Where a method is served over HTTP/JSON.
#[derive(Debug)]
pub struct HttpDef {
    /// The method (`POST`).
    pub method: &'static str,
    /// The path, with `{name}` parameters (`/notes/{id}`).
    pub path: &'static str,
    /// The status of a success.
    pub status: u16,
    /// The request fields taken from the path.
    pub path_fields: &'static [&'static str],
    /// The request fields taken from the query string.
    pub query_fields: &'static [&'static str],
    /// Whether the request fields not in the path or query come in a JSON body.
    pub has_body: bool,
    /// Whether a success has a body (a `204` has none).
    pub response_body: bool,
}

/// The `.proto` file (proto3) of `service`: the service, then every message it uses, each
/// once, in the order they are first met.
pub fn proto_file(service: &ServiceDef) -> String {
    let mut out = String::from("syntax = \"proto3\";\n\n");
    let _ = writeln!(out, "package {};\n", service.package);
    comment(&mut out, "", service.doc);
    let _ = writeln!(out, "service {} {{", service.name);
    for method in service.methods {
        comment(&mut out, "  ", method.doc);
        let _ = writeln!(
            out,
            "  rpc {} ({}) returns ({});",
            method.name,
            (method.request)().name,
            (method.response)().name
        );
    }
    out.push_str("}\n");
    for message in messages(service) {
        out.push('\n');
        comment(&mut out, "", message.doc);
        let _ = writeln!(out, "message {} {{", message.name);
        for field in message.fields {
            comment(&mut out, "  ", field.doc);
            let label = match (field.label, field.ty) {
                (Label::Repeated, _) => "repeated ",
                // A message field always tells presence; `optional` is for scalars only.
                (Label::Single, _) | (Label::Optional, FieldType::Message(_)) => "",
                (Label::Optional, _) => "optional ",
            };
            let _ = writeln!(
                out,
                "  {label}{} {} = {};",
                field.ty.proto_name(),
                field.name,
                field.tag
            );
        }
        out.push_str("}\n");
    }
    out
}

/// Every message `service` uses, each once, in the order they are first met (requests and
/// replies in method order, each followed by the messages its fields hold).
pub fn messages(service: &ServiceDef) -> Vec<&'static MessageDef> {
    fn visit(message: &'static MessageDef, seen: &mut Vec<&'static MessageDef>) {
        if seen.iter().any(|m| m.name == message.name) {
            return;
        }
        seen.push(message);
        for field in message.fields {
            if let FieldType::Message(def) = field.ty {
                visit(def(), seen);
            }
        }
    }
    let mut seen = Vec::new();
    for method in service.methods {
        visit((method.request)(), &mut seen);
        visit((method.response)(), &mut seen);
    }
    seen
}

fn comment(out: &mut String, indent: &str, doc: &str) {
    for line in doc.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}//");
        } else {
            let _ = writeln!(out, "{indent}// {}", line.trim_start());
        }
    }
}

/// A type that describes itself as a message: what `#[kit::message]` implements, and what a
/// type must implement to be a method's argument or reply in a `#[kit::service]`.
pub trait Message {
    /// The description.
    fn message_def() -> &'static MessageDef;
}

#[cfg(test)]
mod tests {
    use super::*;

    static INNER: MessageDef = MessageDef {
        name: "Inner",
        doc: "An inner message.\n\nTwo paragraphs.",
        fields: &[FieldDef {
            name: "n",
            json_name: "n",
            tag: 1,
            ty: FieldType::Uint64,
            label: Label::Optional,
            omit_empty: false,
            doc: "",
        }],
    };

    fn inner() -> &'static MessageDef {
        &INNER
    }

    fn outer() -> &'static MessageDef {
        &OUTER
    }

    static OUTER: MessageDef = MessageDef {
        name: "Outer",
        doc: "",
        fields: &[
            FieldDef {
                name: "items",
                json_name: "items",
                tag: 1,
                ty: FieldType::Message(inner),
                label: Label::Repeated,
                omit_empty: false,
                doc: "The items.",
            },
            FieldDef {
                name: "one",
                json_name: "One",
                tag: 3,
                ty: FieldType::Message(inner),
                label: Label::Optional,
                omit_empty: false,
                doc: "",
            },
            FieldDef {
                name: "raw",
                json_name: "raw",
                tag: 4,
                ty: FieldType::Bytes,
                label: Label::Single,
                omit_empty: false,
                doc: "",
            },
        ],
    };

    static SERVICE: ServiceDef = ServiceDef {
        package: "demo.v1",
        name: "Demo",
        doc: "The demo service.",
        methods: &[
            MethodDef {
                name: "Get",
                doc: "",
                request: inner,
                response: outer,
                http: None,
                jsonrpc: "get",
            },
            MethodDef {
                name: "Put",
                doc: "",
                request: outer,
                response: inner,
                http: None,
                jsonrpc: "put",
            },
        ],
    };

    #[test]
    fn a_service_renders_as_a_proto3_file_with_each_message_once() {
        assert_eq!(
            proto_file(&SERVICE),
            "syntax = \"proto3\";\n\npackage demo.v1;\n\n// The demo service.\nservice Demo {\n  \
             rpc Get (Inner) returns (Outer);\n  rpc Put (Outer) returns (Inner);\n}\n\n\
             // An inner message.\n//\n// Two paragraphs.\nmessage Inner {\n  optional uint64 n = 1;\n}\n\n\
             message Outer {\n  // The items.\n  repeated Inner items = 1;\n  Inner one = 3;\n  bytes raw = 4;\n}\n"
        );
    }

    #[test]
    fn messages_are_listed_in_the_order_first_met() {
        let names: Vec<_> = messages(&SERVICE).iter().map(|m| m.name).collect();
        assert_eq!(names, ["Inner", "Outer"]);
    }
}
