//! Fields of generated and derived messages: what a Rust type means on the wire, and the
//! serde, prost and schema attributes that say so.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Error, GenericArgument, Ident, LitStr, PathArguments, Result, Type};

/// How many values a field holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    Single,
    Optional,
    Repeated,
}

/// The protobuf scalar types kit maps Rust types to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Float,
    Double,
    String,
    Bytes,
}

/// What a field's values are.
#[derive(Clone)]
pub(crate) enum Base {
    Scalar(Scalar),
    /// Another message: a type with `#[kit::message]`.
    Message(Box<Type>),
}

/// A field's wire meaning.
#[derive(Clone)]
pub(crate) struct Kind {
    pub(crate) label: Label,
    pub(crate) base: Base,
}

impl Kind {
    /// Whether the field is one scalar, or an optional one: what a path segment or a query
    /// parameter can carry.
    pub(crate) fn is_plain_scalar(&self) -> bool {
        matches!(self.base, Base::Scalar(s) if s != Scalar::Bytes) && self.label != Label::Repeated
    }

    /// A required message: protobuf messages can be absent, so the struct holds an `Option`.
    pub(crate) fn is_required_message(&self) -> bool {
        matches!(self.base, Base::Message(_)) && self.label == Label::Single
    }
}

/// Reads the wire meaning of a Rust type, or says which types are supported.
pub(crate) fn classify(ty: &Type) -> Result<Kind> {
    let is_bytes = |ty: &Type| generic_arg(ty, "Vec").is_some_and(|inner| is_ident(inner, "u8"));
    let (label, inner) = match (generic_arg(ty, "Option"), generic_arg(ty, "Vec")) {
        (Some(inner), _) => (Label::Optional, inner),
        (_, Some(inner)) if !is_bytes(ty) => (Label::Repeated, inner),
        _ => (Label::Single, ty),
    };
    let nested = generic_arg(inner, "Option").is_some()
        || (generic_arg(inner, "Vec").is_some() && !is_bytes(inner));
    if label != Label::Single && nested {
        return Err(Error::new(
            ty.span(),
            "a field cannot nest Option and Vec: protobuf has no such field",
        ));
    }
    Ok(Kind {
        label,
        base: base(inner)?,
    })
}

fn base(ty: &Type) -> Result<Base> {
    let unsupported = |what: &str| {
        Err(Error::new(
            ty.span(),
            format!(
                "{what}: a #[kit::service] or #[kit::message] field is one of bool, i32, i64, u32, \
                 u64, f32, f64, String, Vec<u8>, a #[kit::message] type, or an Option or Vec of those"
            ),
        ))
    };
    let path = match ty {
        Type::Path(path) if path.qself.is_none() => &path.path,
        Type::Reference(_) => return unsupported("take owned values (`String`, not `&str`)"),
        Type::Group(group) => return base(&group.elem),
        _ => return unsupported("unsupported type"),
    };
    let last = path.segments.last().expect("a path has a segment");
    if generic_arg(ty, "Vec").is_some_and(|inner| is_ident(inner, "u8")) {
        return Ok(Base::Scalar(Scalar::Bytes));
    }
    if path.segments.len() == 1 && last.arguments.is_none() {
        let scalar = match last.ident.to_string().as_str() {
            "bool" => Scalar::Bool,
            "i32" => Scalar::Int32,
            "i64" => Scalar::Int64,
            "u32" => Scalar::Uint32,
            "u64" => Scalar::Uint64,
            "f32" => Scalar::Float,
            "f64" => Scalar::Double,
            "String" => Scalar::String,
            "i8" | "i16" | "isize" => {
                return unsupported(
                    "use i32 or i64 (protobuf has no smaller or pointer-sized integers)",
                );
            }
            "u8" | "u16" | "usize" => {
                return unsupported(
                    "use u32 or u64 (protobuf has no smaller or pointer-sized integers)",
                );
            }
            "char" | "str" => return unsupported("use String"),
            _ => return Ok(Base::Message(Box::new(ty.clone()))),
        };
        return Ok(Base::Scalar(scalar));
    }
    if !last.arguments.is_none() {
        return unsupported(
            "unsupported generic type (maps and other containers are not supported yet)",
        );
    }
    Ok(Base::Message(Box::new(ty.clone())))
}

/// `T` when `ty` is `Name<T>` (by its last path segment).
pub(crate) fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// Whether `ty` is the plain identifier `name`.
pub(crate) fn is_ident(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// A field of a message the macros write.
#[derive(Clone)]
pub(crate) struct Field {
    pub(crate) ident: Ident,
    /// The type as declared (an argument's type, a struct field's type).
    pub(crate) ty: Type,
    pub(crate) kind: Kind,
    pub(crate) json: String,
    pub(crate) tag: u32,
    /// Left out of JSON when empty, read as empty when absent (Go's `omitempty`): only the
    /// business-error field, a `String`, is.
    pub(crate) omit_empty: bool,
    pub(crate) doc: String,
    /// Where errors about it point.
    pub(crate) span: Span,
}

impl Field {
    /// The type the struct holds: a required message is an `Option` (protobuf messages can
    /// be absent).
    pub(crate) fn stored_ty(&self) -> TokenStream {
        let ty = &self.ty;
        if self.kind.is_required_message() {
            quote!(::core::option::Option<#ty>)
        } else {
            ty.to_token_stream()
        }
    }

    /// The serde and prost attributes of the field.
    pub(crate) fn attrs(&self) -> TokenStream {
        let serde = self.serde_attrs();
        let prost = self.prost_attrs();
        quote!(#serde #prost)
    }

    /// The serde attributes of the field: its JSON name; absent lists, options and
    /// messages read as empty; an `omit_empty` field is left out when empty.
    pub(crate) fn serde_attrs(&self) -> TokenStream {
        let mut serde = Vec::new();
        if self.ident != self.json {
            let json = &self.json;
            serde.push(quote!(rename = #json));
        }
        if self.kind.label != Label::Single || self.kind.is_required_message() || self.omit_empty {
            serde.push(quote!(default));
        }
        if self.omit_empty {
            serde.push(quote!(skip_serializing_if = "::kit::__private::is_empty"));
        }
        if serde.is_empty() {
            quote!()
        } else {
            quote!(#[serde(#(#serde),*)])
        }
    }

    /// The prost attribute of the field: its protobuf type and number.
    fn prost_attrs(&self) -> TokenStream {
        let tag = self.tag.to_string();
        let label = match (self.kind.label, &self.kind.base) {
            (Label::Repeated, _) => quote!(repeated,),
            (_, Base::Message(_)) | (Label::Optional, _) => quote!(optional,),
            (Label::Single, _) => quote!(),
        };
        let ty = match &self.kind.base {
            Base::Message(_) => quote!(message),
            Base::Scalar(scalar) => scalar.prost_type(),
        };
        quote!(#[prost(#ty, #label tag = #tag)])
    }

    /// The field's `kit::schema::FieldDef`.
    pub(crate) fn def(&self) -> TokenStream {
        let name = self.ident.to_string();
        let json = &self.json;
        let tag = self.tag;
        let omit_empty = self.omit_empty;
        let doc = &self.doc;
        let ty = self.kind.base.schema_type();
        let label = match self.kind.label {
            Label::Single if self.kind.is_required_message() => quote!(Optional),
            Label::Single => quote!(Single),
            Label::Optional => quote!(Optional),
            Label::Repeated => quote!(Repeated),
        };
        quote! {
            ::kit::schema::FieldDef {
                name: #name,
                json_name: #json,
                tag: #tag,
                ty: #ty,
                label: ::kit::schema::Label::#label,
                omit_empty: #omit_empty,
                doc: #doc,
            }
        }
    }
}

impl Scalar {
    fn prost_type(self) -> TokenStream {
        match self {
            Scalar::Bool => quote!(bool),
            Scalar::Int32 => quote!(int32),
            Scalar::Int64 => quote!(int64),
            Scalar::Uint32 => quote!(uint32),
            Scalar::Uint64 => quote!(uint64),
            Scalar::Float => quote!(float),
            Scalar::Double => quote!(double),
            Scalar::String => quote!(string),
            Scalar::Bytes => quote!(bytes = "vec"),
        }
    }
}

impl Base {
    fn schema_type(&self) -> TokenStream {
        let variant = match self {
            Base::Message(ty) => {
                return quote!(::kit::schema::FieldType::Message(
                    <#ty as ::kit::schema::Message>::message_def
                ));
            }
            Base::Scalar(Scalar::Bool) => quote!(Bool),
            Base::Scalar(Scalar::Int32) => quote!(Int32),
            Base::Scalar(Scalar::Int64) => quote!(Int64),
            Base::Scalar(Scalar::Uint32) => quote!(Uint32),
            Base::Scalar(Scalar::Uint64) => quote!(Uint64),
            Base::Scalar(Scalar::Float) => quote!(Float),
            Base::Scalar(Scalar::Double) => quote!(Double),
            Base::Scalar(Scalar::String) => quote!(String),
            Base::Scalar(Scalar::Bytes) => quote!(Bytes),
        };
        quote!(::kit::schema::FieldType::#variant)
    }
}

/// The attributes every message gets: serde and prost derives through kit's re-exports.
pub(crate) fn message_derives() -> TokenStream {
    quote! {
        #[derive(
            ::core::clone::Clone,
            ::core::cmp::PartialEq,
            ::kit::__private::serde::Serialize,
            ::kit::__private::serde::Deserialize,
            ::kit::__private::prost::Message
        )]
        #[serde(crate = "::kit::__private::serde")]
        #[prost(prost_path = "::kit::__private::prost")]
    }
}

/// The text of the doc comments among `attrs`, one line per comment line.
pub(crate) fn doc_of(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let line = s.value();
            lines.push(line.strip_prefix(' ').unwrap_or(&line).to_owned());
        }
    }
    lines.join("\n").trim().to_owned()
}

/// The options of a field's `#[kit(...)]` attribute: `rename = "..."`, `tag = N`.
#[derive(Default)]
pub(crate) struct FieldOptions {
    pub(crate) rename: Option<String>,
    pub(crate) tag: Option<u32>,
}

impl FieldOptions {
    /// Reads and removes the `#[kit(...)]` attributes of a field or argument.
    pub(crate) fn take(attrs: &mut Vec<Attribute>) -> Result<FieldOptions> {
        let mut options = FieldOptions::default();
        let mut error: Option<Error> = None;
        attrs.retain(|attr| {
            if !attr.path().is_ident("kit") {
                return true;
            }
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let name: LitStr = meta.value()?.parse()?;
                    options.rename = Some(name.value());
                    Ok(())
                } else if meta.path.is_ident("tag") {
                    let tag: syn::LitInt = meta.value()?.parse()?;
                    let tag: u32 = tag.base10_parse()?;
                    if tag == 0 || tag > 536_870_911 || (19_000..=19_999).contains(&tag) {
                        return Err(meta.error(
                            "a protobuf field number is between 1 and 536870911, outside 19000-19999",
                        ));
                    }
                    options.tag = Some(tag);
                    Ok(())
                } else {
                    Err(meta.error("unknown field option: use `rename = \"json_name\"` or `tag = N`"))
                }
            });
            if let Err(err) = parsed {
                match &mut error {
                    Some(first) => first.combine(err),
                    None => error = Some(err),
                }
            }
            false
        });
        match error {
            Some(err) => Err(err),
            None => Ok(options),
        }
    }
}

/// Gives fields without an explicit tag the next free number after the previous field's,
/// and refuses a number used twice.
pub(crate) fn assign_tags(fields: &mut [(Field, Option<u32>)]) -> Result<()> {
    let mut next = 1;
    let mut used: Vec<u32> = Vec::new();
    for (field, explicit) in fields.iter_mut() {
        let tag = explicit.unwrap_or(next);
        if used.contains(&tag) {
            return Err(Error::new(
                field.span,
                format!(
                    "protobuf field number {tag} is used twice: set `#[kit(tag = N)]` to a free one"
                ),
            ));
        }
        used.push(tag);
        field.tag = tag;
        next = tag + 1;
    }
    Ok(())
}
