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

/// A trait as a service of every kit transport; see `kit::service`.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemTrait);
    match service::expand(attr.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(err) => with_item(err, strip_trait(item)),
    }
}

/// A struct as a message of every kit transport; see `kit::message`.
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
