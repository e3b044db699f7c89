//! The HTTP/JSON and JSON-RPC transports of a service.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::{Method, Segment, Service};
use crate::fields::Label;

/// `kit_http::json` or its Go-compatible `kit_http::json::go`.
fn json(service: &Service) -> TokenStream {
    if service.go {
        quote!(::kit_http::json::go)
    } else {
        quote!(::kit_http::json)
    }
}

/// The `http` module: the router serving a `Set` and the client making one.
pub(super) fn module(service: &Service) -> TokenStream {
    let (vis, nested) = (&service.vis, &service.nested_vis);
    let routes = service.methods.iter().map(|m| route(service, m));
    let clients = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let client = client(service, m);
        quote!(#ident: ::kit::Endpoint::boxed(#client),)
    });
    quote! {
        /// The service over HTTP/JSON.
        #vis mod http {
            #[allow(unused_imports)]
            use super::*;

            /// The routes of every method, serving `set`.
            #nested fn router<B>(set: &Set) -> ::kit_http::Router<B>
            where
                B: ::kit_http::__private::http_body::Body + ::core::marker::Send + 'static,
                B::Data: ::core::marker::Send,
                B::Error: ::core::convert::Into<::kit::BoxError>,
            {
                ::kit_http::Router::default()
                    #(#routes)*
            }

            /// The routes of every method, serving `set`, and the service's OpenAPI document
            /// ([`openapi`](super::openapi)) at `GET /openapi.json`.
            pub fn router_with_openapi<B>(set: &Set) -> ::kit_http::Router<B>
            where
                B: ::kit_http::__private::http_body::Body + ::core::marker::Send + 'static,
                B::Data: ::core::marker::Send,
                B::Error: ::core::convert::Into<::kit::BoxError>,
            {
                router(set).document("/openapi.json", &super::openapi())
            }

            /// A client of the service at `instance` (`host:port` or an `http://` URL, with a
            /// path prefix if the service is mounted under one), with a connection pool of its
            /// own.
            #nested fn client(instance: &str) -> ::core::result::Result<Set, ::kit::Error> {
                client_with_pool(instance, ::kit_http::Pool::new())
            }

            /// A client of the service at `instance`, sharing `pool`'s connections.
            #nested fn client_with_pool(
                instance: &str,
                pool: ::kit_http::Pool,
            ) -> ::core::result::Result<Set, ::kit::Error> {
                let target = ::kit_http::client::Target::parse(instance)?;
                ::core::result::Result::Ok(Set {
                    #(#clients)*
                })
            }
        }
    }
}

fn verb(method: &Method) -> TokenStream {
    let verb = syn::Ident::new(&method.route.verb, proc_macro2::Span::call_site());
    quote!(::kit_http::__private::http::Method::#verb)
}

fn route(service: &Service, method: &Method) -> TokenStream {
    let ident = &method.ident;
    let verb = verb(method);
    let path = &method.route.path;
    let decoder = decoder(service, method);
    let encoder = encoder(method);
    quote! {
        .route(#verb, #path, ::kit_http::Server::new(set.#ident.clone(), #decoder, #encoder))
    }
}

fn decoder(service: &Service, method: &Method) -> TokenStream {
    if let Some(path) = &method.http_decode {
        return quote!(#path);
    }
    let json = json(service);
    let request = &method.request;
    if method.body_is_request() {
        return quote!(#json::decode_request::<#request>);
    }
    let body_args: Vec<_> = method.body_args().collect();
    let body = (!body_args.is_empty()).then(|| {
        let fields = body_args.iter().map(|a| {
            let serde = a.serde_attrs();
            let ident = &a.ident;
            let ty = a.stored_ty();
            quote!(#serde #ident: #ty,)
        });
        quote! {
            #[derive(::kit::__private::serde::Deserialize)]
            #[serde(crate = "::kit::__private::serde")]
            struct Body {
                #(#fields)*
            }
            let body: Body = #json::decode_request(parts, body)?;
        }
    });
    let body_param = if body_args.is_empty() {
        quote!(_body)
    } else {
        quote!(body)
    };
    let fields = method.args.iter().map(|a| {
        let ident = &a.ident;
        let name = &a.json;
        if method.route.in_path(&a.ident) {
            let param = a.ident.to_string();
            quote!(#ident: ::kit_http::PathParams::of(parts).parse(#param)?)
        } else if method.route.has_body() {
            quote!(#ident: body.#ident)
        } else if a.kind.label == Label::Optional {
            quote!(#ident: ::kit_http::QueryParams::of(parts).parse_optional(#name)?)
        } else {
            quote!(#ident: ::kit_http::QueryParams::of(parts).parse(#name)?)
        }
    });
    quote! {
        |parts: &::kit_http::__private::http::request::Parts,
         #body_param: ::kit_http::__private::bytes::Bytes|
         -> ::core::result::Result<#request, ::kit::Error> {
            #body
            ::core::result::Result::Ok(#request { #(#fields),* })
        }
    }
}

fn encoder(method: &Method) -> TokenStream {
    if let Some(path) = &method.http_encode {
        return quote!(#path);
    }
    let reply = method.reply.ty();
    let status = method.route.status;
    if !method.route.response_body() {
        return quote! {
            |_ctx: &::kit::Context, _reply: #reply| {
                let mut response = ::kit_http::__private::http::Response::new(
                    <::kit_http::Body as ::core::default::Default>::default(),
                );
                *response.status_mut() = ::kit_http::__private::http::StatusCode::NO_CONTENT;
                ::core::result::Result::Ok(response)
            }
        };
    }
    if status == 200 {
        return quote!(::kit_http::json::encode_response);
    }
    quote! {
        |ctx: &::kit::Context, reply: #reply| {
            let mut response = ::kit_http::json::encode_response(ctx, reply)?;
            *response.status_mut() =
                ::kit_http::__private::http::StatusCode::from_u16(#status).unwrap_or_default();
            ::core::result::Result::Ok(response)
        }
    }
}

/// A client endpoint of one method, over `target` and `pool`.
fn client(service: &Service, method: &Method) -> TokenStream {
    let verb = verb(method);
    let json = json(service);
    let request = &method.request;
    let reply = method.reply.ty();
    let static_path = &method.route.path;
    let encoder = if method.body_is_request() {
        quote!(::kit_http::json::encode_request)
    } else {
        let segments = method.route.segments.iter().map(|s| match s {
            Segment::Literal(text) => quote!(url.push_str(#text);),
            Segment::Param(name) => {
                let ident = syn::Ident::new(name, proc_macro2::Span::call_site());
                quote!(url.push_str(&::kit_http::client::path_segment(&request.#ident));)
            }
        });
        let query = method.query_args().map(|a| {
            let ident = &a.ident;
            let name = &a.json;
            if a.kind.label == Label::Optional {
                quote! {
                    if let ::core::option::Option::Some(value) = &request.#ident {
                        ::kit_http::client::push_query(&mut url, #name, value);
                    }
                }
            } else {
                quote!(::kit_http::client::push_query(&mut url, #name, &request.#ident);)
            }
        });
        let body_args: Vec<_> = method.body_args().collect();
        let body = if body_args.is_empty() {
            quote!(::core::result::Result::Ok(
                ::kit_http::__private::bytes::Bytes::new()
            ))
        } else {
            let fields = body_args.iter().map(|a| {
                let serde = a.serde_attrs();
                let ident = &a.ident;
                let ty = a.stored_ty();
                quote!(#serde #ident: &'a #ty,)
            });
            let values = body_args.iter().map(|a| {
                let ident = &a.ident;
                quote!(#ident: &request.#ident)
            });
            quote! {
                #[derive(::kit::__private::serde::Serialize)]
                #[serde(crate = "::kit::__private::serde")]
                struct Body<'a> {
                    #(#fields)*
                }
                ::kit_http::json::encode_request(Body { #(#values),* }, parts)
            }
        };
        quote! {
            {
                let target = target.clone();
                move |request: #request, parts: &mut ::kit_http::__private::http::request::Parts| {
                    let mut url = ::std::string::String::new();
                    #(#segments)*
                    #(#query)*
                    parts.uri = target.uri(&url)?;
                    #body
                }
            }
        }
    };
    let decoder = if method.route.response_body() {
        quote!(#json::decode_response::<#reply>)
    } else {
        quote! {
            |_parts: ::kit_http::__private::http::response::Parts,
             _body: ::kit_http::__private::bytes::Bytes| {
                ::core::result::Result::Ok(<#reply as ::core::default::Default>::default())
            }
        }
    };
    let idempotent = method.idempotent.then(|| quote!(.idempotent(true)));
    quote! {
        ::kit_http::Client::new(#verb, target.uri(#static_path)?, #encoder, #decoder)
            .pool(pool.clone())
            #idempotent
    }
}

/// The `jsonrpc` module: the method table serving a `Set` and the client making one.
pub(super) fn jsonrpc_module(service: &Service) -> TokenStream {
    let (vis, nested) = (&service.vis, &service.nested_vis);
    let codec = if service.go {
        quote!(::kit_http::jsonrpc::go)
    } else {
        quote!(::kit_http::jsonrpc)
    };
    let methods = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let name = &m.jsonrpc;
        let request = &m.request;
        quote! {
            .method(#name, set.#ident.clone(), #codec::decode_params::<#request>, ::kit_http::jsonrpc::encode_result)
        }
    });
    let clients = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let name = &m.jsonrpc;
        let request = &m.request;
        let reply = m.reply.ty();
        quote! {
            #ident: ::kit::Endpoint::boxed(
                ::kit_http::jsonrpc::Client::new(
                    url.clone(),
                    #name,
                    ::kit_http::jsonrpc::encode_params::<#request>,
                    #codec::decode_result::<#reply>,
                )
                .pool(pool.clone()),
            ),
        }
    });
    quote! {
        /// The service over JSON-RPC 2.0.
        #vis mod jsonrpc {
            #[allow(unused_imports)]
            use super::*;

            /// The JSON-RPC methods of the service, serving `set`.
            #nested fn methods(set: &Set) -> ::kit_http::jsonrpc::Methods {
                ::kit_http::jsonrpc::Methods::new()
                    #(#methods)*
            }

            /// A JSON-RPC server of `set` (it answers on any path).
            #nested fn server(set: &Set) -> ::kit_http::Server<::kit_http::jsonrpc::Methods> {
                ::kit_http::Server::jsonrpc(methods(set))
            }

            /// A client of the service at `instance`: an `http://` URL, or `host:port`, which
            /// posts to `/rpc` (where Go kit's JSON-RPC clients post).
            #nested fn client(instance: &str) -> ::core::result::Result<Set, ::kit::Error> {
                let target = ::kit_http::client::Target::parse(instance)?;
                let url = target.uri(if target.has_path() { "" } else { "/rpc" })?;
                let pool = ::kit_http::Pool::new();
                ::core::result::Result::Ok(Set {
                    #(#clients)*
                })
            }
        }
    }
}
