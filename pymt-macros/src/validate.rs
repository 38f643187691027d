//! Checks on a [`Plan`]: every mistake is recorded, none stops the others,
//! and a plan without mistakes becomes a [`Valid`] model that expansion
//! consumes as it is (nothing left to check or unwrap there).
//!
//! Each message points at the offending token and says how to fix it.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, Lifetime, Signature, Type, TypeReference};

use crate::args::{LimitSource, LimiterArgs, ThreadedArgs};
use crate::ast::Plan;
use crate::ctxt::Errors;

/// A plan that passed validation, in the shape expansion needs.
pub(crate) struct Valid {
    /// The function, with the attributes handled here removed.
    pub(crate) func: syn::ItemFn,
    pub(crate) shape: Shape,
    /// The runtime's path (`::pymt::__private` or the `crate` override).
    pub(crate) runtime: TokenStream,
}

/// How the function is rewritten.
pub(crate) enum Shape {
    /// `#[threaded]`, with the limiters stacked on it.
    Threaded {
        args: Box<ThreadedArgs>,
        /// Above `#[threaded]`: the caller waits (or the task waits, when
        /// deferred) for a permit.
        outer: Option<Limit>,
        /// Below `#[threaded]`: the body holds their permits.
        inner: Vec<LimitSource>,
    },
    /// `#[limiter]` on a plain function.
    Limited(LimitSource),
}

/// A limiter with its limit known.
pub(crate) struct Limit {
    pub(crate) source: LimitSource,
    /// `blocking = false`: the task waits in the limiter, not the caller.
    pub(crate) deferred: bool,
}

/// Checks `plan`: the valid model, or the plan back (for the fallback)
/// with every problem found.
pub(crate) fn check(plan: Plan, mut errors: Errors) -> Result<Valid, Box<(Plan, syn::Error)>> {
    record(&plan, &mut errors);
    let shape = shape_of(&plan);
    match (errors.finish(), shape) {
        (Err(error), _) => Err(Box::new((plan, error))),
        (Ok(()), Some(shape)) => {
            let mut func = plan.func.clone();
            plan.mark_taken_used(&mut func);
            let runtime = crate::expand::runtime(plan.krate());
            Ok(Valid {
                func,
                shape,
                runtime,
            })
        }
        // Parsing reports a missing limit; this keeps the check total.
        (Ok(()), None) => {
            let error =
                syn::Error::new(proc_macro2::Span::call_site(), "`#[limiter]` needs a limit");
            Err(Box::new((plan, error)))
        }
    }
}

/// The plan's shape, if every limiter has its limit.
fn shape_of(plan: &Plan) -> Option<Shape> {
    let limit = |args: &LimiterArgs| {
        Some(Limit {
            source: args.source.clone()?,
            deferred: args.is_deferred(),
        })
    };
    let Some(args) = &plan.threaded else {
        return Some(Shape::Limited(plan.outer.as_ref()?.source.clone()?));
    };
    let outer = match &plan.outer {
        Some(outer) => Some(limit(outer)?),
        None => None,
    };
    let inner = plan
        .inner
        .iter()
        .map(|args| args.source.clone())
        .collect::<Option<_>>()?;
    Some(Shape::Threaded {
        args: Box::new(args.clone()),
        outer,
        inner,
    })
}

/// Records every problem of `plan` in `errors`.
fn record(plan: &Plan, errors: &mut Errors) {
    if let Some(outer) = &plan.outer {
        limiter(outer, errors);
    }
    match &plan.threaded {
        Some(args) => {
            threaded_args(args, errors);
            for inner in &plan.inner {
                limiter(inner, errors);
                limiter_below_threaded(inner, errors);
            }
            threaded_signature(&plan.func.sig, errors);
        }
        None => {
            if let Some(outer) = &plan.outer {
                limiter_on_plain_fn(outer, errors);
            }
            limited_signature(&plan.func.sig, errors);
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
    if let Some(max) = args.max_workers {
        if args.pool.is_none() && args.pool_name.is_none() {
            let why = if args.daemon.is_some() {
                "a daemon function has exactly one worker"
            } else {
                "without a pool every call gets a thread of its own"
            };
            errors.error_at(
                max.span,
                format_args!(
                    "`max_workers` needs `pool` or `pool_name`: {why}; write \
                     `#[threaded(pool, max_workers = {})]`",
                    max.value
                ),
            );
        }
        if max.value == 0 {
            errors.error_at(
                max.span,
                "`max_workers = 0` would never run anything; it must be at least 1",
            );
        }
    }
    if let Some(pool_name) = &args.pool_name {
        if pool_name.value().trim().is_empty() {
            errors.error_spanned(
                pool_name,
                "`pool_name` must not be empty; name the pool, e.g. `pool_name = \"io\"`, \
                 or use `pool` for a pool private to this function",
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

fn limiter(args: &LimiterArgs, errors: &mut Errors) {
    if let Some(LimitSource::Count(count)) = &args.source {
        if count.value == 0 {
            errors.error_at(
                count.span,
                "`#[limiter(0)]` would never let a call run; the limit must be at least 1",
            );
        }
    }
}

fn limiter_on_plain_fn(args: &LimiterArgs, errors: &mut Errors) {
    if let Some(blocking) = args.blocking.as_ref().filter(|b| !b.value) {
        errors.error_spanned(
            blocking,
            "`blocking = false` needs `#[threaded]` below `#[limiter]`: a plain call must wait \
             for its permit; add `#[threaded]` under this attribute, or remove \
             `blocking = false`",
        );
    }
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
