//! What is emitted when the attribute or the function is wrong: the errors,
//! plus a function with the signature callers expect, "to minimize spurious
//! secondary errors" (thiserror's `fallback.rs`, tokio's `DEFAULT_ERROR_CONFIG`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse_quote;

use crate::ast::{Kind, Plan};
use crate::expand::Output;
use crate::validate::default_runtime;

/// `compile_error!`s for `error`, then the function as callers expect it.
///
/// Under `#[threaded]` the function keeps its `Task<R>` signature (minus
/// `async`, `const` and `extern`, which were reported), so its callers
/// type-check as usual. The user's body is kept, in a closure handed to
/// `fallback_task` (never called), so errors in the body are still reported
/// (as tokio-macros does) and an `impl Trait` result gets its hidden type
/// from it; only an `async` body, whose `.await`s would cascade, is left out.
/// A plain `#[limiter]` function is emitted unchanged.
pub(crate) fn expand(plan: &Plan, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let rt = match plan.krate() {
        Some(path) => quote!(#path::__private),
        None => default_runtime(),
    };
    let mut func = plan.func.clone();
    if let Kind::Threaded { .. } = plan.kind {
        let was_async = func.sig.asyncness.take().is_some();
        func.sig.constness = None;
        func.sig.abi = None;
        let body = &func.block;
        // The declared type guides `?` and `return` in the body, unless it
        // holds an `impl Trait`, which a closure cannot be annotated with.
        let output = Output::of(&func.sig.output, &rt);
        let annotation = output.closure_annotation();
        func.block = if was_async {
            parse_quote!({ ::core::unimplemented!() })
        } else {
            parse_quote!({ #rt::fallback_task(move || #annotation #body) })
        };
        func.sig.output = output.task_type(&func.sig.output, &rt);
        func.attrs.push(parse_quote!(#[allow(
            unused_variables,
            unused_mut,
            unreachable_code,
            clippy::diverging_sub_expression
        )]));
    }
    quote!(#errors #func)
}
