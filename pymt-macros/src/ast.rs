//! The item under the attributes, with the stacking of `#[limiter]` and
//! `#[threaded]` resolved into one [`Plan`].
//!
//! Outer attributes expand first. So when `#[limiter]` sits above
//! `#[threaded]`, the limiter's expansion still sees the `#[threaded(..)]`
//! attribute on the item: it takes it off and expands both together (the
//! caller then waits for a permit, or the task is deferred). When `#[limiter]`
//! sits below `#[threaded]`, the threaded expansion takes the `#[limiter(..)]`
//! attributes off instead and the body holds their permits on the worker.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{parse_quote, Attribute, ItemFn, Meta, Path};

use crate::args::{LimiterArgs, ThreadedArgs};
use crate::ctxt::Errors;

/// Everything one expansion has to generate.
pub(crate) struct Plan {
    /// The function, with the attributes handled here already removed.
    pub(crate) func: ItemFn,
    /// Present when the body runs elsewhere and the call returns a `Task`.
    pub(crate) threaded: Option<ThreadedArgs>,
    /// The limiter on a plain function, or the one above `#[threaded]`.
    pub(crate) outer: Option<LimiterArgs>,
    /// Limiters below `#[threaded]`: their permits are held by the body.
    pub(crate) inner: Vec<LimiterArgs>,
    /// Paths of the sibling attributes taken off the item (`threaded`,
    /// `pymt::limiter`, ..). The compiler never resolves them, so the
    /// expansion names each once (`use path as _;`), or the user's
    /// `use pymt::threaded;` would be reported as unused.
    pub(crate) taken: Vec<Path>,
}

impl Plan {
    /// The plan for `#[threaded(args)] item`.
    pub(crate) fn threaded(
        args: TokenStream,
        item: TokenStream,
        errors: &mut Errors,
    ) -> Result<Self, TokenStream> {
        let threaded = ThreadedArgs::parse(args, errors);
        let mut func = parse_fn(&item, "threaded")?;
        let attrs = take_attrs(&mut func, "limiter");
        let inner = attrs
            .iter()
            .map(|attr| LimiterArgs::parse(attr_args(attr, errors), attr.span(), errors))
            .collect();
        Ok(Self {
            func,
            threaded: Some(threaded),
            outer: None,
            inner,
            taken: attrs.iter().map(|attr| attr.path().clone()).collect(),
        })
    }

    /// The plan for `#[limiter(args)] item`, taking over a `#[threaded]` below it.
    pub(crate) fn limiter(
        args: TokenStream,
        item: TokenStream,
        errors: &mut Errors,
    ) -> Result<Self, TokenStream> {
        let outer = LimiterArgs::parse(args, Span::call_site(), errors);
        let mut func = parse_fn(&item, "limiter")?;
        let Some(index) = func.attrs.iter().position(|a| is_attr(a, "threaded")) else {
            // A plain function; further `#[limiter]`s below expand on their own
            // and nest naturally.
            return Ok(Self {
                func,
                threaded: None,
                outer: Some(outer),
                inner: Vec::new(),
                taken: Vec::new(),
            });
        };
        let below = func.attrs.split_off(index);
        for attr in func.attrs.iter().filter(|a| is_attr(a, "limiter")) {
            errors.error_spanned(
                attr,
                "only one `#[limiter]` may sit above `#[threaded]`; move this one below \
                 `#[threaded]` (its permit is then held by the body) or merge the two",
            );
        }
        let mut below = below.into_iter();
        let threaded_attr = below.next().expect("split at the `#[threaded]` attribute");
        let threaded = ThreadedArgs::parse(attr_args(&threaded_attr, errors), errors);
        let mut taken = vec![threaded_attr.path().clone()];
        let mut inner = Vec::new();
        for attr in below {
            if is_attr(&attr, "limiter") {
                let tokens = attr_args(&attr, errors);
                inner.push(LimiterArgs::parse(tokens, attr.span(), errors));
                taken.push(attr.path().clone());
            } else {
                func.attrs.push(attr);
            }
        }
        Ok(Self {
            func,
            threaded: Some(threaded),
            outer: Some(outer),
            inner,
            taken,
        })
    }

    /// `use path as _;` for each attribute taken off the item; see [`Plan::taken`].
    pub(crate) fn mark_taken_used(&self, func: &mut ItemFn) {
        for path in self.taken.iter().rev() {
            let stmt = parse_quote!(#[allow(unused_imports)] use #path as _;);
            func.block.stmts.insert(0, stmt);
        }
    }

    /// The `crate = ".."` override, from whichever attribute gave one.
    pub(crate) fn krate(&self) -> Option<&Path> {
        let threaded = self.threaded.as_ref().and_then(|t| t.krate.as_ref());
        let outer = self.outer.as_ref().and_then(|l| l.krate.as_ref());
        let inner = self.inner.iter().find_map(|l| l.krate.as_ref());
        threaded.or(outer).or(inner)
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

/// Whether `attr` is `#[name]`, `#[name(..)]` or `#[some::path::name(..)]`.
fn is_attr(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// Removes and returns every `#[name..]` attribute of `func`.
fn take_attrs(func: &mut ItemFn, name: &str) -> Vec<Attribute> {
    let (taken, kept) = std::mem::take(&mut func.attrs)
        .into_iter()
        .partition(|attr| is_attr(attr, name));
    func.attrs = kept;
    taken
}

/// The tokens between the parentheses of a sibling attribute.
fn attr_args(attr: &Attribute, errors: &mut Errors) -> TokenStream {
    match &attr.meta {
        Meta::Path(_) => TokenStream::new(),
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(nv) => {
            let name = attr.path().to_token_stream().to_string().replace(' ', "");
            errors.error_spanned(
                nv,
                format_args!("`#[{name}]` takes its options in parentheses: `#[{name}(..)]`"),
            );
            TokenStream::new()
        }
    }
}
