//! `#[derive(CoroutineShareable)]`.
//!
//! The expansion for `struct Game { jobs: JobQueue, tick: u64 }` is, with
//! `P` standing for `coshare::__private`:
//!
//! ```text
//! const _: () = {
//!     extern crate coshare;   // or `use <path> as coshare;` with `#[coshare(crate = "path")]`
//!     #[automatically_derived]
//!     impl P::CoroutineShareable for Game {
//!         type Fields = P::HCons<P::Field<(P::chars::j, ..), JobQueue>,
//!                       P::HCons<P::Field<P::chars::t.., u64>, P::HNil>>;
//!         type PartTypes = P::HCons<JobQueue, P::HCons<u64, P::HNil>>;
//!             // a type written on two fields would be `P::Several<T>` at both
//!         type PartsMut<'__coshare_parts> =
//!             P::HCons<&'__coshare_parts mut JobQueue, ..>;
//!         #[inline]
//!         fn parts_mut(&mut self) -> Self::PartsMut<'_> {
//!             P::HCons { head: &mut self.jobs, tail: .. P::HNil }
//!         }
//!     }
//! };
//! ```
//!
//! Everything the expansion names is reached through the facade's
//! `__private` module, bound by an `extern crate` inside the anonymous
//! const, so neither a user's items (a local `Result`, a module called
//! `__private`) nor the user's imports can change what it refers to. The
//! expansion has no `unsafe`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericParam, Ident, Member, Path, Type};

use crate::label::label_type;

/// Collects errors so that one expansion reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The options of `#[coshare(...)]` on the struct.
#[derive(Default)]
struct Options {
    /// `crate = "path"`: where the facade is, if not at `coshare`.
    krate: Option<Path>,
}

fn parse_options(input: &DeriveInput, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("coshare")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                let path: Path = lit.parse().map_err(|e| {
                    syn::Error::new(lit.span(), format!("`crate` must be a path: {e}"))
                })?;
                if options.krate.is_some() {
                    return Err(meta.error("duplicate `crate` option"));
                }
                options.krate = Some(path);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown option `{}`; the only option is `crate = \"path::to::coshare\"`",
                    meta.path.to_token_stream()
                )))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    options
}

/// `#[repr(packed)]` makes fields unaligned, and a reference to an unaligned
/// field is an error; say so at the attribute rather than in the expansion.
fn check_repr(input: &DeriveInput, errors: &mut Errors) {
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        // Other repr hints are fine; a malformed repr is rustc's to report.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("packed") {
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    "`CoroutineShareable` cannot be derived for a `#[repr(packed)]` struct: \
                     its fields may be unaligned, and parts are lent out as references",
                ));
            }
            if meta.input.peek(syn::token::Paren) {
                let _skip: TokenStream = meta.input.parse::<proc_macro2::Group>()?.stream();
            }
            Ok(())
        });
    }
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let options = parse_options(input, &mut errors);
    check_repr(input, &mut errors);

    for param in &input.generics.params {
        if let GenericParam::Lifetime(lt) = param {
            errors.push(syn::Error::new_spanned(
                lt,
                "`CoroutineShareable` cannot be derived for a struct with lifetime parameters: \
                 shared state must be `'static`, because a stage and its coroutines may \
                 outlive any borrow",
            ));
        }
    }

    let fields = match &input.data {
        Data::Struct(data) => Some(&data.fields),
        Data::Enum(data) => {
            errors.push(syn::Error::new(
                data.enum_token.span(),
                "`CoroutineShareable` can only be derived for structs: the fields of an enum \
                 depend on its variant, so they cannot be lent out as parts \
                 (make the enum a field of a struct instead)",
            ));
            None
        }
        Data::Union(data) => {
            errors.push(syn::Error::new(
                data.union_token.span(),
                "`CoroutineShareable` can only be derived for structs: the fields of a union \
                 overlap, so they cannot be lent out as separate parts",
            ));
            None
        }
    };

    if let Some(fields) = fields {
        for field in fields {
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("coshare")) {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "`#[coshare(..)]` goes on the struct, not on a field: every field is a part",
                ));
            }
        }
    }

    errors.finish()?;
    let Some(fields) = fields else {
        unreachable!("an enum or union was reported as an error above")
    };
    Ok(expand(input, fields, &options))
}

fn expand(input: &DeriveInput, fields: &Fields, options: &Options) -> TokenStream {
    let call = Span::call_site();
    let facade = Ident::new("coshare", call);
    let private = quote_spanned!(call=> #facade::__private);
    let chars = quote_spanned!(call=> #private::chars);
    let lt = syn::Lifetime::new("'__coshare_parts", call);

    // `extern crate` names the real crate even if the user's crate calls
    // itself `coshare` (`extern crate self as coshare;`), where `::coshare`
    // would not.
    let bind = if let Some(path) = &options.krate {
        quote_spanned!(call=>
            #[allow(unused_imports)]
            use #path as #facade;
        )
    } else {
        quote_spanned!(call=>
            #[allow(unused_extern_crates)]
            extern crate coshare;
        )
    };

    // The struct's own generics, each type parameter also bounded by
    // `'static` (shared state is `'static`). The bound joins the parameter's
    // own list, so the impl has no second predicate for the same type.
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param
            .bounds
            .push(syn::TypeParamBound::Lifetime(syn::Lifetime::new(
                "'static", call,
            )));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;

    let members: Vec<(Member, Ident, &Type)> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if let Some(ident) = &f.ident {
                (Member::Named(ident.clone()), ident.clone(), &f.ty)
            } else {
                // Tuple fields are named `_0`, `_1`, ... as in frunk.
                let mut index = syn::Index::from(i);
                index.span = f.ty.span();
                (
                    Member::Unnamed(index),
                    format_ident!("_{}", i, span = f.ty.span()),
                    &f.ty,
                )
            }
        })
        .collect();

    // Types written the same way on more than one field: a lookup by type
    // cannot choose between those fields, so `PartTypes` lists them as
    // `Several<T>`, where such a lookup finds nothing and says so.
    let spelled: Vec<String> = members
        .iter()
        .map(|(_, _, ty)| ty.to_token_stream().to_string())
        .collect();
    let several = |ty: &Type| {
        let this = ty.to_token_stream().to_string();
        spelled.iter().filter(|other| **other == this).count() > 1
    };

    let mut fields_ty = quote_spanned!(call=> #private::HNil);
    let mut types_ty = quote_spanned!(call=> #private::HNil);
    let mut parts_ty = quote_spanned!(call=> #private::HNil);
    let mut parts_expr = quote_spanned!(call=> #private::HNil);
    for (member, label_name, ty) in members.iter().rev() {
        let label = label_type(&chars, label_name, call);
        fields_ty = quote_spanned!(call=>
            #private::HCons<#private::Field<#label, #ty>, #fields_ty>
        );
        let by_type = if several(ty) {
            quote_spanned!(call=> #private::Several<#ty>)
        } else {
            quote_spanned!(call=> #ty)
        };
        types_ty = quote_spanned!(call=> #private::HCons<#by_type, #types_ty>);
        parts_ty = quote_spanned!(call=> #private::HCons<&#lt mut #ty, #parts_ty>);
        parts_expr = quote_spanned!(call=>
            #private::HCons { head: &mut self.#member, tail: #parts_expr }
        );
    }

    quote_spanned! {call=>
        const _: () = {
            #bind

            #[automatically_derived]
            impl #impl_generics #private::CoroutineShareable for #name #ty_generics #where_clause {
                type Fields = #fields_ty;
                type PartTypes = #types_ty;
                type PartsMut<#lt> = #parts_ty;

                #[inline]
                fn parts_mut(&mut self) -> <Self as #private::CoroutineShareable>::PartsMut<'_> {
                    #parts_expr
                }
            }
        };
    }
}
