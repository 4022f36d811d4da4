//! Field names as types: the labels of frunk's labelled `HList`s.
//!
//! A label is a tuple of the zero-sized letter types in
//! `frunk::labelled::chars`, one per character of the name, with the same
//! encoding as frunk's own `LabelledGeneric` derive, so a state's labels are
//! the labels of its `LabelledGeneric` representation:
//!
//! | name character | label element(s)                         |
//! |----------------|------------------------------------------|
//! | `a`-`z`, `A`-`Z` | the letter itself                      |
//! | `0`-`9`, `_`   | `_0`-`_9`, `__`                          |
//! | anything else  | `_uc`, the digits of `\u{..}`, `uc_`     |
//!
//! A one-character name is the letter type itself (`x`), not a one-element
//! tuple, as in frunk. Raw identifiers lose their `r#` (`r#type` is `type`).

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;

/// The names of the letter types that spell `name`, in order.
pub(crate) fn letters(name: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(name.len());
    for c in name.chars() {
        push_letters(c, &mut out);
    }
    out
}

fn push_letters(c: char, out: &mut Vec<String>) {
    if c.is_ascii_alphabetic() {
        out.push(c.to_string());
    } else if c.is_ascii_digit() || c == '_' {
        out.push(format!("_{c}"));
    } else {
        // `\u{e9}` becomes `_uc u e _9 uc_`: the alphanumeric characters of
        // the escape, bracketed.
        out.push("_uc".to_owned());
        for e in c.escape_unicode().filter(char::is_ascii_alphanumeric) {
            push_letters(e, out);
        }
        out.push("uc_".to_owned());
    }
}

/// The label type of the field `ident`: `(p::j, p::o, p::b, p::s)` where `p`
/// is `chars` (a path to `frunk::labelled::chars`, ending without `::`).
/// Every generated token carries `span`.
pub(crate) fn label_type(chars: &TokenStream, ident: &Ident, span: Span) -> TokenStream {
    let letters = letters(&ident.unraw().to_string());
    let paths: Vec<TokenStream> = letters
        .iter()
        .map(|l| {
            let l = Ident::new(l, span);
            quote_spanned!(span=> #chars::#l)
        })
        .collect();
    if let [one] = paths.as_slice() {
        return one.clone();
    }
    let mut group = Group::new(Delimiter::Parenthesis, quote!(#(#paths),*));
    group.set_span(span);
    group.into_token_stream()
}

/// `__label!($crate; name)`: the tokens before `;` are a path to the facade
/// (passed as `$crate` by `coshare::Label!`), the rest is one field name.
///
/// A wrong input becomes the type `[(); compile_error!(..)]`: the error, in
/// a type that rustc knows is erroneous, so the lookup that uses the label
/// reports nothing more. (A bare `compile_error!` in type position would
/// become `()`, and the lookup would fail a second time.)
pub(crate) fn label_macro(input: TokenStream) -> TokenStream {
    parse_label(input).unwrap_or_else(|e| {
        let msg = e.to_string();
        quote_spanned!(e.span()=> [(); ::core::compile_error!(#msg)])
    })
}

fn parse_label(input: TokenStream) -> syn::Result<TokenStream> {
    let mut tokens = input.into_iter();
    let mut krate = TokenStream::new();
    for tt in tokens.by_ref() {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ';' => break,
            _ => krate.extend([tt]),
        }
    }
    let rest: TokenStream = tokens.collect();
    let ident: Ident = syn::parse2(rest.clone()).map_err(|_| label_error(&rest))?;
    let chars = quote!(#krate::__private::chars);
    Ok(label_type(&chars, &ident, ident.span()))
}

/// Why `rest` is not one field name, in the terms of what it is.
fn label_error(rest: &TokenStream) -> syn::Error {
    let mut tokens = rest.clone().into_iter();
    let one = match (tokens.next(), tokens.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    };
    let message = match &one {
        // A keyword: `Ident` does not parse it, `Ident::parse_any` does.
        Some(TokenTree::Ident(keyword)) => format!(
            "`{keyword}` is a keyword, so a field with that name is written `r#{keyword}`: \
             name it as `Label!(r#{keyword})`"
        ),
        Some(TokenTree::Literal(literal))
            if literal.to_string().bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!(
                "a field of a tuple struct is named with an underscore: \
                 write `Label!(_{literal})` for the field `.{literal}`"
            )
        }
        _ => "expected one field name, as in `Label!(jobs)`".to_owned(),
    };
    syn::Error::new_spanned(rest, message)
}

#[cfg(test)]
mod tests {
    use super::letters;

    #[test]
    fn errors_name_what_was_written() {
        let message = |input: &str| {
            super::label_macro(input.parse().unwrap())
                .to_string()
                .replace(" ", "")
        };
        assert!(message("crate;type").contains("`type`isakeyword"));
        assert!(message("crate;type").contains("Label!(r#type)"));
        assert!(message("crate;1").contains("Label!(_1)"));
        assert!(message("crate;a,b").contains("expectedonefieldname"));
        assert!(!message("crate;r#type").contains("compile_error"));
    }

    #[test]
    fn encoding_matches_frunk() {
        assert_eq!(letters("jobs"), ["j", "o", "b", "s"]);
        assert_eq!(letters("a_1"), ["a", "__", "_1"]);
        assert_eq!(letters("é"), ["_uc", "u", "e", "_9", "uc_"]);
    }
}
