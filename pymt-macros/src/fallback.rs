//! What is emitted when the attribute or the function is wrong: the errors,
//! plus a function with the signature callers expect, "to minimize spurious
//! secondary errors" (thiserror's `fallback.rs`, tokio's `DEFAULT_ERROR_CONFIG`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{parse_quote, ReturnType};

use crate::ast::Plan;
use crate::expand::{runtime, task_output};

/// `compile_error!`s for `error`, then the function as callers expect it.
///
/// Under `#[threaded]` the function keeps its `Task<R>` signature (minus
/// `async`, `const` and `extern`, which were reported), so its callers
/// type-check as usual. The user's body is kept, inside a closure that is
/// never called, so errors in the body are still reported (as tokio-macros
/// does); only an `async` body, whose `.await`s would cascade, is left out.
/// A plain `#[limiter]` function is emitted unchanged.
pub(crate) fn expand(plan: &Plan, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let rt = runtime(plan.krate());
    let mut func = plan.func.clone();
    if plan.threaded.is_some() {
        let was_async = func.sig.asyncness.take().is_some();
        func.sig.constness = None;
        func.sig.abi = None;
        let body = &func.block;
        func.block = match (&func.sig.output, was_async) {
            (_, true) => parse_quote!({ ::core::unimplemented!() }),
            // The declared type guides `?` and `return` in the body; an
            // `impl Trait` cannot be written on a closure, so it is left out.
            (ReturnType::Type(_, ty), false) if !mentions_impl(ty) => parse_quote!({
                let _ = move || -> #ty #body;
                ::core::unimplemented!()
            }),
            (ReturnType::Type(..), false) => parse_quote!({
                let _ = move || #body;
                ::core::unimplemented!()
            }),
            (ReturnType::Default, false) => parse_quote!({
                let _ = move || -> () #body;
                ::core::unimplemented!()
            }),
        };
        func.sig.output = task_output(&func.sig.output, &rt);
        func.attrs.push(parse_quote!(#[allow(
            unused_variables,
            unused_mut,
            unreachable_code,
            clippy::diverging_sub_expression
        )]));
    }
    plan.mark_taken_used(&mut func);
    quote!(#errors #func)
}

/// Whether `ty` contains an `impl Trait` anywhere.
fn mentions_impl(ty: &syn::Type) -> bool {
    quote!(#ty)
        .into_iter()
        .any(|token| matches!(token, proc_macro2::TokenTree::Ident(ident) if ident == "impl"))
        || quote!(#ty).to_string().contains("impl ")
}
