//! # kit-macros
//!
//! The attribute macros of kit, used through the `kit` crate: `#[kit::service]` turns a
//! Rust trait into a service every kit transport can serve and call, and `#[kit::message]`
//! makes a struct a message of every transport. Their documentation, with what each
//! attribute generates, is on their re-exports in `kit`.

mod fields;
mod message;
mod service;

use proc_macro::TokenStream;
use quote::ToTokens;

/// A trait as a service of every kit transport: one Rust trait in; messages, endpoints,
/// servers and typed clients for HTTP/JSON, JSON-RPC and gRPC, its `.proto` and its
/// description out.
///
/// # The trait
///
/// ```ignore
/// use kit::{Context, Error};
///
/// /// A note store.
/// #[kit::service(http, jsonrpc, grpc, package = "notes.v1")]
/// pub trait Notes {
///     /// Adds a note.
///     #[kit(http = "POST /notes", status = 201)]
///     async fn create(&self, ctx: &Context, title: String, body: String) -> Result<Note, Error>;
///     /// One note.
///     #[kit(http = "GET /notes/{id}")]
///     async fn get(&self, ctx: &Context, id: u64) -> Result<Note, Error>;
///     /// Every note.
///     #[kit(http = "GET /notes", field = "notes")]
///     async fn list(&self, ctx: &Context) -> Result<Vec<Note>, Error>;
///     /// Removes a note.
///     #[kit(http = "DELETE /notes/{id}")]
///     async fn delete(&self, ctx: &Context, id: u64) -> Result<(), Error>;
/// }
///
/// /// A note (a message of every transport).
/// #[kit::message]
/// pub struct Note {
///     pub id: u64,
///     pub title: String,
///     pub body: String,
/// }
/// ```
///
/// Every method is an `async fn` taking `&self`, then the call's context (`ctx: &Context`),
/// then its arguments, and returning `Result<T, kit::Error>`. Arguments and results are
/// `bool`, `i32`, `i64`, `u32`, `u64`, `f32`, `f64`, `String`, `Vec<u8>` (bytes), a
/// [`#[kit::message]`](macro@message) type, or an `Option` or `Vec` of those (`()` for
/// nothing). Anything else is refused at compile time with a message that says what to
/// use instead (`crates/kit-macros/tests/ui` holds each case). The trait is emitted with each
/// method returning a `Send` future, so an implementation writes plain `async fn`s.
///
/// # What it generates
///
/// Next to the trait, a module named after it in snake case (`notes`; `module = ".."`
/// renames it) holds:
///
/// | item | what it is |
/// |---|---|
/// | `CreateEndpoint<S>`, ... | one endpoint type per method, calling an implementation `S` of the trait |
/// | `CreateRequest { title, body }`, ... | one request message per method: its arguments as fields, serde for JSON and prost for protobuf, field numbers in order |
/// | `DeleteResponse`, `ListResponse { notes }` | a reply message for a method returning `()` (no field) or a value that is not a message (the value in the field `v`, or `field = ".."`); a method returning a message answers that message itself |
/// | `Set` | the endpoints, one `kit::BoxEndpoint` per method; `Set::new(implementation)` calls an implementation, `Set::with_middleware(implementation, \|method\| chain()..)` does so behind middleware made for each method's name (each endpoint boxed once), `Set::layer(\|method\| chain()..)` wraps the endpoints of any set (a client's too), and `Set` implements the trait, so a remote client and a local implementation look the same to callers |
/// | `http::router(&set)` | a `kit_http::Router` with a route per method (`http::router_with_openapi(&set)` adds `GET /openapi.json`), plus `http::client(addr)` / `client_with_pool`, a `Set` calling a remote service over HTTP/JSON |
/// | `jsonrpc::methods(&set)`, `jsonrpc::server(&set)`, `jsonrpc::client(addr)` | the JSON-RPC 2.0 method table, a server of it, and a client `Set` |
/// | `grpc::server(&set)`, `grpc::client(channel)`, `grpc::connect_lazy(addr)`, `grpc::connect_lazy_tls(addr, &tls)` (kit-grpc's `tls` feature) | a tonic service (`package.Service/Method`, no `.proto` needed) to add to tonic's routes, and client `Set`s |
/// | `grpc::SERVICE_NAME`, `grpc::file_descriptor_set()` | the full service name for health checks, and the descriptors for reflection and request checks |
/// | `SERVICE`, `proto()`, `openapi()` | the service's `kit::schema::ServiceDef`, its `.proto` text, and (with `http`) its OpenAPI 3.1 document |
///
/// # HTTP routes
///
/// A method is `POST /<method name>` with its arguments as a JSON object body unless
/// `#[kit(http = "VERB /path/{arg}")]` says otherwise. Path parameters name arguments (they
/// hold one scalar each); the other arguments of `GET` and `DELETE` come from the query
/// string (scalars and `Option`s of scalars; an absent `Option` is `None`), those of `POST`,
/// `PUT` and `PATCH` from the JSON body. A success is `200` with the reply as JSON, `204`
/// with no body for a method returning `()`, or the status of `#[kit(status = 201)]`.
/// Errors are kit-http's: the status of the error's code and a JSON `{"error", "code"}`
/// body; a path parameter or query parameter that does not parse is a `400` naming it.
/// A route keeps a hand-written decoder or encoder with `#[kit(http_decode = path)]` or
/// `#[kit(http_encode = path)]`, and the generated router takes hand-written routes like any
/// `kit_http::Router`.
///
/// # Options
///
/// On the trait: the transports (`http`, `jsonrpc`, `grpc`; `http` if none is named), `go`
/// (decode JSON keys case-insensitively, as Go's encoding/json does), `package = ".."` and
/// `name = ".."` (the protobuf package and service name; the snake-case and the trait's name
/// by default), `reply_suffix = ".."` (`Response` by default; Go kit's addsvc uses `Reply`),
/// `err_field = ".."` (Go kit's convention: over gRPC, a business error, `InvalidArgument`,
/// travels in this string field of the reply with status OK; the client reads it back as
/// the same error). On a method: `http`, `status`, `jsonrpc = ".."` (the JSON-RPC method
/// name; the Rust name by default), `grpc = ".."` (the gRPC method name; the Rust name in
/// PascalCase by default), `field = ".."`, `idempotent` (clients may retry the call after
/// it may have run; see `kit::error::may_retry`), `http_decode`, `http_encode`. On an
/// argument or a message field: `rename = ".."` (its JSON name) and `tag = N` (its field
/// number; the following ones count on from it).
///
/// The generated code names only `kit`, `kit_http` (for `http` and `jsonrpc`) and
/// `kit_grpc` (for `grpc`): a service depends on those crates and nothing else for it.
/// `crates/kit-http/tests/it/service_macro.rs`, `crates/kit-grpc/tests/it/service_macro.rs`
/// and `examples/addsvc` exercise all of the above over real sockets.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemTrait);
    match service::expand(attr.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(err) => with_item(err, strip_trait(item)),
    }
}

/// A struct as a message of every kit transport: serde's `Serialize` and `Deserialize` for
/// JSON, prost's `Message` for protobuf (field numbers in declaration order; `#[kit(tag = N)]`
/// sets one, and the following fields count on from it), `Clone`, `PartialEq`, `Debug` and
/// `Default`, and its description (`kit::schema::Message`) for the `.proto`.
///
/// ```ignore
/// #[kit::message]
/// pub struct Note {
///     pub id: u64,
///     #[kit(rename = "Title")]
///     pub title: String,
///     pub tags: Vec<String>,
///     pub author: Option<Person>,
/// }
/// ```
///
/// Fields are the types [`service`](macro@service) lists; a field holding another message is
/// an `Option` or a `Vec` of it (protobuf messages may be absent).
#[proc_macro_attribute]
pub fn message(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemStruct);
    match message::expand(attr.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(err) => with_item(err, strip_struct(item)),
    }
}

/// The error, and the item as written (without kit's own attributes), so that the code
/// that uses the item still compiles and the error is the only one reported.
fn with_item(err: syn::Error, item: impl ToTokens) -> TokenStream {
    let mut out = err.into_compile_error();
    item.to_tokens(&mut out);
    out.into()
}

fn is_kit(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("kit")
}

fn strip_trait(mut item: syn::ItemTrait) -> syn::ItemTrait {
    for trait_item in &mut item.items {
        if let syn::TraitItem::Fn(function) = trait_item {
            function.attrs.retain(|a| !is_kit(a));
            for input in &mut function.sig.inputs {
                if let syn::FnArg::Typed(arg) = input {
                    arg.attrs.retain(|a| !is_kit(a));
                }
            }
        }
    }
    item
}

fn strip_struct(mut item: syn::ItemStruct) -> syn::ItemStruct {
    for field in &mut item.fields {
        field.attrs.retain(|a| !is_kit(a));
    }
    item
}
