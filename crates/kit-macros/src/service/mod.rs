//! `#[kit::service]`: a trait in; messages, endpoints, servers and clients out.

mod grpc;
mod http;
mod parse;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemTrait, Result, TraitItem};

use crate::fields::{Field, message_derives};
use crate::message::message_def;
use parse::{Method, Reply, Service};

/// Expands `#[kit::service]` on `item`.
pub(crate) fn expand(attr: TokenStream, mut item: ItemTrait) -> Result<TokenStream> {
    let service = parse::parse(attr, &mut item)?;
    let trait_item = rewrite_trait(item.clone());
    let trait_ident = &item.ident;
    let vis = &item.vis;
    let module = &service.module;
    let messages = service.methods.iter().map(|m| messages(&service, m));
    let set = set(&service, trait_ident);
    let def = service_def(&service);
    let http = service.http.then(|| http::module(&service));
    let jsonrpc = service.jsonrpc.then(|| http::jsonrpc_module(&service));
    let grpc = service.grpc.then(|| grpc::module(&service));
    let module_doc = format!(
        "What `#[kit::service]` generated for [`{trait_ident}`]: its messages, the [`Set`] of \
         its endpoints, its transports and its description."
    );
    Ok(quote! {
        #trait_item

        #[doc = #module_doc]
        #vis mod #module {
            #[allow(unused_imports)]
            use super::*;

            #(#messages)*
            #set
            #def
            #http
            #jsonrpc
            #grpc
        }
    })
}

/// The trait with every `async fn` written as a method returning a `Send` future, so that
/// generic code (servers, middleware) can run it on any thread.
fn rewrite_trait(mut item: ItemTrait) -> TokenStream {
    for trait_item in &mut item.items {
        if let TraitItem::Fn(function) = trait_item {
            let sig = &mut function.sig;
            sig.asyncness = None;
            let output = match &sig.output {
                syn::ReturnType::Type(_, ty) => ty.clone(),
                syn::ReturnType::Default => unreachable!("checked by parse"),
            };
            sig.output = syn::parse_quote! {
                -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
            };
        }
    }
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Send));
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Sync));
    item.supertraits.push(syn::parse_quote!('static));
    if item.colon_token.is_none() {
        item.colon_token = Some(Default::default());
    }
    quote!(#item)
}

/// The request message of a method and its reply message if the macro writes it.
fn messages(service: &Service, method: &Method) -> TokenStream {
    let vis = &service.vis;
    let derives = message_derives();
    let request = &method.request;
    let request_doc = format!("The request of `{}`.", method.ident);
    let fields = method.args.iter().map(|f| {
        let attrs = f.attrs();
        let ident = &f.ident;
        let ty = f.stored_ty();
        let doc = format!("The `{ident}` argument of `{}`.", method.ident);
        quote!(#[doc = #doc] #attrs #vis #ident: #ty,)
    });
    let request_def = message_def(&request.to_string(), "", &method.args);
    let reply = match &method.reply {
        Reply::Message(_) => quote!(),
        Reply::Unit(ident) => reply_message(service, method, ident, None),
        Reply::Wrapped(ident, field) => reply_message(service, method, ident, Some(field)),
    };
    quote! {
        #[doc = #request_doc]
        #derives
        #vis struct #request {
            #(#fields)*
        }

        impl ::kit::schema::Message for #request {
            fn message_def() -> &'static ::kit::schema::MessageDef {
                #request_def
            }
        }

        #reply
    }
}

/// A reply message the macro writes: the value's field (none for `()`), then the business
/// error's if the service carries them in replies.
fn reply_message(
    service: &Service,
    method: &Method,
    ident: &syn::Ident,
    value: Option<&Field>,
) -> TokenStream {
    let vis = &service.vis;
    let derives = message_derives();
    let doc = format!("The reply of `{}`.", method.ident);
    let mut fields: Vec<Field> = value.cloned().into_iter().collect();
    let value_field = value.map(|f| {
        let attrs = f.attrs();
        let ident = &f.ident;
        let ty = f.stored_ty();
        let doc = format!("What `{}` returned.", method.ident);
        quote!(#[doc = #doc] #attrs #vis #ident: #ty,)
    });
    let err_field = service.err_field.as_ref().map(|name| {
        let field = err_field(name, fields.len() as u32 + 1);
        let ident = &field.ident;
        let attrs = field.attrs();
        let doc = &field.doc;
        let tokens = quote! {
            #[doc = #doc]
            #attrs
            #vis #ident: ::std::string::String,
        };
        fields.push(field);
        tokens
    });
    let def = message_def(&ident.to_string(), "", &fields);
    quote! {
        #[doc = #doc]
        #derives
        #vis struct #ident {
            #value_field
            #err_field
        }

        impl ::kit::schema::Message for #ident {
            fn message_def() -> &'static ::kit::schema::MessageDef {
                #def
            }
        }
    }
}

/// The field that carries a business error in a reply.
pub(crate) fn err_field(name: &str, tag: u32) -> Field {
    let span = proc_macro2::Span::call_site();
    let ty: syn::Type = syn::parse_quote!(String);
    Field {
        ident: syn::Ident::new(name, span),
        kind: crate::fields::classify(&ty).expect("String is a scalar"),
        ty,
        json: name.to_owned(),
        tag,
        omit_empty: true,
        doc: "A business error, empty on success.".to_owned(),
        span,
    }
}

/// The `Set`: one endpoint per method, made from an implementation or a transport's client,
/// with middleware applied to all at once, and the trait implemented over them.
fn set(service: &Service, trait_ident: &syn::Ident) -> TokenStream {
    let vis = &service.vis;
    let fields = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let request = &m.request;
        let reply = m.reply.ty();
        let doc = format!("The endpoint of `{}`.", m.ident);
        quote! {
            #[doc = #doc]
            #vis #ident: ::kit::BoxEndpoint<#request, #reply>,
        }
    });
    let endpoint_structs = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let request = &m.request;
        let reply = m.reply.ty();
        let endpoint = endpoint_ident(m);
        let args = m.args.iter().map(|arg| {
            let field = &arg.ident;
            if arg.kind.is_required_message() {
                let message = format!("missing field `{}`", arg.json);
                quote!(request.#field.ok_or_else(|| ::kit::Error::invalid_argument(#message))?)
            } else {
                quote!(request.#field)
            }
        });
        let call = quote!(self.0.#ident(&ctx, #(#args),*).await);
        let answer = match &m.reply {
            Reply::Message(_) => call,
            Reply::Unit(reply) => quote! {
                #call?;
                ::core::result::Result::Ok(<#reply as ::core::default::Default>::default())
            },
            Reply::Wrapped(reply, field) => {
                let field = &field.ident;
                let rest = service
                    .err_field
                    .is_some()
                    .then(|| quote!(..::core::default::Default::default()));
                quote!(::core::result::Result::Ok(#reply { #field: #call?, #rest }))
            }
        };
        let doc = format!("The endpoint of `{ident}` calling an implementation of the trait.");
        quote! {
            #[doc = #doc]
            #vis struct #endpoint<S>(::std::sync::Arc<S>);

            impl<S: super::#trait_ident> ::kit::Endpoint<#request> for #endpoint<S> {
                type Response = #reply;

                fn call(
                    &self,
                    ctx: ::kit::Context,
                    request: #request,
                ) -> impl ::core::future::Future<Output = ::core::result::Result<#reply, ::kit::Error>>
                       + ::core::marker::Send {
                    async move { #answer }
                }
            }
        }
    });
    let endpoints = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let endpoint = endpoint_ident(m);
        let name = &m.pascal;
        quote! {
            #ident: ::kit::Endpoint::boxed(
                ::kit::middleware::Layer::layer(&middleware(#name), #endpoint(service.clone())),
            ),
        }
    });
    let impl_bounds = service.methods.iter().map(|m| {
        let request = &m.request;
        let reply = m.reply.ty();
        let endpoint = endpoint_ident(m);
        quote! {
            L: ::kit::middleware::Layer<#endpoint<S>>,
            <L as ::kit::middleware::Layer<#endpoint<S>>>::Service:
                ::kit::Endpoint<#request, Response = #reply>,
        }
    });
    let bounds = service.methods.iter().map(|m| {
        let request = &m.request;
        let reply = m.reply.ty();
        quote! {
            L: ::kit::middleware::Layer<::kit::BoxEndpoint<#request, #reply>>,
            <L as ::kit::middleware::Layer<::kit::BoxEndpoint<#request, #reply>>>::Service:
                ::kit::Endpoint<#request, Response = #reply>,
        }
    });
    let layered = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let name = &m.pascal;
        quote! {
            #ident: ::kit::Endpoint::boxed(::kit::middleware::Layer::layer(&layer(#name), self.#ident)),
        }
    });
    let from_endpoint = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let request = &m.request;
        let reply = m.reply.ty();
        quote! {
            #ident: ::kit::BoxEndpoint::<#request, #reply>::new(endpoint.clone()),
        }
    });
    let endpoint_bounds: Vec<_> = service
        .methods
        .iter()
        .map(|m| {
            let request = &m.request;
            let reply = m.reply.ty();
            quote!(::kit::Endpoint<#request, Response = #reply>)
        })
        .collect();
    let endpoint_impls = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let request = &m.request;
        let reply = m.reply.ty();
        quote! {
            impl ::kit::Endpoint<#request> for Set {
                type Response = #reply;

                fn call(
                    &self,
                    ctx: ::kit::Context,
                    request: #request,
                ) -> impl ::core::future::Future<Output = ::core::result::Result<#reply, ::kit::Error>>
                       + ::core::marker::Send {
                    ::kit::Endpoint::call(&self.#ident, ctx, request)
                }
            }
        }
    });
    let impls = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let request = &m.request;
        let ctx_ty = &m.ctx_ty;
        let ret = &m.ret_ty;
        let params = m.args.iter().map(|a| {
            let ident = &a.ident;
            let ty = &a.ty;
            quote!(#ident: #ty)
        });
        let fields = m.args.iter().map(|a| {
            let ident = &a.ident;
            if a.kind.is_required_message() {
                quote!(#ident: ::core::option::Option::Some(#ident))
            } else {
                quote!(#ident)
            }
        });
        let answer = match &m.reply {
            Reply::Message(_) => quote!(call.await),
            Reply::Unit(_) => quote!(call.await.map(|_| ())),
            Reply::Wrapped(_, field) => {
                let field = &field.ident;
                quote!(call.await.map(|reply| reply.#field))
            }
        };
        quote! {
            fn #ident(&self, ctx: #ctx_ty, #(#params),*)
                -> impl ::core::future::Future<Output = #ret> + ::core::marker::Send
            {
                let call = ::kit::Endpoint::call(&self.#ident, ctx.clone(), #request { #(#fields),* });
                async move { #answer }
            }
        }
    });
    let set_doc = format!(
        "The endpoints of [`{trait_ident}`](super::{trait_ident}), one per method. A `Set` made \
         from an implementation ([`Set::new`]) is what servers serve; one made by a transport's \
         `client` calls a remote service. Either way it implements the trait, so a caller cannot \
         tell them apart, and [`Set::layer`] wraps every endpoint in middleware."
    );
    quote! {
        #[doc = #set_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct Set {
            #(#fields)*
        }

        #(#endpoint_structs)*

        impl Set {
            /// The endpoints of `service`: each calls its method.
            #vis fn new<S: super::#trait_ident>(service: S) -> Set {
                Set::with_middleware(service, |_| ::kit::middleware::chain())
            }

            /// The endpoints of `service`, each in the middleware `middleware` makes for it
            /// from the method's name (`Sum`), e.g.
            /// `Set::with_middleware(service, |method| kit::middleware::chain().logging(method))`.
            /// Unlike [`Set::layer`] on a made set, each endpoint is boxed once, with its
            /// middleware.
            #vis fn with_middleware<S: super::#trait_ident, L>(
                service: S,
                middleware: impl Fn(&'static str) -> L,
            ) -> Set
            where
                #(#impl_bounds)*
            {
                let service = ::std::sync::Arc::new(service);
                Set {
                    #(#endpoints)*
                }
            }

            /// A set whose every method calls `endpoint`, an endpoint of every method's
            /// request: a load balancer over sets (a `Set` is an endpoint of each of its
            /// requests), with its retries, e.g.
            /// `Set::from_endpoint(chain().retry(policy).endpoint(kit::sd::Balanced::new(..)))`.
            #vis fn from_endpoint<E>(endpoint: E) -> Set
            where
                E: #(#endpoint_bounds)+* + ::core::clone::Clone,
            {
                Set {
                    #(#from_endpoint)*
                }
            }

            /// Wraps every endpoint in the middleware `layer` makes for it from the method's
            /// name (`Sum`), e.g. `set.layer(|method| kit::middleware::chain().logging(method))`.
            #vis fn layer<L>(self, layer: impl Fn(&'static str) -> L) -> Set
            where
                #(#bounds)*
            {
                Set {
                    #(#layered)*
                }
            }
        }

        impl super::#trait_ident for Set {
            #(#impls)*
        }

        #(#endpoint_impls)*
    }
}

/// `SERVICE`, the service's description, `proto()`, its `.proto` text, and with HTTP,
/// `openapi()`, its OpenAPI document.
fn service_def(service: &Service) -> TokenStream {
    let vis = &service.vis;
    let package = &service.package;
    let name = &service.name;
    let doc = &service.doc;
    let methods = service.methods.iter().map(|m| {
        let name = &m.pascal;
        let doc = &m.doc;
        let request = &m.request;
        let reply = m.reply.ty();
        let jsonrpc = &m.jsonrpc;
        let http = if service.http {
            let route = &m.route;
            let verb = &route.verb;
            let path = &route.path;
            let status = route.status;
            let path_fields = m.path_args().map(|a| a.json.clone());
            let query_fields = m.query_args().map(|a| a.json.clone());
            let has_body = m.body_args().next().is_some();
            let response_body = route.response_body();
            quote! {
                ::core::option::Option::Some(::kit::schema::HttpDef {
                    method: #verb,
                    path: #path,
                    status: #status,
                    path_fields: &[#(#path_fields),*],
                    query_fields: &[#(#query_fields),*],
                    has_body: #has_body,
                    response_body: #response_body,
                })
            }
        } else {
            quote!(::core::option::Option::None)
        };
        quote! {
            ::kit::schema::MethodDef {
                name: #name,
                doc: #doc,
                request: <#request as ::kit::schema::Message>::message_def,
                response: <#reply as ::kit::schema::Message>::message_def,
                http: #http,
                jsonrpc: #jsonrpc,
            }
        }
    });
    let openapi = service.http.then(|| {
        quote! {
            /// The OpenAPI 3.1 document of the service's HTTP/JSON routes, versioned as the
            /// crate that defines the service, for teams that generate clients from it (see
            /// [`kit::schema::openapi`]); `http::router_with_openapi` serves it.
            pub fn openapi() -> ::kit::__private::serde_json::Value {
                ::kit::schema::openapi(
                    &SERVICE,
                    ::core::option_env!("CARGO_PKG_VERSION").unwrap_or("0.0.0"),
                )
            }
        }
    });
    quote! {
        /// The service's description: its methods, messages and routes.
        #vis static SERVICE: ::kit::schema::ServiceDef = ::kit::schema::ServiceDef {
            package: #package,
            name: #name,
            doc: #doc,
            methods: &[#(#methods),*],
        };

        /// The service's `.proto` file (proto3), for teams that call it from other languages.
        #vis fn proto() -> ::std::string::String {
            ::kit::schema::proto_file(&SERVICE)
        }

        #openapi
    }
}

/// The generated endpoint type of a method: `SumEndpoint`.
fn endpoint_ident(method: &Method) -> syn::Ident {
    quote::format_ident!("{}Endpoint", method.pascal)
}
