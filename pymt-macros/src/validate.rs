//! Checks on a [`Plan`]: every mistake is recorded, none stops the others,
//! and a plan without mistakes becomes a [`Valid`] model that expansion
//! consumes as it is (nothing left to check or unwrap there).
//!
//! Each message points at the offending token and says how to fix it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, Generics, Lifetime, Signature, Type, TypeReference};

use crate::args::{LimitSource, LimiterArgs, ThreadedArgs, Value};
use crate::ast::{Kind, Plan};
use crate::ctxt::Errors;
use crate::stack::OuterLimiter;

/// A plan that passed validation, in the shape expansion needs.
pub(crate) struct Valid {
    /// The function, with the markers consumed here removed.
    pub(crate) func: syn::ItemFn,
    pub(crate) shape: Shape,
    /// The runtime's path (`::pymt::__private` or the `crate` override).
    pub(crate) runtime: TokenStream,
}

/// How the function is rewritten.
pub(crate) enum Shape {
    /// `#[threaded]`, with the limiter that expanded above it, if any.
    Threaded {
        args: Box<ThreadedArgs>,
        /// Above `#[threaded]`: the caller waits (or the task waits, when
        /// deferred) for a permit.
        outer: Option<OuterLimiter>,
    },
    /// `#[limiter]`, on a function or below `#[threaded]`.
    Limited {
        source: LimitSource,
        placement: Placement,
    },
}

/// Where a `#[limiter]`'s permit is taken.
pub(crate) enum Placement {
    /// At the top of the function's body (the caller's thread), or, once a
    /// `#[threaded]` below takes the statement out, by the caller of the
    /// threaded function.
    Body,
    /// `blocking = false` (at the span of `false`): a marker that a
    /// `#[threaded]` below turns into a deferred launch.
    Deferred(Span),
    /// At the top of the closure of the `#[threaded]` expansion this limiter
    /// sits below: the body holds the permit on the worker.
    Worker,
}

/// Checks `plan`: the valid model, or the plan back (for the fallback)
/// with every problem found.
pub(crate) fn check(plan: Plan, mut errors: Errors) -> Result<Valid, Box<(Plan, syn::Error)>> {
    record(&plan, &mut errors);
    if let Err(error) = errors.finish() {
        return Err(Box::new((plan, error)));
    }
    let own = plan.krate().map(|path| quote::quote!(#path::__private));
    let Plan { func, kind } = plan;
    let (shape, runtime) = match kind {
        Kind::Threaded { args, mut outer } => {
            let runtime = own.unwrap_or_else(default_runtime);
            let outer = outer.pop();
            (Shape::Threaded { args, outer }, runtime)
        }
        Kind::Limiter {
            args,
            below_threaded,
        } => {
            let Some(source) = args.source.clone() else {
                // Parsing reports a missing limit; this keeps the check total.
                let error = syn::Error::new(Span::call_site(), "`#[limiter]` needs a limit");
                let kind = Kind::Limiter {
                    args,
                    below_threaded,
                };
                return Err(Box::new((Plan { func, kind }, error)));
            };
            let (placement, runtime) = match (below_threaded, &args.blocking) {
                (Some(rt), _) => (Placement::Worker, own.unwrap_or(rt)),
                (None, Some(b)) if !b.value => (
                    Placement::Deferred(b.span),
                    own.unwrap_or_else(default_runtime),
                ),
                (None, _) => (Placement::Body, own.unwrap_or_else(default_runtime)),
            };
            (Shape::Limited { source, placement }, runtime)
        }
    };
    Ok(Valid {
        func,
        shape,
        runtime,
    })
}

/// `::pymt::__private`.
pub(crate) fn default_runtime() -> TokenStream {
    quote::quote!(::pymt::__private)
}

/// Records every problem of `plan` in `errors`.
fn record(plan: &Plan, errors: &mut Errors) {
    match &plan.kind {
        Kind::Threaded { args, outer, .. } => {
            threaded_args(args, errors);
            threaded_signature(&plan.func.sig, errors);
            for extra in outer.iter().skip(1) {
                errors.error_at(
                    extra.span,
                    "only one `#[limiter]` may sit above `#[threaded]`; move this one below \
                     `#[threaded]` (its permit is then held by the body) or merge the two",
                );
            }
        }
        Kind::Limiter {
            args,
            below_threaded,
        } => {
            limiter(args, &plan.func.sig.generics, errors);
            if below_threaded.is_some() {
                limiter_below_threaded(args, errors);
            } else {
                limited_signature(&plan.func.sig, errors);
            }
        }
    }
}

// ===== #[threaded] =====

fn threaded_args(args: &ThreadedArgs, errors: &mut Errors) {
    if let (Some(daemon), Some(_)) = (args.daemon, &args.pool_name) {
        errors.error_at(
            daemon,
            "`daemon` and `pool_name` cannot be combined: a daemon function has one \
             dedicated worker of its own; remove `daemon` to run on the named pool, or \
             `pool_name` to keep the daemon",
        );
    }
    if let (Some(daemon), Some(_)) = (args.daemon, args.pool) {
        errors.error_at(
            daemon,
            "`daemon` and `pool` cannot be combined: choose one dedicated worker (`daemon`) \
             or a pool of workers (`pool`)",
        );
    }
    if let (Some(pool), Some(_)) = (args.pool, &args.pool_name) {
        errors.error_at(
            pool,
            "`pool` and `pool_name` cannot be combined: `pool` gives this function a pool \
             of its own, `pool_name` shares a named one; keep one of them",
        );
    }
    if let Some(max) = &args.max_workers {
        if args.pool.is_none() && args.pool_name.is_none() {
            let why = if args.daemon.is_some() {
                "a daemon function has exactly one worker"
            } else {
                "without a pool every call gets a thread of its own"
            };
            let shown = match max {
                Value::Lit(lit) => lit.value.to_string(),
                Value::Expr(expr) => expr.to_token_stream().to_string(),
            };
            errors.error_at(
                max.span(),
                format_args!(
                    "`max_workers` needs `pool` or `pool_name`: {why}; write \
                     `#[threaded(pool, max_workers = {shown})]`"
                ),
            );
        }
        if matches!(max, Value::Lit(lit) if lit.value == 0) {
            errors.error_at(
                max.span(),
                "`max_workers = 0` would never run anything; it must be at least 1",
            );
        }
    }
    if let Some(Value::Lit(pool_name)) = &args.pool_name {
        let value = pool_name.value();
        if value.trim().is_empty() {
            errors.error_spanned(
                pool_name,
                "`pool_name` must not be empty; name the pool, e.g. `pool_name = \"io\"`, \
                 or use `pool` for a pool private to this function",
            );
        }
        if value.contains('\0') {
            errors.error_spanned(
                pool_name,
                "`pool_name` must not contain a NUL character: it names the pool's threads",
            );
        }
    }
}

/// `#[threaded]` moves the call's arguments to another thread: nothing borrowed,
/// nothing that must finish on the caller's stack.
fn threaded_signature(sig: &Signature, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.error_at(
            constness.span,
            "`#[threaded]` cannot be used on a `const fn`: starting a thread is not a \
             compile-time operation; remove `const`",
        );
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.error_at(
            asyncness.span,
            "`#[threaded]` cannot be used on an `async fn`: the body runs on a thread, not \
             an executor; remove `async` (the returned `Task` can itself be `.await`ed)",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.error_spanned(
            abi,
            "`#[threaded]` cannot be used on an `extern` fn: it changes the return type to \
             `Task<R>`; call a `#[threaded]` function from the `extern` one instead",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.error_spanned(variadic, "`#[threaded]` cannot be used on a variadic fn");
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let borrowed = match &receiver.reference {
                    Some((_, lifetime)) => !is_static(lifetime.as_ref()),
                    None => first_borrow(&receiver.ty).is_some(),
                };
                if borrowed {
                    let form = match (&receiver.reference, &receiver.mutability) {
                        (Some(_), Some(_)) => "`&mut self`",
                        (Some(_), None) => "`&self`",
                        (None, _) => "a borrowed `self`",
                    };
                    errors.error_spanned(
                        receiver,
                        format_args!(
                            "{form} cannot move to another thread; take `self: Arc<Self>` \
                             or an owned `self`"
                        ),
                    );
                }
            }
            FnArg::Typed(arg) => {
                if let Some(borrow) = first_borrow(&arg.ty) {
                    errors.error_spanned(
                        borrow.tokens,
                        format_args!(
                            "{} cannot move to another thread (the body runs after the call \
                             has returned); take an owned value instead: `String` for `&str`, \
                             `Vec<T>` for `&[T]`, `Arc<T>` to share",
                            borrow.what
                        ),
                    );
                }
            }
        }
    }
}

/// A borrow found in a parameter type.
struct Borrow {
    tokens: TokenStream,
    what: &'static str,
}

/// The first non-`'static` reference or lifetime in `ty`, ignoring the
/// higher-ranked ones of `fn(&T)` and `Fn(&T)` (those borrow nothing).
fn first_borrow(ty: &Type) -> Option<Borrow> {
    struct Finder(Option<Borrow>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, node: &'ast TypeReference) {
            if self.0.is_none() && !is_static(node.lifetime.as_ref()) {
                let what = if node.mutability.is_some() {
                    "a `&mut T` parameter"
                } else {
                    "a `&T` parameter"
                };
                let tokens = node.to_token_stream();
                self.0 = Some(Borrow { tokens, what });
            }
            syn::visit::visit_type_reference(self, node);
        }
        fn visit_generic_argument(&mut self, node: &'ast GenericArgument) {
            match node {
                GenericArgument::Lifetime(lifetime) if !is_static(Some(lifetime)) => {
                    if self.0.is_none() {
                        self.0 = Some(Borrow {
                            tokens: lifetime.to_token_stream(),
                            what: "a parameter borrowing for a non-`'static` lifetime",
                        });
                    }
                }
                _ => syn::visit::visit_generic_argument(self, node),
            }
        }
        // `dyn Trait + 'a` (an `impl Trait + 'a` argument is fine: the
        // expansion adds `+ 'static` to it).
        fn visit_type_trait_object(&mut self, node: &'ast syn::TypeTraitObject) {
            for bound in &node.bounds {
                match bound {
                    syn::TypeParamBound::Lifetime(lifetime)
                        if !is_static(Some(lifetime)) && self.0.is_none() =>
                    {
                        self.0 = Some(Borrow {
                            tokens: lifetime.to_token_stream(),
                            what: "a parameter borrowing for a non-`'static` lifetime",
                        });
                    }
                    _ => {}
                }
            }
            syn::visit::visit_type_trait_object(self, node);
        }
        fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}
        fn visit_parenthesized_generic_arguments(
            &mut self,
            _: &'ast syn::ParenthesizedGenericArguments,
        ) {
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    finder.0
}

fn is_static(lifetime: Option<&Lifetime>) -> bool {
    lifetime.is_some_and(|l| l.ident == "static")
}

// ===== #[limiter] =====

fn limiter(args: &LimiterArgs, generics: &Generics, errors: &mut Errors) {
    match &args.source {
        Some(LimitSource::Count(count)) if count.value == 0 => errors.error_at(
            count.span,
            "`#[limiter(0)]` would never let a call run; the limit must be at least 1",
        ),
        Some(LimitSource::Expr(expr)) => generic_limit(&expr.to_token_stream(), generics, errors),
        Some(LimitSource::Path(path)) => generic_limit(&path.to_token_stream(), generics, errors),
        _ => {}
    }
}

/// A limit that names a generic parameter of the function, or `Self`: one
/// `#[limiter]` serves every instantiation, so it cannot have a limit per
/// instantiation. (Parameters of the enclosing `impl` are caught by the
/// compiler, as the limit is evaluated in a `static`.) Only a path's first
/// segment can be a parameter: `limits::T` is a constant named `T`.
fn generic_limit(limit: &TokenStream, generics: &Generics, errors: &mut Errors) {
    struct Finder<'a> {
        names: &'a [String],
        found: Option<proc_macro2::Ident>,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            let first = path.segments.first().map(|segment| &segment.ident);
            if let (None, Some(first), None) = (&path.leading_colon, first, &self.found) {
                if self.names.iter().any(|name| first == name) {
                    self.found = Some(first.clone());
                }
            }
            syn::visit::visit_path(self, path);
        }
    }
    let Ok(expr) = syn::parse2::<syn::Expr>(limit.clone()) else {
        return;
    };
    let names: Vec<String> = generics
        .type_params()
        .map(|p| p.ident.to_string())
        .chain(generics.const_params().map(|p| p.ident.to_string()))
        .chain(std::iter::once("Self".to_owned()))
        .collect();
    let mut finder = Finder {
        names: &names,
        found: None,
    };
    finder.visit_expr(&expr);
    let Some(ident) = finder.found else {
        return;
    };
    let message = if ident == "Self" {
        "the limit names `Self`, but a `#[limiter]` limit is evaluated once for the \
         function, outside the `impl` (where `Self` may stand for many types); write the \
         type's own name, e.g. `#[limiter(Server::MAX)]`, or give each type a `static` \
         `Limiter` and call `LIMITER.run(|| ..)` in the body"
            .to_owned()
    } else {
        format!(
            "the limit depends on `{ident}`, but one `#[limiter]` serves every \
             instantiation of the function, so its limit cannot depend on a generic \
             parameter; give each type a `static` `Limiter` and call `LIMITER.run(|| ..)` \
             in the body instead"
        )
    };
    errors.error_at(ident.span(), message);
}

fn limiter_below_threaded(args: &LimiterArgs, errors: &mut Errors) {
    if let Some(blocking) = args.blocking.as_ref().filter(|b| !b.value) {
        errors.error_spanned(
            blocking,
            "`blocking = false` only applies to a `#[limiter]` placed above `#[threaded]`; \
             below it, the body waits for the permit on its worker; move this attribute \
             above `#[threaded]`",
        );
    }
}

/// A plain function under `#[limiter]` blocks its caller until a permit frees.
fn limited_signature(sig: &Signature, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.error_at(
            constness.span,
            "`#[limiter]` cannot be used on a `const fn`: waiting for a permit happens at run \
             time; remove `const`",
        );
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.error_at(
            asyncness.span,
            "`#[limiter]` cannot be used on an `async fn`: waiting for a permit blocks the \
             thread, which would stall the executor",
        );
    }
}
