//! Code generation: a validated [`Plan`] becomes the rewritten function.
//!
//! Generated code names only `::pymt::__private::..` (or `<crate>::__private::..`
//! with `crate = ".."`) and `::core`; helper bindings use mixed-site hygiene, so
//! the user's body can neither see nor clash with them.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::{parse_quote, FnArg, Ident, ItemFn, Pat, PatIdent, Path, ReturnType, Type};

use crate::args::{IntArg, LimitSource, ThreadedArgs};
use crate::ast::Plan;
use crate::ctxt::Errors;
use crate::send_bounds::{add_send_bounds, TypeScan};
use crate::validate::{Limit, Shape, Valid};
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
        Shape::Threaded { args, outer, inner } => {
            threaded_fn(func, &args, outer.as_ref(), &inner, &rt)
        }
        Shape::Limited(source) => limited_fn(func, &source, &rt),
    };
    func.into_token_stream()
}

/// `::pymt::__private`, or `<crate>::__private` with the `crate = ".."` override.
pub(crate) fn runtime(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::pymt::__private),
    }
}

/// `Task<R>` for the rewritten signature.
pub(crate) fn task_output(output: &ReturnType, rt: &TokenStream) -> ReturnType {
    match output {
        ReturnType::Default => parse_quote!(-> #rt::Task<()>),
        ReturnType::Type(arrow, ty) => parse_quote!(#arrow #rt::Task<#ty>),
    }
}

// ===== #[limiter] on a plain function =====

// Input:
//     #[limiter(2)]
//     fn resize(img: Image) -> Image { body }
//
// Output:
//     fn resize(img: Image) -> Image {
//         let __pymt_permit = {
//             static __PYMT_LIMITER: ::pymt::__private::Limiter =
//                 ::pymt::__private::count_limiter(2usize);
//             &__PYMT_LIMITER
//         }
//         .acquire();
//         body
//     }
//
// The permit is the first local, so it is dropped last: after the body
// returns or while a panic unwinds.
fn limited_fn(mut func: ItemFn, limiter: &LimitSource, rt: &TokenStream) -> ItemFn {
    let permit = Ident::new("__pymt_permit", Span::mixed_site());
    let limiter = limiter_ref(limiter, rt);
    func.block
        .stmts
        .insert(0, parse_quote!(let #permit = #limiter.acquire();));
    func
}

/// An expression of type `&'static Limiter`, resolved once per function.
/// A literal count is one `static Limiter` (a count it cannot hold fails
/// the static's evaluation: a compile error); a path is resolved on first
/// call, by its type.
///
/// The static sits in a block of its own, so that several expansions in one
/// function never clash and the user's body cannot see it.
fn limiter_ref(limiter: &LimitSource, rt: &TokenStream) -> TokenStream {
    let source = match limiter {
        LimitSource::Count(count) => {
            let lit = usize_literal(*count, true);
            return quote! {
                {
                    static __PYMT_LIMITER: #rt::Limiter = #rt::count_limiter(#lit);
                    &__PYMT_LIMITER
                }
            };
        }
        LimitSource::Path(path) => quote!(&#path),
    };
    quote! {
        {
            static __PYMT_LIMITER: #rt::LimiterSlot = #rt::LimiterSlot::new();
            __PYMT_LIMITER.get(|| #rt::limiter_of(#source))
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
//     pub fn fetch<T: Into<u32> + ::core::marker::Send + 'static>(
//         key: T,
//         __pymt_arg1: (u8, u8),
//     ) -> ::pymt::__private::Task<u64>
//     where
//         u64: ::core::marker::Send + 'static,
//     {
//         let __pymt_pool = {
//             static __PYMT_POOL: ::pymt::__private::PoolSlot =
//                 ::pymt::__private::PoolSlot::new("io", ::core::option::Option::Some(2));
//             &__PYMT_POOL
//         };
//         ::pymt::__private::Launch::<u64>::new()
//             .priority(3)
//             .callback(log)
//             .pool(__pymt_pool, move || -> u64 {
//                 let _ = &key;
//                 let _ = &__pymt_arg1;
//                 let (a, b) = __pymt_arg1;
//                 body_statements
//             })
//     }
//
// `let _ = &key;` makes the closure capture each argument whole, so arguments
// are dropped on the worker after the body, as they would be in the original
// function (edition 2021 closures would otherwise capture only the fields used).
// The body's statements become the closure's, so `return` and `?` leave the
// closure exactly as they left the function.
//
// With a limiter above `#[threaded]`, the caller first runs
// `let __pymt_permit = <limiter>.acquire();` and the chain gains
// `.permit(__pymt_permit)`; with `blocking = false` it gains
// `.deferred(<limiter>)` instead. A limiter below `#[threaded]` becomes a
// `let __pymt_permit_N = <limiter>.acquire();` at the top of the closure.
fn threaded_fn(
    mut func: ItemFn,
    args: &ThreadedArgs,
    outer: Option<&Limit>,
    inner: &[LimitSource],
    rt: &TokenStream,
) -> ItemFn {
    let output = Output::of(&func.sig.output);
    add_send_bounds(&mut func, &output);
    let captures = capture_arguments(&mut func);
    let inner_permits = inner.iter().enumerate().map(|(i, limiter)| {
        let permit = format_ident!("__pymt_permit_{}", i, span = Span::mixed_site());
        let limiter = limiter_ref(limiter, rt);
        quote!(let #permit = #limiter.acquire();)
    });
    let body = &func.block.stmts;
    let ret = output.closure_annotation();
    let closure = quote! {
        move || #ret {
            #(#captures)*
            #(#inner_permits)*
            #(#body)*
        }
    };

    let mut prelude = TokenStream::new();
    let mut chain = options_chain(args);
    if let Some(outer) = outer {
        let limiter = limiter_ref(&outer.source, rt);
        if outer.deferred {
            chain.extend(quote!(.deferred(#limiter)));
        } else {
            let permit = Ident::new("__pymt_permit", Span::mixed_site());
            prelude.extend(quote!(let #permit = #limiter.acquire();));
            chain.extend(quote!(.permit(#permit)));
        }
    }
    let launch = launch_call(args, &func.sig.ident, rt, &mut prelude, &closure);
    let turbofish = output.turbofish();
    func.block = parse_quote!({
        #prelude
        #rt::Launch #turbofish ::new() #chain #launch
    });
    func.sig.output = task_output(&func.sig.output, rt);
    func
}

/// `.priority(..)`, `.name(..)`, `.callback(..)`, `.on_error(..)` as given.
fn options_chain(args: &ThreadedArgs) -> TokenStream {
    let mut chain = TokenStream::new();
    if let Some(priority) = args.priority {
        let mut lit = Literal::u32_unsuffixed(priority.value.unsigned_abs());
        lit.set_span(priority.span);
        let sign = (priority.value < 0).then(|| quote_spanned!(priority.span=> -));
        chain.extend(quote!(.priority(#sign #lit)));
    }
    if let Some(name) = &args.name {
        chain.extend(quote!(.name(#name)));
    }
    if let Some(callback) = &args.callback {
        chain.extend(quote!(.callback(#callback)));
    }
    if let Some(on_error) = &args.on_error {
        chain.extend(quote!(.on_error(#on_error)));
    }
    chain
}

/// `.thread(closure)`, `.pool(slot, closure)` or `.daemon(slot, closure)`; the
/// slot's static goes into `prelude`.
fn launch_call(
    args: &ThreadedArgs,
    ident: &Ident,
    rt: &TokenStream,
    prelude: &mut TokenStream,
    closure: &TokenStream,
) -> TokenStream {
    let fn_name = Literal::string(&ident.unraw().to_string());
    let qualified = quote!(::core::concat!(::core::module_path!(), "::", #fn_name));
    if args.daemon.is_some() {
        let slot = Ident::new("__pymt_daemon", Span::mixed_site());
        prelude.extend(quote! {
            let #slot = {
                static __PYMT_DAEMON: #rt::DaemonSlot = #rt::DaemonSlot::new(#qualified);
                &__PYMT_DAEMON
            };
        });
        return quote!(.daemon(#slot, #closure));
    }
    let name = match (&args.pool_name, args.pool) {
        (Some(pool_name), _) => pool_name.to_token_stream(),
        (None, Some(_)) => qualified,
        (None, None) => return quote!(.thread(#closure)),
    };
    let max = match args.max_workers {
        Some(max) => {
            let lit = usize_literal(max, false);
            quote!(::core::option::Option::Some(#lit))
        }
        None => quote!(::core::option::Option::None),
    };
    let slot = Ident::new("__pymt_pool", Span::mixed_site());
    prelude.extend(quote! {
        let #slot = {
            static __PYMT_POOL: #rt::PoolSlot = #rt::PoolSlot::new(#name, #max);
            &__PYMT_POOL
        };
    });
    quote!(.pool(#slot, #closure))
}

/// A `usize` literal carrying the user's span; suffixed where inference
/// must pick the `usize` implementation of `LimiterSource`.
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
/// `name: T` stays as written and is captured whole with `let _ = &name;`.
/// A pattern (`(a, b): (u8, u8)`, `_: T`, `ref x: T`) becomes `__pymt_argN: T`
/// in the signature and is destructured inside the closure.
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
                    ..
                }) = &*arg.pat
                {
                    captures.push(quote!(#(#attrs)* let _ = &#ident;));
                    continue;
                }
                let name = format_ident!("__pymt_arg{}", i, span = Span::mixed_site());
                let pat = std::mem::replace(&mut *arg.pat, parse_quote!(#name));
                captures.push(quote!(#(#attrs)* let _ = &#name;));
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
    /// `None` for `()` written as no return type.
    pub(crate) ty: Option<Type>,
    /// `R` contains `impl Trait`, which neither a turbofish nor a closure
    /// annotation may name; inference fills both in then.
    opaque: bool,
}

impl Output {
    pub(crate) fn of(output: &ReturnType) -> Self {
        match output {
            ReturnType::Default => Self {
                ty: None,
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
}
