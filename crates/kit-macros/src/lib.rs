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

/// A trait as a service of every kit transport; see `kit::service`.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemTrait);
    service::expand(attr.into(), item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A struct as a message of every kit transport; see `kit::message`.
#[proc_macro_attribute]
pub fn message(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemStruct);
    message::expand(attr.into(), item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
