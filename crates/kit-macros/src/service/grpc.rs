//! The gRPC transport of a service.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::{Method, Reply, Service};

/// The `grpc` module: the tonic service serving a `Set` and the client making one.
pub(super) fn module(service: &Service) -> TokenStream {
    let (vis, nested) = (&service.vis, &service.nested_vis);
    let full_name = if service.package.is_empty() {
        service.name.clone()
    } else {
        format!("{}.{}", service.package, service.name)
    };
    let unary = service.methods.iter().map(|m| {
        let name = &m.pascal;
        let request = &m.request;
        let reply = m.reply.ty();
        let endpoint = server_endpoint(service, m);
        quote! {
            .unary(
                #name,
                ::kit_grpc::Server::new(
                    #endpoint,
                    ::core::result::Result::Ok::<#request, ::kit::Error>,
                    ::core::result::Result::Ok::<#reply, ::kit::Error>,
                )
                .boxed(),
            )
        }
    });
    let clients = service.methods.iter().map(|m| {
        let ident = &m.ident;
        let path = format!("/{full_name}/{}", m.pascal);
        let request = &m.request;
        let reply = m.reply.ty();
        let decode = match (&service.err_field, &m.reply) {
            (Some(err), Reply::Unit(_) | Reply::Wrapped(..)) => {
                let err = syn::Ident::new(err, proc_macro2::Span::call_site());
                quote! {
                    |reply: #reply| {
                        if reply.#err.is_empty() {
                            ::core::result::Result::Ok(reply)
                        } else {
                            ::core::result::Result::Err(::kit::Error::invalid_argument(reply.#err))
                        }
                    }
                }
            }
            _ => quote!(::core::result::Result::Ok::<#reply, ::kit::Error>),
        };
        let idempotent = m.idempotent.then(|| quote!(.idempotent(true)));
        quote! {
            #ident: ::kit::Endpoint::boxed({
                let client = ::kit_grpc::Client::new(channel.clone(), #path, |request: #request| request, #decode)
                    #idempotent;
                match &server {
                    ::core::option::Option::Some((host, port)) => client.server_address(host.clone(), *port),
                    ::core::option::Option::None => client,
                }
            }),
        }
    });
    let name_doc = format!("Names the gRPC service: `{full_name}`.");
    quote! {
        /// The service over gRPC.
        #vis mod grpc {
            #[allow(unused_imports)]
            use super::*;

            #[doc = #name_doc]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
            #nested struct Name;

            impl ::kit_grpc::__private::tonic::server::NamedService for Name {
                const NAME: &'static str = #full_name;
            }

            /// The service's full name (`package.Service`), for health checks.
            #nested const SERVICE_NAME: &str = #full_name;

            /// The gRPC service serving `set`, to add to tonic's routes.
            #nested fn server(set: &Set) -> ::kit_grpc::Methods<Name> {
                ::kit_grpc::Methods::new()
                    #(#unary)*
            }

            /// A client of the service over `channel`.
            #nested fn client(channel: ::kit_grpc::__private::tonic::transport::Channel) -> Set {
                client_of(channel, ::core::option::Option::None)
            }

            /// A client of the service at `instance` (`host:port` or an `http://` URL),
            /// connecting on its first call; its calls' spans name the server.
            #nested fn connect_lazy(instance: &str) -> ::core::result::Result<Set, ::kit::Error> {
                let (channel, server) = ::kit_grpc::client::lazy_channel_with_server(instance)?;
                ::core::result::Result::Ok(client_of(channel, ::core::option::Option::Some(server)))
            }

            ::kit_grpc::__with_tls! {
                /// A client of the service at `instance` (`https://host:port` or
                /// `host:port`) over TLS with `tls` (with kit-grpc's `tls` feature),
                /// connecting on its first call; its calls' spans name the server.
                #nested fn connect_lazy_tls(
                    instance: &str,
                    tls: &::kit_grpc::client::Tls,
                ) -> ::core::result::Result<Set, ::kit::Error> {
                    let (channel, server) =
                        ::kit_grpc::client::lazy_channel_tls_with_server(instance, tls)?;
                    ::core::result::Result::Ok(client_of(channel, ::core::option::Option::Some(server)))
                }
            }

            /// The clients over `channel` to `server` (host and port), when known.
            fn client_of(
                channel: ::kit_grpc::__private::tonic::transport::Channel,
                server: ::core::option::Option<(::std::string::String, u16)>,
            ) -> Set {
                Set {
                    #(#clients)*
                }
            }

            /// The service's encoded `FileDescriptorSet`, for reflection and request checks
            /// (built on first use).
            #nested fn file_descriptor_set() -> &'static [u8] {
                static SET: ::std::sync::OnceLock<::std::vec::Vec<u8>> = ::std::sync::OnceLock::new();
                SET.get_or_init(|| ::kit_grpc::descriptor::file_descriptor_set(&super::SERVICE))
            }
        }
    }
}

/// The endpoint a method's gRPC server calls: the set's, or, when the service carries
/// business errors in replies, one that answers them in the reply's error field.
fn server_endpoint(service: &Service, method: &Method) -> TokenStream {
    let ident = &method.ident;
    let (Some(err), Reply::Unit(reply) | Reply::Wrapped(reply, _)) =
        (&service.err_field, &method.reply)
    else {
        return quote!(set.#ident.clone());
    };
    let err = syn::Ident::new(err, proc_macro2::Span::call_site());
    let request = &method.request;
    let rest = matches!(method.reply, Reply::Wrapped(..))
        .then(|| quote!(..::core::default::Default::default()));
    quote! {
        {
            let endpoint = set.#ident.clone();
            ::kit::endpoint_fn(move |ctx: ::kit::Context, request: #request| {
                let endpoint = endpoint.clone();
                async move {
                    match ::kit::Endpoint::call(&endpoint, ctx, request).await {
                        ::core::result::Result::Err(err) if err.code() == ::kit::Code::InvalidArgument => {
                            ::core::result::Result::Ok(#reply {
                                #err: err.message().to_owned(),
                                #rest
                            })
                        }
                        other => other,
                    }
                }
            })
        }
    }
}
