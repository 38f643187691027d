//! How `#[limiter]` and `#[threaded]` find each other's expansion.
//!
//! Each attribute reads what the other one *generated*, not what it is
//! called, so renamed imports (`use pymt::limiter as throttle;`) stack
//! exactly as the plain names do. The two shapes read here are the ones
//! `expand.rs` writes:
//!
//! - a `#[limiter]` on a function begins the body with
//!   `let _ = &{ static __PYMT_LIMITER: .. }.acquire();`, or with
//!   `<rt>::deferred_limiter!(<limiter>);` for `blocking = false` (a macro
//!   that is a compile error unless a `#[threaded]` below takes it out);
//! - a `#[threaded]` function's body ends in
//!   `<rt>::Launch::<R>::new() .. .pool(slot, move || { .. })` (or
//!   `.thread(..)` / `.daemon(..)`), with the closure as the last argument.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Block, Expr, ExprClosure, Pat, Stmt};

/// The name of the `static` in every limiter expression the expansion writes.
const LIMITER_STATIC: &str = "__PYMT_LIMITER";
/// The last segment of the deferral marker's path.
const DEFERRED: &str = "deferred_limiter";

/// A `#[limiter]` that expanded above the `#[threaded]` now expanding.
pub(crate) struct OuterLimiter {
    /// An expression of type `&'static Limiter`.
    pub(crate) limiter: Expr,
    /// `blocking = false`: the task waits in the limiter, not the caller.
    pub(crate) deferred: bool,
    /// The limiter attribute, for messages.
    pub(crate) span: Span,
}

/// The statement a `#[limiter]` on a function puts first in its body.
///
/// The permit has no name: `let _ = &temporary;` keeps the temporary alive to
/// the end of the block (temporary lifetime extension), and a named binding
/// could collide with a user's `const` of that name.
pub(crate) fn permit_statement(limiter: &TokenStream) -> Stmt {
    let let_token = quote_spanned!(Span::call_site()=> let);
    syn::parse_quote!(#let_token _ = &#limiter.acquire();)
}

/// The statement a `#[limiter(.., blocking = false)]` puts first in its body.
pub(crate) fn deferred_statement(rt: &TokenStream, limiter: &TokenStream, span: Span) -> Stmt {
    let bang = quote_spanned!(span=> !);
    syn::parse_quote!(#rt::deferred_limiter #bang { #limiter })
}

/// Takes the statements earlier `#[limiter]` expansions put at the top of
/// `block`, in source order (the outermost attribute first).
pub(crate) fn take_outer_limiters(block: &mut Block) -> Vec<OuterLimiter> {
    let mut found = Vec::new();
    while let Some(stmt) = block.stmts.first() {
        let Some(limiter) = outer_limiter(stmt) else {
            break;
        };
        found.push(limiter);
        block.stmts.remove(0);
    }
    // The attribute closest to the function expanded last, so its statement
    // is first.
    found.reverse();
    found
}

fn outer_limiter(stmt: &Stmt) -> Option<OuterLimiter> {
    match stmt {
        Stmt::Local(local) => {
            if !matches!(local.pat, Pat::Wild(_)) {
                return None;
            }
            let init = local.init.as_ref().filter(|init| init.diverge.is_none())?;
            let Expr::Reference(borrow) = &*init.expr else {
                return None;
            };
            let Expr::MethodCall(call) = &*borrow.expr else {
                return None;
            };
            let ours = call.method == "acquire" && is_limiter_expr(&call.receiver);
            ours.then(|| OuterLimiter {
                limiter: (*call.receiver).clone(),
                deferred: false,
                span: local.let_token.span,
            })
        }
        Stmt::Macro(mac) if is_private_path(&mac.mac.path, DEFERRED) => Some(OuterLimiter {
            limiter: mac.mac.parse_body().ok()?,
            deferred: true,
            span: mac.mac.bang_token.span,
        }),
        _ => None,
    }
}

/// The closure of a `#[threaded]` expansion in `block`, with the runtime
/// path its `Launch` was named by; `None` if `block` is not one.
pub(crate) fn launch_closure(block: &mut Block) -> Option<(TokenStream, &mut ExprClosure)> {
    let Some(Stmt::Expr(Expr::MethodCall(call), None)) = block.stmts.last_mut() else {
        return None;
    };
    let rt = launch_runtime(&call.receiver)?;
    match call.args.last_mut()? {
        Expr::Closure(closure) => Some((rt, closure)),
        _ => None,
    }
}

/// `<rt>` when `chain` is `<rt>::Launch::<R>::new()` followed by option calls.
fn launch_runtime(mut chain: &Expr) -> Option<TokenStream> {
    while let Expr::MethodCall(call) = chain {
        chain = &call.receiver;
    }
    let Expr::Call(call) = chain else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segments: Vec<_> = path.path.segments.iter().collect();
    let [.., private, launch, new] = segments[..] else {
        return None;
    };
    if private.ident != "__private" || launch.ident != "Launch" || new.ident != "new" {
        return None;
    }
    let colon = path.path.leading_colon;
    let rt = segments[..segments.len() - 2].iter();
    Some(quote!(#colon #(#rt)::*))
}

/// Whether `expr` is a limiter expression of the expansion's:
/// `{ static __PYMT_LIMITER: .. ; .. }`.
fn is_limiter_expr(expr: &Expr) -> bool {
    let Expr::Block(block) = expr else {
        return false;
    };
    matches!(block.block.stmts.first(),
        Some(Stmt::Item(syn::Item::Static(item))) if item.ident == LIMITER_STATIC)
}

/// Whether `path` is `<rt>::__private::<last>`.
fn is_private_path(path: &syn::Path, last: &str) -> bool {
    let mut rev = path.segments.iter().rev();
    let end = rev.next().is_some_and(|s| s.ident == last);
    end && rev.next().is_some_and(|s| s.ident == "__private")
}

/// Puts `stmt` first in the closure's body.
pub(crate) fn prepend_to_closure(closure: &mut ExprClosure, stmt: Stmt) {
    match &mut *closure.body {
        Expr::Block(block) => block.block.stmts.insert(0, stmt),
        body => {
            let span = body.span();
            let old = body.to_token_stream();
            *body = syn::parse_quote_spanned!(span=> { #stmt #old });
        }
    }
}
