//! Code generation: a validated [`Plan`] becomes the rewritten function.
//!
//! Generated code names only `::pymt::__private::..` (or `<crate>::__private::..`
//! with `crate = ".."`) and `::core`; helper bindings use mixed-site hygiene, so
//! the user's body can neither see nor clash with them.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{parse_quote, FnArg, Ident, ItemFn, Pat, PatIdent, ReturnType, Type};

use crate::args::{IntArg, LimitSource, ThreadedArgs, Value};
use crate::ast::Plan;
use crate::ctxt::Errors;
use crate::send_bounds::{add_send_bounds, ungroup, TypeScan};
use crate::stack::{self, OuterLimiter};
use crate::validate::{Placement, Shape, Valid};
use crate::{fallback, validate};

/// Entry point of `#[threaded]`.
pub(crate) fn threaded(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Plan::threaded, args, item)
}

/// Entry point of `#[limiter]`.
pub(crate) fn limiter(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Plan::limiter, args, item)
}

type Build = fn(TokenStream, TokenStream, &mut Errors) -> Result<Plan, TokenStream>;

/// parse -> validate -> expand, or the fallback when anything was wrong.
fn run(build: Build, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let plan = match build(args, item, &mut errors) {
        Ok(plan) => plan,
        Err(item_with_error) => {
            let other = errors.finish().err().map(|e| e.to_compile_error());
            return quote!(#other #item_with_error);
        }
    };
    match validate::check(plan, errors) {
        Ok(valid) => expand(valid),
        Err(refused) => {
            let (plan, error) = *refused;
            fallback::expand(&plan, &error)
        }
    }
}

/// Generates the function for a plan that passed validation.
fn expand(valid: Valid) -> TokenStream {
    let Valid {
        func,
        shape,
        runtime: rt,
    } = valid;
    let func = match shape {
        Shape::Threaded { args, outer } => threaded_fn(func, &args, outer.as_ref(), &rt),
        Shape::Limited { source, placement } => limited_fn(func, &source, &placement, &rt),
    };
    func.into_token_stream()
}

// ===== #[limiter] =====

// Input:
//     #[limiter(2)]
//     fn resize(img: Image) -> Image { body }
//
// Output:
//     fn resize(img: Image) -> Image {
//         let _ = &{
//             static __PYMT_LIMITER: ::pymt::__private::Limiter =
//                 ::pymt::__private::Limiter::new(2usize);
//             &__PYMT_LIMITER
//         }
//         .acquire();
//         body
//     }
//
// The permit is the first local, so it is dropped last: after the body
// returns or while a panic unwinds. A `#[threaded]` expanding later (it sat
// below this attribute) takes that statement out and has the caller take the
// permit instead; with `blocking = false` the statement is the deferral
// marker (see `stack.rs`). Below a `#[threaded]`, the same `let` goes at
// the top of the launch closure, so the body holds the permit.
fn limited_fn(
    mut func: ItemFn,
    source: &LimitSource,
    placement: &Placement,
    rt: &TokenStream,
) -> ItemFn {
    let limiter = limiter_ref(source, rt);
    match placement {
        Placement::Body => func
            .block
            .stmts
            .insert(0, stack::permit_statement(&limiter)),
        Placement::Deferred(span) => func
            .block
            .stmts
            .insert(0, stack::deferred_statement(rt, &limiter, *span)),
        Placement::Worker => {
            if let Some((_, closure)) = stack::launch_closure(&mut func.block) {
                stack::prepend_to_closure(closure, stack::permit_statement(&limiter));
            }
        }
    }
    func
}

/// An expression of type `&'static Limiter`.
///
/// A count (a literal or a constant expression) is a `static Limiter` of its
/// own, evaluated at compile time, so a bad count is a compile error and a
/// call costs no lazy initialisation. A path goes through a `LimitSlot`,
/// which tells a `const` count from a `static` `Limiter` by type. Either way
/// the statics sit in a block of their own, so several expansions in one
/// function never clash and the user's body cannot see them, and the limit
/// is evaluated in a `static`, where a generic parameter of an enclosing
/// item is a compile error rather than a limiter shared by every
/// instantiation.
fn limiter_ref(limiter: &LimitSource, rt: &TokenStream) -> TokenStream {
    match limiter {
        LimitSource::Count(count) => {
            let lit = usize_literal(*count, true);
            quote! {{
                static __PYMT_LIMITER: #rt::Limiter = #rt::Limiter::new(#lit);
                &__PYMT_LIMITER
            }}
        }
        LimitSource::Expr(expr) => {
            let ty = quote_spanned!(expr.span()=> usize);
            quote! {{
                static __PYMT_LIMITER: #rt::Limiter = #rt::Limiter::new({
                    const __PYMT_LIMIT: #ty = #expr;
                    __PYMT_LIMIT
                });
                &__PYMT_LIMITER
            }}
        }
        LimitSource::Path(path) => {
            let source = quote_spanned!(path.span()=> #rt::LimitSlot::new(&#path));
            quote! {{
                static __PYMT_LIMITER: #rt::LimitSlot = #source;
                __PYMT_LIMITER.get()
            }}
        }
    }
}

// ===== #[threaded] =====

// Input:
//     /// Docs.
//     #[threaded(pool_name = "io", max_workers = 2, priority = 3, callback = log)]
//     pub fn fetch<T: Into<u32>>(key: T, (a, b): (u8, u8)) -> u64 { body }
//
// Output:
//     /// Docs.
//     pub fn fetch<T: Into<u32>>(key: T, __pymt_arg1: (u8, u8)) -> ::pymt::__private::Task<u64>
//     where
//         T: ::pymt::__private::Send + 'static,
//     {
//         ::pymt::__private::Launch::<u64>::new()
//             .priority(3)
//             .callback({ let __pymt_callback: fn(&u64) = log; __pymt_callback })
//             .pool(
//                 {
//                     static __PYMT_POOL: ::pymt::__private::PoolSlot =
//                         ::pymt::__private::PoolSlot::new("io", ::pymt::__private::Option::Some(2));
//                     &__PYMT_POOL
//                 },
//                 move || -> u64 {
//                     let key = key;
//                     let mut __pymt_arg1 = __pymt_arg1;
//                     let (a, b) = __pymt_arg1;
//                     body_statements
//                 },
//             )
//     }
//
// `let key = key;` moves each argument into the closure whole, so arguments
// are dropped on the worker after the body, as they would be in the original
// function (edition 2021 closures would otherwise capture only the fields
// used), and an argument the body never uses still gets its
// `unused_variables` warning. The body's statements become the closure's, so
// `return` and `?` leave the closure exactly as they left the function.
//
// With a limiter above `#[threaded]` the chain gains `.permit(<limiter>.acquire())`
// (the caller waits), or `.deferred(<limiter>)` with `blocking = false`.
fn threaded_fn(
    mut func: ItemFn,
    args: &ThreadedArgs,
    outer: Option<&OuterLimiter>,
    rt: &TokenStream,
) -> ItemFn {
    let output = Output::of(&func.sig.output, rt);
    add_send_bounds(&mut func, rt);
    let captures = capture_arguments(&mut func);
    let body = &func.block.stmts;
    let ret = output.closure_annotation();
    let closure = quote! {
        move || #ret {
            #(#captures)*
            #(#body)*
        }
    };
    let mut chain = options_chain(args, &output, rt);
    if let Some(outer) = outer {
        let limiter = &outer.limiter;
        if outer.deferred {
            chain.extend(quote!(.deferred(#limiter)));
        } else {
            chain.extend(quote!(.permit(#limiter.acquire())));
        }
    }
    let launch = launch_call(args, &func.sig.ident, rt, &closure);
    let turbofish = output.turbofish();
    let brace_token = func.block.brace_token;
    func.block = parse_quote!({
        #rt::Launch #turbofish ::new() #chain #launch
    });
    // The user's braces keep their spans, so lints about the function (such
    // as `dead_code`) are reported as on any function of the user's.
    func.block.brace_token = brace_token;
    func.sig.output = output.task_type(&func.sig.output, rt);
    func
}

/// `.priority(..)`, `.name(..)`, `.callback(..)`, `.on_error(..)` as given.
///
/// A value that is not a literal is evaluated in a `const` of the option's
/// type, and a callback is coerced to its `fn` pointer type in a `let`, so a
/// wrong type is reported at the user's token, against the option's type.
fn options_chain(args: &ThreadedArgs, output: &Output, rt: &TokenStream) -> TokenStream {
    let mut chain = TokenStream::new();
    match &args.priority {
        Some(Value::Lit(priority)) => {
            let mut lit = Literal::u32_unsuffixed(priority.value.unsigned_abs());
            lit.set_span(priority.span);
            let sign = (priority.value < 0).then(|| quote_spanned!(priority.span=> -));
            chain.extend(quote!(.priority(#sign #lit)));
        }
        Some(Value::Expr(expr)) => {
            let value = const_value(expr, quote_spanned!(expr.span()=> i32));
            chain.extend(quote!(.priority(#value)));
        }
        None => {}
    }
    match &args.name {
        Some(Value::Lit(name)) => chain.extend(quote!(.name(#name))),
        Some(Value::Expr(expr)) => {
            let value = const_value(expr, quote_spanned!(expr.span()=> &'static str));
            chain.extend(quote!(.name(#value)));
        }
        None => {}
    }
    if let Some(callback) = &args.callback {
        let ty = output.callback_type();
        let value = coerced(callback, "__pymt_callback", ty);
        chain.extend(quote!(.callback(#value)));
    }
    if let Some(on_error) = &args.on_error {
        let ty = quote_spanned!(on_error.span()=> fn(&#rt::TaskError));
        let value = coerced(on_error, "__pymt_on_error", Some(ty));
        chain.extend(quote!(.on_error(#value)));
    }
    chain
}

/// `const { let value: ty = expr; value }`: `expr` evaluated at compile
/// time as a `ty`, in an inline `const` block, which (unlike a `const` item)
/// may name `Self` and the function's generic parameters.
fn const_value(expr: &syn::Expr, ty: TokenStream) -> TokenStream {
    let value = Ident::new("__pymt_value", Span::mixed_site());
    quote!(const {
        let #value: #ty = #expr;
        #value
    })
}

/// `{ let name: ty = path; name }`: the callback as its `fn` pointer type.
fn coerced(path: &syn::ExprPath, name: &str, ty: Option<TokenStream>) -> TokenStream {
    match ty {
        Some(ty) => {
            let name = Ident::new(name, Span::mixed_site());
            quote!({
                let #name: #ty = #path;
                #name
            })
        }
        None => path.to_token_stream(),
    }
}

/// `.thread(closure)`, `.pool(slot, closure)` or `.daemon(slot, closure)`,
/// the slot a `static` in a block of its own.
fn launch_call(
    args: &ThreadedArgs,
    ident: &Ident,
    rt: &TokenStream,
    closure: &TokenStream,
) -> TokenStream {
    let fn_name = Literal::string(&ident.unraw().to_string());
    let qualified = quote!(#rt::concat!(#rt::module_path!(), "::", #fn_name));
    if args.daemon.is_some() {
        return quote! {
            .daemon(
                {
                    static __PYMT_DAEMON: #rt::DaemonSlot = #rt::DaemonSlot::new(#qualified);
                    &__PYMT_DAEMON
                },
                #closure
            )
        };
    }
    let (constructor, name) = match (&args.pool_name, args.pool) {
        (Some(Value::Lit(name)), _) => (quote!(new), name.to_token_stream()),
        (Some(Value::Expr(expr)), _) => (
            quote!(new),
            quote_spanned!(expr.span()=> #rt::pool_name(#expr)),
        ),
        (None, Some(_)) => (quote!(private), qualified),
        (None, None) => return quote!(.thread(#closure)),
    };
    let max = match &args.max_workers {
        Some(Value::Lit(max)) => {
            let lit = usize_literal(*max, false);
            quote!(#rt::Option::Some(#lit))
        }
        Some(Value::Expr(expr)) => {
            quote!(#rt::Option::Some(#rt::max_workers(#expr)))
        }
        None => quote!(#rt::Option::None),
    };
    quote! {
        .pool(
            {
                static __PYMT_POOL: #rt::PoolSlot = #rt::PoolSlot::#constructor(#name, #max);
                &__PYMT_POOL
            },
            #closure
        )
    }
}

/// A `usize` literal carrying the user's span; suffixed where inference
/// must pick `usize`.
fn usize_literal(arg: IntArg<usize>, suffixed: bool) -> Literal {
    let mut lit = if suffixed {
        Literal::usize_suffixed(arg.value)
    } else {
        Literal::usize_unsuffixed(arg.value)
    };
    lit.set_span(arg.span);
    lit
}

/// Moves every argument into the closure.
///
/// `name: T` stays in the signature (without `mut`, which moves to the
/// closure's `let mut name = name;`). A pattern (`(a, b): (u8, u8)`, `_: T`,
/// `ref x: T`) becomes `__pymt_argN: T` in the signature and is destructured
/// inside the closure, after `let mut __pymt_argN = __pymt_argN;` moves it whole into a
/// local (dropped in order with the others; `ref mut` patterns borrow it).
fn capture_arguments(func: &mut ItemFn) -> Vec<TokenStream> {
    let mut captures = Vec::new();
    for (i, input) in func.sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                let self_token = receiver.self_token;
                captures.push(quote!(let _ = &#self_token;));
            }
            FnArg::Typed(arg) => {
                let attrs = &arg.attrs;
                if let Pat::Ident(PatIdent {
                    by_ref: None,
                    subpat: None,
                    ident,
                    mutability,
                    ..
                }) = &mut *arg.pat
                {
                    let mutability = mutability.take();
                    captures.push(quote!(#(#attrs)* let #mutability #ident = #ident;));
                    continue;
                }
                let name = quote::format_ident!("__pymt_arg{}", i, span = Span::mixed_site());
                let pat = std::mem::replace(&mut *arg.pat, parse_quote!(#name));
                // A local of the closure, not a captured upvar: it drops with
                // the other arguments in reverse order (upvars drop after
                // every local), and `mut` lets `ref mut` patterns borrow it.
                captures.push(quote!(#(#attrs)* #[allow(unused_mut)] let mut #name = #name;));
                if !matches!(pat, Pat::Wild(_)) {
                    captures.push(quote!(#(#attrs)* let #pat = #name;));
                }
            }
        }
    }
    captures
}

/// The function's return type `R`, as the closure and `Launch::<R>` need it.
pub(crate) struct Output {
    /// `None` for `()` written as no return type; `Infallible` for `!`.
    pub(crate) ty: Option<Type>,
    /// `R` contains `impl Trait`, which neither a turbofish nor a closure
    /// annotation may name; inference fills both in then.
    opaque: bool,
}

impl Output {
    pub(crate) fn of(output: &ReturnType, rt: &TokenStream) -> Self {
        match output {
            ReturnType::Default => Self {
                ty: None,
                opaque: false,
            },
            // `Task<!>` needs an unstable feature; a body that never returns
            // makes a task that never succeeds, whatever its type.
            ReturnType::Type(_, ty) if matches!(ungroup(ty), Type::Never(_)) => Self {
                ty: Some(parse_quote_spanned_ty(ty.span(), rt)),
                opaque: false,
            },
            ReturnType::Type(_, ty) => Self {
                opaque: TypeScan::of(ty).impl_trait,
                ty: Some((**ty).clone()),
            },
        }
    }

    /// `-> R` on the closure, so `return` and `?` infer as in the original.
    pub(crate) fn closure_annotation(&self) -> Option<TokenStream> {
        match &self.ty {
            Some(ty) if !self.opaque => Some(quote!(-> #ty)),
            _ => None,
        }
    }

    /// `::<R>` on `Launch`.
    fn turbofish(&self) -> Option<TokenStream> {
        match &self.ty {
            _ if self.opaque => None,
            Some(ty) => Some(quote!(::<#ty>)),
            None => Some(quote!(::<()>)),
        }
    }

    /// `fn(&R)`, the type a `callback` must coerce to; `None` when `R` is opaque.
    fn callback_type(&self) -> Option<TokenStream> {
        match &self.ty {
            _ if self.opaque => None,
            Some(ty) => Some(quote_spanned!(ty.span()=> fn(&#ty))),
            None => Some(quote!(fn(&()))),
        }
    }

    /// `-> Task<R>` for the rewritten signature.
    pub(crate) fn task_type(&self, output: &ReturnType, rt: &TokenStream) -> ReturnType {
        let arrow = match output {
            ReturnType::Type(arrow, _) => *arrow,
            ReturnType::Default => Default::default(),
        };
        match (&self.ty, output) {
            (Some(_), ReturnType::Type(_, written))
                if !matches!(ungroup(written), Type::Never(_)) =>
            {
                parse_quote!(#arrow #rt::Task<#written>)
            }
            (Some(ty), _) => parse_quote!(#arrow #rt::Task<#ty>),
            (None, _) => parse_quote!(#arrow #rt::Task<()>),
        }
    }
}

/// `<rt>::Infallible`, standing for `!`.
fn parse_quote_spanned_ty(span: Span, rt: &TokenStream) -> Type {
    syn::parse_quote_spanned!(span=> #rt::Infallible)
}
