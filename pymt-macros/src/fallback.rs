//! What is emitted when the attribute or the function is wrong: the errors,
//! plus a function with the signature callers expect, "to minimize spurious
//! secondary errors" (thiserror's `fallback.rs`, tokio's `DEFAULT_ERROR_CONFIG`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse_quote;

use crate::ast::Plan;
use crate::expand::{runtime, task_output};

/// `compile_error!`s for `error`, then the function as callers expect it.
///
/// Under `#[threaded]` the function keeps its `Task<R>` signature (minus
/// `async`, `const` and `extern`, which were reported) with a body that is
/// never run, so its callers type-check as usual. A plain `#[limiter]`
/// function is emitted unchanged.
pub(crate) fn expand(plan: &Plan, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let rt = runtime(plan.krate());
    let mut func = plan.func.clone();
    if plan.threaded.is_some() {
        func.sig.constness = None;
        func.sig.asyncness = None;
        func.sig.abi = None;
        func.sig.output = task_output(&func.sig.output, &rt);
        func.block = parse_quote!({ ::core::unimplemented!() });
        func.attrs
            .push(parse_quote!(#[allow(unused_variables, unused_mut)]));
    }
    plan.mark_taken_used(&mut func);
    quote!(#errors #func)
}
