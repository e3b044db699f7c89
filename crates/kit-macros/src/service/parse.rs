//! Reading a `#[kit::service]` trait into a model of the service.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{
    Error, FnArg, Ident, ItemTrait, LitInt, LitStr, Pat, Result, ReturnType, TraitItem, Type,
};

use crate::fields::{Base, Field, FieldOptions, Label, assign_tags, classify, doc_of};

/// A service, as its trait and the macro's arguments describe it.
pub(crate) struct Service {
    pub(crate) module: Ident,
    /// The visibility of the generated module's items: the trait's, seen from inside it.
    pub(crate) vis: TokenStream,
    /// The same, for the items of the transport modules nested in it.
    pub(crate) nested_vis: TokenStream,
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) doc: String,
    pub(crate) http: bool,
    pub(crate) jsonrpc: bool,
    pub(crate) grpc: bool,
    /// Decode JSON as Go's encoding/json does (keys matched case-insensitively).
    pub(crate) go: bool,
    /// The reply field that carries business errors over gRPC (Go kit's `err`).
    pub(crate) err_field: Option<String>,
    pub(crate) methods: Vec<Method>,
}

/// One method of the service.
pub(crate) struct Method {
    pub(crate) ident: Ident,
    /// Its name in the `.proto`, in gRPC paths and in logs (`Sum`).
    pub(crate) pascal: String,
    pub(crate) doc: String,
    /// The type of its context argument, as written.
    pub(crate) ctx_ty: Type,
    pub(crate) args: Vec<Field>,
    /// The whole return type, as written.
    pub(crate) ret_ty: Type,
    pub(crate) request: Ident,
    pub(crate) reply: Reply,
    pub(crate) route: Route,
    pub(crate) jsonrpc: String,
    pub(crate) idempotent: bool,
    pub(crate) http_decode: Option<syn::Path>,
    pub(crate) http_encode: Option<syn::Path>,
}

/// What a method's reply message is.
pub(crate) enum Reply {
    /// `()`: a generated message with no value field.
    Unit(Ident),
    /// A `#[kit::message]` type: the reply itself.
    Message(Box<Type>),
    /// Anything else: a generated message with the value in one field (Go kit's `v`).
    Wrapped(Ident, Box<Field>),
}

impl Reply {
    /// The reply type's tokens.
    pub(crate) fn ty(&self) -> TokenStream {
        match self {
            Reply::Unit(ident) | Reply::Wrapped(ident, _) => quote::quote!(#ident),
            Reply::Message(ty) => quote::quote!(#ty),
        }
    }
}

/// A method's HTTP route.
pub(crate) struct Route {
    pub(crate) verb: String,
    pub(crate) path: String,
    pub(crate) status: u16,
    /// The path, read once: literal text and `{argument}` parameters, in order.
    pub(crate) segments: Vec<Segment>,
    pub(crate) span: Span,
}

/// A piece of a route's path.
pub(crate) enum Segment {
    /// Text sent as it is.
    Literal(String),
    /// An argument, `{name}`.
    Param(String),
}

impl Route {
    /// Whether the request has a JSON body (the verbs that carry one).
    pub(crate) fn has_body(&self) -> bool {
        matches!(self.verb.as_str(), "POST" | "PUT" | "PATCH")
    }

    /// Whether a success has a body.
    pub(crate) fn response_body(&self) -> bool {
        self.status != 204
    }

    /// The names of the path's parameters, in order.
    pub(crate) fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Whether the argument `ident` is in the path.
    pub(crate) fn in_path(&self, ident: &Ident) -> bool {
        self.params().any(|param| ident == param)
    }

    /// The path with its parameter names blanked: two routes of the same shape clash.
    fn shape(&self) -> String {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(text) => text.as_str(),
                Segment::Param(_) => "{}",
            })
            .collect()
    }
}

impl Method {
    /// The arguments in the path.
    pub(crate) fn path_args(&self) -> impl Iterator<Item = &Field> {
        self.args.iter().filter(|a| self.route.in_path(&a.ident))
    }

    /// The arguments in the query string (those of a body-less verb not in the path).
    pub(crate) fn query_args(&self) -> impl Iterator<Item = &Field> {
        let body = self.route.has_body();
        self.args
            .iter()
            .filter(move |a| !body && !self.route.in_path(&a.ident))
    }

    /// The arguments in the JSON body.
    pub(crate) fn body_args(&self) -> impl Iterator<Item = &Field> {
        let body = self.route.has_body();
        self.args
            .iter()
            .filter(move |a| body && !self.route.in_path(&a.ident))
    }

    /// Whether the whole request is the JSON body (no path or query arguments): the plain
    /// JSON codecs do.
    pub(crate) fn body_is_request(&self) -> bool {
        self.route.has_body() && self.route.params().next().is_none()
    }
}

/// The macro's arguments.
struct Args {
    http: bool,
    jsonrpc: bool,
    grpc: bool,
    go: bool,
    package: Option<String>,
    name: Option<String>,
    module: Option<Ident>,
    reply_suffix: String,
    err_field: Option<String>,
}

fn parse_args(attr: TokenStream) -> Result<Args> {
    let mut args = Args {
        http: false,
        jsonrpc: false,
        grpc: false,
        go: false,
        package: None,
        name: None,
        module: None,
        reply_suffix: "Response".to_owned(),
        err_field: None,
    };
    let parser = syn::meta::parser(|meta| {
        let string = |meta: &syn::meta::ParseNestedMeta<'_>| -> Result<String> {
            Ok(meta.value()?.parse::<LitStr>()?.value())
        };
        if meta.path.is_ident("http") {
            args.http = true;
        } else if meta.path.is_ident("jsonrpc") {
            args.jsonrpc = true;
        } else if meta.path.is_ident("grpc") {
            args.grpc = true;
        } else if meta.path.is_ident("go") {
            args.go = true;
        } else if meta.path.is_ident("package") {
            args.package = Some(string(&meta)?);
        } else if meta.path.is_ident("name") {
            args.name = Some(string(&meta)?);
        } else if meta.path.is_ident("module") {
            let lit: LitStr = meta.value()?.parse()?;
            args.module = Some(lit.parse()?);
        } else if meta.path.is_ident("reply_suffix") {
            args.reply_suffix = string(&meta)?;
        } else if meta.path.is_ident("err_field") {
            args.err_field = Some(string(&meta)?);
        } else {
            return Err(meta.error(
                "unknown #[kit::service] option: the transports `http`, `jsonrpc`, `grpc`; \
                 `go` (Go-compatible JSON); `package = \"..\"`, `name = \"..\"`, `module = \"..\"`, \
                 `reply_suffix = \"..\"`, `err_field = \"..\"`",
            ));
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    if !(args.http || args.jsonrpc || args.grpc) {
        args.http = true;
    }
    Ok(args)
}

/// Reads the trait, removing the `#[kit(...)]` attributes it understood.
pub(crate) fn parse(attr: TokenStream, item: &mut ItemTrait) -> Result<Service> {
    let args = parse_args(attr)?;
    if !item.generics.params.is_empty() {
        return Err(Error::new(
            item.generics.span(),
            "a #[kit::service] trait cannot be generic: its messages have one shape",
        ));
    }
    let trait_name = item.ident.to_string();
    let mut methods = Vec::new();
    let mut errors: Option<Error> = None;
    for trait_item in &mut item.items {
        let TraitItem::Fn(function) = trait_item else {
            push(
                &mut errors,
                Error::new(
                    trait_item.span(),
                    "a #[kit::service] trait has only methods (`async fn name(&self, ctx: &Context, ..) -> Result<T, Error>`)",
                ),
            );
            continue;
        };
        match parse_method(function, &args) {
            Ok(method) => methods.push(method),
            Err(err) => push(&mut errors, err),
        }
    }
    if let Some(err) = errors {
        return Err(err);
    }
    check_unique(&methods)?;
    Ok(Service {
        vis: inner_vis(&item.vis, 1),
        nested_vis: inner_vis(&item.vis, 2),
        module: args
            .module
            .unwrap_or_else(|| Ident::new(&snake_case(&trait_name), item.ident.span())),
        package: args.package.unwrap_or_else(|| snake_case(&trait_name)),
        name: args.name.unwrap_or(trait_name),
        doc: doc_of(&item.attrs),
        http: args.http,
        jsonrpc: args.jsonrpc,
        grpc: args.grpc,
        go: args.go,
        err_field: args.err_field,
        methods,
    })
}

/// The visibility that, written on an item `depth` modules below the trait, reaches as far
/// as the trait does: `pub` and `pub(crate)` stay, a private trait's items become visible
/// to the trait's module (`pub(in super)`), and relative restrictions gain a `super` per
/// level.
fn inner_vis(vis: &syn::Visibility, depth: usize) -> TokenStream {
    let supers = |extra: usize| {
        let supers = std::iter::repeat_n(quote::quote!(super), depth + extra);
        quote::quote!(#(#supers)::*)
    };
    match vis {
        syn::Visibility::Public(_) => quote::quote!(pub),
        syn::Visibility::Inherited => {
            let up = supers(0);
            quote::quote!(pub(in #up))
        }
        syn::Visibility::Restricted(restricted) => {
            let path = &restricted.path;
            if path.is_ident("crate") || path.segments.first().is_some_and(|s| s.ident == "crate") {
                quote::quote!(pub(in #path))
            } else if path.is_ident("self") {
                let up = supers(0);
                quote::quote!(pub(in #up))
            } else {
                let up = supers(0);
                quote::quote!(pub(in #up::#path))
            }
        }
    }
}

fn push(errors: &mut Option<Error>, err: Error) {
    match errors {
        Some(first) => first.combine(err),
        None => *errors = Some(err),
    }
}

/// The options of a method's `#[kit(...)]` attribute.
#[derive(Default)]
struct MethodOptions {
    http: Option<(String, Span)>,
    status: Option<u16>,
    jsonrpc: Option<String>,
    grpc: Option<String>,
    field: Option<String>,
    idempotent: bool,
    http_decode: Option<syn::Path>,
    http_encode: Option<syn::Path>,
}

fn take_method_options(attrs: &mut Vec<syn::Attribute>) -> Result<MethodOptions> {
    let mut options = MethodOptions::default();
    let mut error = None;
    attrs.retain(|attr| {
        if !attr.path().is_ident("kit") {
            return true;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let string = |meta: &syn::meta::ParseNestedMeta<'_>| -> Result<LitStr> {
                meta.value()?.parse::<LitStr>()
            };
            if meta.path.is_ident("http") {
                let lit = string(&meta)?;
                options.http = Some((lit.value(), lit.span()));
            } else if meta.path.is_ident("status") {
                let lit: LitInt = meta.value()?.parse()?;
                let status: u16 = lit.base10_parse()?;
                if !(200..300).contains(&status) {
                    return Err(Error::new(
                        lit.span(),
                        "the success status is a 2xx (errors get theirs from their codes)",
                    ));
                }
                options.status = Some(status);
            } else if meta.path.is_ident("jsonrpc") {
                options.jsonrpc = Some(string(&meta)?.value());
            } else if meta.path.is_ident("grpc") {
                options.grpc = Some(string(&meta)?.value());
            } else if meta.path.is_ident("field") {
                options.field = Some(string(&meta)?.value());
            } else if meta.path.is_ident("idempotent") {
                options.idempotent = true;
            } else if meta.path.is_ident("http_decode") {
                options.http_decode = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("http_encode") {
                options.http_encode = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error(
                    "unknown method option: `http = \"VERB /path/{arg}\"`, `status = 201`, \
                     `jsonrpc = \"..\"`, `grpc = \"..\"`, `field = \"..\"`, `idempotent`, \
                     `http_decode = path::to::decoder`, `http_encode = path::to::encoder`",
                ));
            }
            Ok(())
        });
        if let Err(err) = parsed {
            push(&mut error, err);
        }
        false
    });
    match error {
        Some(err) => Err(err),
        None => Ok(options),
    }
}

fn parse_method(function: &mut syn::TraitItemFn, args: &Args) -> Result<Method> {
    let options = take_method_options(&mut function.attrs)?;
    let sig = &mut function.sig;
    let name = sig.ident.to_string();
    if function.default.is_some() {
        return Err(Error::new(
            function.default.span(),
            format!(
                "remove the body of `{name}`: a #[kit::service] method is implemented by the service's type, not the trait"
            ),
        ));
    }
    if sig.asyncness.is_none() {
        return Err(Error::new(
            sig.fn_token.span(),
            format!(
                "make `{name}` an `async fn`: every method of a #[kit::service] is a call that may wait"
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new(
            sig.generics.span(),
            format!("`{name}` cannot be generic: its request and reply messages have one shape"),
        ));
    }
    let mut inputs = sig.inputs.iter_mut();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        _ => {
            return Err(Error::new(
                sig.ident.span(),
                format!("`{name}` takes `&self` first: a service serves many calls at once"),
            ));
        }
    }
    let ctx_ty = match inputs.next() {
        Some(FnArg::Typed(pat)) if is_context(&pat.ty) => (*pat.ty).clone(),
        other => {
            return Err(Error::new(
                other.map_or(sig.ident.span(), |a| a.span()),
                format!(
                    "the argument of `{name}` after `&self` is the call's context: `ctx: &Context`"
                ),
            ));
        }
    };
    let mut fields = Vec::new();
    for input in inputs {
        let FnArg::Typed(pat) = input else {
            unreachable!("only the first argument can be a receiver")
        };
        let field_options = FieldOptions::take(&mut pat.attrs)?;
        let Pat::Ident(ident) = &*pat.pat else {
            return Err(Error::new(
                pat.pat.span(),
                "name each argument (`id: u64`): the name is its field's name on the wire",
            ));
        };
        let ident = ident.ident.clone();
        let kind = classify(&pat.ty)?;
        let json = field_options.rename.unwrap_or_else(|| ident.to_string());
        fields.push((
            Field {
                ident,
                ty: (*pat.ty).clone(),
                kind,
                json,
                tag: 0,
                omit_empty: false,
                doc: String::new(),
                span: pat.span(),
            },
            field_options.tag,
        ));
    }
    assign_tags(&mut fields)?;
    let args_fields: Vec<Field> = fields.into_iter().map(|(f, _)| f).collect();

    let (ok_ty, ret_ty) = match &sig.output {
        ReturnType::Type(_, ty) => match generic_result(ty) {
            Some(ok) => (ok.clone(), (**ty).clone()),
            None => {
                return Err(Error::new(
                    ty.span(),
                    format!(
                        "`{name}` returns `Result<T, Error>` (kit's Error): every call can fail"
                    ),
                ));
            }
        },
        ReturnType::Default => {
            return Err(Error::new(
                sig.ident.span(),
                format!("`{name}` returns `Result<T, Error>` (kit's Error): every call can fail"),
            ));
        }
    };

    let pascal = options.grpc.unwrap_or_else(|| pascal_case(&name));
    let suffix = &args.reply_suffix;
    let reply_ident = Ident::new(&format!("{pascal}{suffix}"), sig.ident.span());
    let is_unit = matches!(&ok_ty, Type::Tuple(t) if t.elems.is_empty());
    let reply = if is_unit {
        Reply::Unit(reply_ident)
    } else {
        let kind = classify(&ok_ty)?;
        match (&kind.base, kind.label) {
            (Base::Message(ty), Label::Single) if options.field.is_none() => {
                Reply::Message(ty.clone())
            }
            _ => {
                let field_name = options.field.clone().unwrap_or_else(|| "v".to_owned());
                Reply::Wrapped(
                    reply_ident,
                    Box::new(Field {
                        ident: Ident::new(&field_name, sig.ident.span()),
                        ty: ok_ty.clone(),
                        kind,
                        json: field_name,
                        tag: 1,
                        omit_empty: false,
                        doc: String::new(),
                        span: ok_ty.span(),
                    }),
                )
            }
        }
    };

    let (verb, path, route_span) = match &options.http {
        Some((text, span)) => {
            let (verb, path) = text.split_once(' ').ok_or_else(|| {
                Error::new(
                    *span,
                    "write the route as `VERB /path`, e.g. `GET /notes/{id}`",
                )
            })?;
            let verb = verb.to_ascii_uppercase();
            if !matches!(verb.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
                return Err(Error::new(
                    *span,
                    format!(
                        "unsupported HTTP method `{verb}`: use GET, POST, PUT, PATCH or DELETE"
                    ),
                ));
            }
            if !path.starts_with('/') {
                return Err(Error::new(*span, "the path starts with `/`"));
            }
            (verb, path.trim().to_owned(), *span)
        }
        None => ("POST".to_owned(), format!("/{name}"), sig.ident.span()),
    };
    let segments = segments(&path, route_span)?;
    for segment in &segments {
        let Segment::Param(param) = segment else {
            continue;
        };
        let Some(arg) = args_fields.iter().find(|a| a.ident == param) else {
            return Err(Error::new(
                route_span,
                format!(
                    "the path parameter `{{{param}}}` is not an argument of `{name}`: add `{param}: T` or rename the parameter"
                ),
            ));
        };
        if !arg.kind.is_plain_scalar() || arg.kind.label != Label::Single {
            return Err(Error::new(
                arg.span,
                format!("`{param}` is in the path, so it is one scalar (a number, bool or String)"),
            ));
        }
    }
    let status = options.status.unwrap_or(if is_unit { 204 } else { 200 });
    if status == 204 && !is_unit && options.http_encode.is_none() {
        return Err(Error::new(
            route_span,
            format!(
                "`{name}` answers 204 (no body) but returns a value: return `Result<(), Error>` or pick another status"
            ),
        ));
    }
    let route = Route {
        verb,
        path,
        status,
        segments,
        span: route_span,
    };
    let method = Method {
        request: Ident::new(&format!("{pascal}Request"), sig.ident.span()),
        ident: sig.ident.clone(),
        pascal,
        doc: doc_of(&function.attrs),
        ctx_ty,
        args: args_fields,
        ret_ty,
        reply,
        route,
        jsonrpc: options.jsonrpc.unwrap_or(name),
        idempotent: options.idempotent,
        http_decode: options.http_decode,
        http_encode: options.http_encode,
    };
    if args.http && method.http_decode.is_none() {
        for arg in method.query_args() {
            if !arg.kind.is_plain_scalar() {
                return Err(Error::new(
                    arg.span,
                    format!(
                        "`{}` is a {} request, so its arguments outside the path travel in the query \
                         string, which holds scalars and Options of scalars: put `{}` in the path or use POST",
                        method.ident, method.route.verb, arg.ident
                    ),
                ));
            }
        }
    }
    Ok(method)
}

/// A route's path as literal text and `{name}` parameters, each name once.
fn segments(path: &str, span: Span) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| Error::new(span, "a `{` in the path is not closed"))?;
        let name = &rest[start + 1..start + end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::new(
                span,
                format!(
                    "`{{{name}}}` is not a path parameter: write `{{argument_name}}` (catch-all parameters are not supported)"
                ),
            ));
        }
        let seen = |s: &Segment| matches!(s, Segment::Param(p) if p == name);
        if segments.iter().any(seen) {
            return Err(Error::new(
                span,
                format!("`{{{name}}}` is in the path twice"),
            ));
        }
        if start > 0 {
            segments.push(Segment::Literal(rest[..start].to_owned()));
        }
        segments.push(Segment::Param(name.to_owned()));
        rest = &rest[start + end + 1..];
    }
    if rest.contains('}') {
        return Err(Error::new(span, "a `}` in the path has no `{`"));
    }
    if !rest.is_empty() {
        segments.push(Segment::Literal(rest.to_owned()));
    }
    Ok(segments)
}

fn check_unique(methods: &[Method]) -> Result<()> {
    for (i, method) in methods.iter().enumerate() {
        for earlier in &methods[..i] {
            if earlier.route.verb == method.route.verb
                && earlier.route.shape() == method.route.shape()
            {
                return Err(Error::new(
                    method.route.span,
                    format!(
                        "`{} {}` is already the route of `{}`: give `{}` its own with #[kit(http = \"VERB /path\")]",
                        method.route.verb, method.route.path, earlier.ident, method.ident
                    ),
                ));
            }
            if earlier.jsonrpc == method.jsonrpc {
                return Err(Error::new(
                    method.ident.span(),
                    format!(
                        "the JSON-RPC method `{}` is already `{}`'s: set another with #[kit(jsonrpc = \"..\")]",
                        method.jsonrpc, earlier.ident
                    ),
                ));
            }
            if earlier.pascal == method.pascal {
                return Err(Error::new(
                    method.ident.span(),
                    format!(
                        "the gRPC method `{}` is already `{}`'s: set another with #[kit(grpc = \"..\")]",
                        method.pascal, earlier.ident
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => matches!(
            &*reference.elem,
            Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "Context")
        ),
        _ => false,
    }
}

/// `T` of `Result<T, E>`.
fn generic_result(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if args.args.len() != 2 {
        return None;
    }
    match args.args.first()? {
        syn::GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}

/// `sum_all` → `SumAll`.
pub(crate) fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `NoteStore` → `note_store`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_change_case() {
        assert_eq!(pascal_case("sum"), "Sum");
        assert_eq!(pascal_case("list_all_notes"), "ListAllNotes");
        assert_eq!(snake_case("NoteStore"), "note_store");
        assert_eq!(snake_case("Add"), "add");
    }

    fn route(path: &str) -> Route {
        Route {
            verb: "GET".to_owned(),
            path: path.to_owned(),
            status: 200,
            segments: segments(path, Span::call_site()).unwrap(),
            span: Span::call_site(),
        }
    }

    #[test]
    fn paths_and_their_shapes() {
        let span = Span::call_site();
        let notes = route("/notes/{id}/tags/{tag}");
        assert_eq!(notes.params().collect::<Vec<_>>(), ["id", "tag"]);
        assert!(notes.in_path(&Ident::new("tag", span)));
        assert!(!notes.in_path(&Ident::new("tags", span)));
        assert!(segments("/notes/{id", span).is_err());
        assert!(segments("/notes/{*rest}", span).is_err());
        assert!(segments("/a/{x}/{x}", span).is_err());
        assert!(segments("/a/x}", span).is_err());
        assert_eq!(route("/notes/{id}").shape(), route("/notes/{key}").shape());
        assert_ne!(route("/notes/{id}").shape(), route("/notes/{id}/x").shape());
        assert_eq!(route("/n/{id}/x").shape(), "/n/{}/x");
    }
}
