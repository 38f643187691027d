//! The item under an attribute, and what an earlier expansion of the other
//! attribute left on it, as one [`Plan`].
//!
//! Stacking is recognised by what the other attribute *did*, never by its
//! name, so `use pymt::limiter as throttle;` stacks like `#[limiter]`, and a
//! foreign attribute that happens to be called `limiter` is left alone.
//! Outer attributes expand first:
//!
//! - `#[limiter]` above `#[threaded]`: the limiter expands on what is still a
//!   plain function and leaves its permit statement (or, with
//!   `blocking = false`, its deferral marker) as the body's first statement;
//!   `#[threaded]` then takes it out ([`stack::take_outer_limiters`]) and
//!   makes the caller wait (or defers the task).
//! - `#[limiter]` below `#[threaded]`: `#[threaded]` expands first and leaves
//!   its launch chain; the limiter finds the closure in it
//!   ([`stack::launch_closure`]) and puts its permit at the top of the
//!   closure, so the body holds it on the worker.
//!
//! [`stack::take_outer_limiters`]: crate::stack::take_outer_limiters
//! [`stack::launch_closure`]: crate::stack::launch_closure

use proc_macro2::{Span, TokenStream};
use syn::ItemFn;

use crate::args::{LimiterArgs, ThreadedArgs};
use crate::ctxt::Errors;
use crate::stack::{self, OuterLimiter};

/// Everything one expansion has to generate.
pub(crate) struct Plan {
    /// The function, with the markers consumed here removed.
    pub(crate) func: ItemFn,
    pub(crate) kind: Kind,
}

/// Which attribute is expanding, and what it found on the function.
pub(crate) enum Kind {
    Threaded {
        args: Box<ThreadedArgs>,
        /// Limiters expanded above this `#[threaded]`, in source order.
        outer: Vec<OuterLimiter>,
    },
    Limiter {
        args: Box<LimiterArgs>,
        /// The runtime path of the `#[threaded]` expansion this limiter sits
        /// below, if it does.
        below_threaded: Option<TokenStream>,
    },
}

impl Plan {
    /// The plan for `#[threaded(args)] item`.
    pub(crate) fn threaded(
        args: TokenStream,
        item: TokenStream,
        errors: &mut Errors,
    ) -> Result<Self, TokenStream> {
        let args = ThreadedArgs::parse(args, errors);
        let mut func = parse_fn(&item, "threaded")?;
        let outer = stack::take_outer_limiters(&mut func.block);
        Ok(Self {
            func,
            kind: Kind::Threaded {
                args: Box::new(args),
                outer,
            },
        })
    }

    /// The plan for `#[limiter(args)] item`.
    pub(crate) fn limiter(
        args: TokenStream,
        item: TokenStream,
        errors: &mut Errors,
    ) -> Result<Self, TokenStream> {
        let args = LimiterArgs::parse(args, Span::call_site(), errors);
        let mut func = parse_fn(&item, "limiter")?;
        let below_threaded = stack::launch_closure(&mut func.block).map(|(rt, _)| rt);
        Ok(Self {
            func,
            kind: Kind::Limiter {
                args: Box::new(args),
                below_threaded,
            },
        })
    }

    /// The `crate = ".."` override of this attribute, if given.
    pub(crate) fn krate(&self) -> Option<&syn::Path> {
        match &self.kind {
            Kind::Threaded { args, .. } => args.krate.as_ref(),
            Kind::Limiter { args, .. } => args.krate.as_ref(),
        }
    }
}

/// Parses the item as a function with a body; anything else is handed back
/// unchanged next to the error, so the rest of the crate still sees it.
fn parse_fn(item: &TokenStream, attr: &str) -> Result<ItemFn, TokenStream> {
    syn::parse2::<ItemFn>(item.clone()).map_err(|error| {
        let message = format!(
            "`#[{attr}]` goes on a function with a body (a free function, a method in an \
             `impl` block, or a trait method with a default body)"
        );
        let error = syn::Error::new(error.span(), message).to_compile_error();
        quote::quote!(#error #item)
    })
}
