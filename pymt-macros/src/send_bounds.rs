//! The `Send + 'static` bounds a `#[threaded]` function needs: its
//! arguments and its result move to another thread, and the task may outlive
//! the caller. Each clause, and why:
//!
//! - **every type parameter** `T: Send + 'static`: an argument or the result
//!   may be a `T`; added where `T` already has bounds (inline or in the
//!   `where` clause), so clippy's `multiple_bound_locations` stays quiet;
//! - **every `impl Trait` argument** gets `+ Send + 'static`: the argument
//!   moves into the closure;
//! - **the receiver** (`self`, `self: Arc<Self>`): it moves too, and `Self`
//!   may be generic over the `impl`'s parameters, which the function's own
//!   generics do not list;
//! - **the return type `R`**, when it may depend on generics (a type
//!   parameter, an `impl Trait` argument, `Self`, or a method's receiver):
//!   the value crosses back to the caller's thread. Not when `R` is a bare
//!   type parameter (its own bound covers it), contains `impl Trait`
//!   (unnameable in a `where` clause) or an elided lifetime (not nameable
//!   there either).
//!
//! The bounds carry the spans of what they bound, so an unmet one points at
//! the user's type.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{
    parse_quote, parse_quote_spanned, FnArg, Generics, Ident, ItemFn, Token, TraitBoundModifier,
    Type, TypeImplTrait, TypeParamBound, WherePredicate,
};

use crate::expand::Output;

/// Adds the `Send + 'static` bounds the move to another thread needs: on each
/// type parameter, on `impl Trait` arguments, on the receiver and on `R`.
///
/// A type parameter gets its bounds where it already has some (inline or in
/// the `where` clause), so clippy's `multiple_bound_locations` stays quiet.
pub(crate) fn add_send_bounds(func: &mut ItemFn, output: &Output) {
    let type_params: Vec<Ident> = func
        .sig
        .generics
        .type_params()
        .map(|param| param.ident.clone())
        .collect();
    for ident in &type_params {
        bound_type_param(&mut func.sig.generics, ident);
    }
    let mut predicates: Vec<syn::WherePredicate> = Vec::new();
    let mut has_receiver = false;
    let mut has_impl_arg = false;
    for input in &mut func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                has_receiver = true;
                let ty = &receiver.ty;
                predicates.push(parse_quote_spanned!(receiver.span()=> #ty: #SEND_STATIC));
            }
            FnArg::Typed(arg) => {
                let mut appender = ImplBounds(false);
                appender.visit_type_mut(&mut arg.ty);
                has_impl_arg |= appender.0;
            }
        }
    }
    if let Some(ty) = &output.ty {
        let scan = TypeScan::of(ty);
        let generic = !type_params.is_empty() || has_impl_arg;
        let is_param = matches!(ty, Type::Path(p) if p.qself.is_none()
            && type_params.iter().any(|ident| p.path.is_ident(ident)));
        if !scan.impl_trait
            && !scan.elided
            && !is_param
            && (generic || has_receiver || scan.self_type)
        {
            predicates.push(parse_quote_spanned!(ty.span()=> #ty: #SEND_STATIC));
        }
    }
    if !predicates.is_empty() {
        func.sig
            .generics
            .make_where_clause()
            .predicates
            .extend(predicates);
    }
}

/// `::core::marker::Send + 'static`.
struct SendStatic;

const SEND_STATIC: SendStatic = SendStatic;

impl ToTokens for SendStatic {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote!(::core::marker::Send + 'static));
    }
}

/// Adds `Send + 'static` to type parameter `ident`: in the `where` clause if it
/// is bounded there, inline otherwise.
fn bound_type_param(generics: &mut Generics, ident: &Ident) {
    if let Some(where_clause) = &mut generics.where_clause {
        for predicate in &mut where_clause.predicates {
            if let WherePredicate::Type(predicate) = predicate {
                let is_it = matches!(&predicate.bounded_ty, Type::Path(p)
                    if p.qself.is_none() && p.path.is_ident(ident));
                if is_it && predicate.lifetimes.is_none() {
                    add_send_static(&mut predicate.bounds, ident.span());
                    return;
                }
            }
        }
    }
    if let Some(param) = generics.type_params_mut().find(|p| p.ident == *ident) {
        add_send_static(&mut param.bounds, ident.span());
        if !param.bounds.is_empty() {
            param.colon_token.get_or_insert_with(Default::default);
        }
    }
}

/// Appends `::core::marker::Send` and `'static` to `bounds`, skipping either
/// when already there (`T: Send`, `impl Fn() + Send`).
fn add_send_static(bounds: &mut Punctuated<TypeParamBound, Token![+]>, span: Span) {
    let has_send = bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(t)
            if matches!(t.modifier, TraitBoundModifier::None)
                && t.path.segments.last().is_some_and(|s| s.ident == "Send"))
    });
    let has_static = bounds
        .iter()
        .any(|bound| matches!(bound, TypeParamBound::Lifetime(l) if l.ident == "static"));
    if !has_send {
        bounds.push(parse_quote_spanned!(span=> ::core::marker::Send));
    }
    if !has_static {
        bounds.push(parse_quote!('static));
    }
}

/// Appends `+ Send + 'static` to every `impl Trait` in an argument type.
struct ImplBounds(bool);

impl VisitMut for ImplBounds {
    fn visit_type_impl_trait_mut(&mut self, node: &mut TypeImplTrait) {
        self.0 = true;
        add_send_static(&mut node.bounds, Span::call_site());
        syn::visit_mut::visit_type_impl_trait_mut(self, node);
    }
}

/// What the return type contains, to decide what can be written about it.
#[derive(Default)]
pub(crate) struct TypeScan {
    pub(crate) impl_trait: bool,
    elided: bool,
    self_type: bool,
}

impl TypeScan {
    pub(crate) fn of(ty: &Type) -> Self {
        let mut scan = Self::default();
        scan.visit_type(ty);
        scan
    }
}

impl<'ast> Visit<'ast> for TypeScan {
    fn visit_type_impl_trait(&mut self, node: &'ast TypeImplTrait) {
        self.impl_trait = true;
        syn::visit::visit_type_impl_trait(self, node);
    }
    fn visit_type_reference(&mut self, node: &'ast syn::TypeReference) {
        self.elided |= node.lifetime.is_none();
        syn::visit::visit_type_reference(self, node);
    }
    fn visit_lifetime(&mut self, node: &'ast syn::Lifetime) {
        self.elided |= node.ident == "_";
    }
    fn visit_ident(&mut self, node: &'ast Ident) {
        self.self_type |= node == "Self";
    }
}
