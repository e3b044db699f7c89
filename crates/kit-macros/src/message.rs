//! `#[kit::message]`: a struct as a message of every transport.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Error, Fields, ItemStruct, Result};

use crate::fields::{Field, FieldOptions, Kind, assign_tags, classify, doc_of, message_derives};

/// Expands `#[kit::message]` on `item`.
pub(crate) fn expand(attr: TokenStream, mut item: ItemStruct) -> Result<TokenStream> {
    if !attr.is_empty() {
        return Err(Error::new(
            attr.span(),
            "#[kit::message] takes no arguments; set field names and numbers on the fields with #[kit(rename = \"..\", tag = N)]",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(Error::new(
            item.generics.span(),
            "a #[kit::message] cannot be generic: protobuf messages have one shape",
        ));
    }
    refuse_own_derives(&item)?;
    let Fields::Named(named) = &mut item.fields else {
        return Err(Error::new(
            item.span(),
            "a #[kit::message] is a struct with named fields",
        ));
    };
    let mut fields = Vec::new();
    for field in named.named.iter_mut() {
        let options = FieldOptions::take(&mut field.attrs)?;
        let ident = field.ident.clone().expect("named fields have names");
        let kind: Kind = classify(&field.ty)?;
        if kind.is_required_message() {
            return Err(Error::new(
                field.ty.span(),
                "a message field of a #[kit::message] is an `Option<T>` or a `Vec<T>`: protobuf messages can be absent",
            ));
        }
        fields.push((
            Field {
                json: options.rename.unwrap_or_else(|| ident.to_string()),
                ident,
                ty: field.ty.clone(),
                kind,
                tag: 0,
                omit_empty: false,
                doc: doc_of(&field.attrs),
                span: field.span(),
            },
            options.tag,
        ));
    }
    assign_tags(&mut fields)?;
    for (field, (generated, _)) in named.named.iter_mut().zip(&fields) {
        let attrs = generated.attrs();
        let parsed: Vec<syn::Attribute> =
            syn::parse::Parser::parse2(syn::Attribute::parse_outer, attrs)?;
        field.attrs.extend(parsed);
    }
    let fields: Vec<Field> = fields.into_iter().map(|(f, _)| f).collect();
    let ident = &item.ident;
    let def = message_def(&ident.to_string(), &doc_of(&item.attrs), &fields);
    let derives = message_derives();
    Ok(quote! {
        #derives
        #item

        impl ::kit::schema::Message for #ident {
            fn message_def() -> &'static ::kit::schema::MessageDef {
                #def
            }
        }
    })
}

/// The body of a `message_def` function: a static description, returned.
pub(crate) fn message_def(name: &str, doc: &str, fields: &[Field]) -> TokenStream {
    let defs = fields.iter().map(Field::def);
    quote! {
        static DEF: ::kit::schema::MessageDef = ::kit::schema::MessageDef {
            name: #name,
            doc: #doc,
            fields: &[#(#defs),*],
        };
        &DEF
    }
}

/// prost's derive writes `Debug` and `Default`; the same derives on the struct would clash
/// with an error that does not say why.
fn refuse_own_derives(item: &ItemStruct) -> Result<()> {
    for attr in &item.attrs {
        if !attr.path().is_ident("derive") {
            continue;
        }
        let mut clash = None;
        attr.parse_nested_meta(|meta| {
            for name in [
                "Debug",
                "Default",
                "Clone",
                "PartialEq",
                "Serialize",
                "Deserialize",
            ] {
                if meta.path.is_ident(name) {
                    clash = Some((meta.path.span(), name));
                }
            }
            Ok(())
        })?;
        if let Some((span, name)) = clash {
            return Err(Error::new(
                span,
                format!(
                    "#[kit::message] already implements {name} (with Clone, PartialEq, Debug, Default, \
                     serde's Serialize and Deserialize, and prost's Message): remove it from #[derive]"
                ),
            ));
        }
    }
    Ok(())
}
