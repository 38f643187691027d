//! The `Send + 'static` bounds a `#[threaded]` function needs: its
//! arguments and its result move to another thread, and the task may outlive
//! the caller. Each clause, and why:
//!
//! - **every argument's type** `A: Send + 'static`, as a `where` predicate
//!   spanned at the user's type: the argument moves into the closure. This
//!   covers the function's type parameters, the enclosing `impl`'s or
//!   trait's (which the macro cannot see), associated types and `Self`. An
//!   unmet bound is reported at that type, in the user's terms;
//! - **every `impl Trait` argument** gets `+ Send + 'static` (a `where`
//!   clause cannot name it);
//! - **the receiver** (`self`, `self: Arc<Self>`): it moves too;
//! - **the return type `R`**: the value crosses back to the caller's thread;
//!   an `-> impl Trait` gets `+ Send + 'static` on itself.
//!
//! Predicates are left out for types made only of primitives and the common
//! standard containers of them (`u32`, `String`, `Vec<(u8, bool)>`): they
//! always hold, and would only clutter the function's documentation. Types
//! that hold an elided lifetime (`'_`) get none either: a `where` clause
//! cannot name it (borrowed arguments are refused before this runs).

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{
    parse_quote, parse_quote_spanned, FnArg, Generics, Ident, ItemFn, ReturnType, Token,
    TraitBoundModifier, Type, TypeImplTrait, TypeParamBound, WherePredicate,
};

/// Adds the bounds the move to another thread needs; see the module docs.
pub(crate) fn add_send_bounds(func: &mut ItemFn, rt: &TokenStream) {
    let type_params: Vec<Ident> = func
        .sig
        .generics
        .type_params()
        .map(|param| param.ident.clone())
        .collect();
    let mut bounds = Bounds {
        rt,
        type_params: &type_params,
        predicates: Vec::new(),
        params: Vec::new(),
    };
    for input in &mut func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let ty = &receiver.ty;
                let bound = send_static(receiver.span(), rt);
                bounds.predicates.push(parse_quote!(#ty: #bound));
            }
            FnArg::Typed(arg) => bounds.of_type(&mut arg.ty),
        }
    }
    if let ReturnType::Type(_, ty) = &mut func.sig.output {
        if !matches!(ungroup(ty), Type::Never(_)) {
            bounds.of_type(ty);
        }
    }
    let Bounds {
        predicates, params, ..
    } = bounds;
    for param in &params {
        bound_type_param(&mut func.sig.generics, param, rt);
    }
    if !predicates.is_empty() {
        // A bound on a crate-private argument type of a `pub` fn would trip
        // `private_bounds`; the user wrote no such bound.
        func.attrs.push(parse_quote!(#[allow(private_bounds)]));
        func.sig
            .generics
            .make_where_clause()
            .predicates
            .extend(predicates);
    }
}

/// The bounds collected from a signature.
struct Bounds<'a> {
    rt: &'a TokenStream,
    type_params: &'a [Ident],
    predicates: Vec<WherePredicate>,
    /// The function's own type parameters used bare as a type (`x: T`).
    params: Vec<Ident>,
}

impl Bounds<'_> {
    /// The predicate for `ty`, or bounds on the `impl Trait`s inside it, or
    /// on the type parameter it is.
    fn of_type(&mut self, ty: &mut Type) {
        let ty = ungroup_mut(ty);
        if let Type::Path(path) = &*ty {
            let param = self.type_params.iter().find(|p| path.path.is_ident(*p));
            if let (None, Some(param)) = (&path.qself, param) {
                if !self.params.contains(param) {
                    self.params.push(param.clone());
                }
                return;
            }
        }
        let scan = TypeScan::of(ty);
        if scan.impl_trait {
            ImplBounds { rt: self.rt }.visit_type_mut(ty);
        } else if !scan.elided && !scan.higher_ranked && !scan.plainly_sendable {
            let bound = send_static(ty.span(), self.rt);
            let predicate: WherePredicate = parse_quote!(#ty: #bound);
            // One predicate per type, however many arguments have it.
            let text = predicate.to_token_stream().to_string();
            if !self
                .predicates
                .iter()
                .any(|p| p.to_token_stream().to_string() == text)
            {
                self.predicates.push(predicate);
            }
        }
    }
}

/// The type inside the invisible groups of a `macro_rules!` `$t:ty`, and
/// inside parentheses.
pub(crate) fn ungroup_mut(mut ty: &mut Type) -> &mut Type {
    loop {
        match ty {
            Type::Group(group) => ty = &mut group.elem,
            Type::Paren(paren) => ty = &mut paren.elem,
            _ => return ty,
        }
    }
}

/// As [`ungroup_mut`], shared.
pub(crate) fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

/// Adds `Send + 'static` to type parameter `ident` where it already has
/// bounds (in the `where` clause, or inline), so clippy's
/// `multiple_bound_locations` stays quiet.
fn bound_type_param(generics: &mut Generics, ident: &Ident, rt: &TokenStream) {
    if let Some(where_clause) = &mut generics.where_clause {
        let mut in_where = false;
        for predicate in &mut where_clause.predicates {
            if let WherePredicate::Type(predicate) = predicate {
                let is_it = matches!(&predicate.bounded_ty, Type::Path(p)
                    if p.qself.is_none() && p.path.is_ident(ident));
                if is_it && predicate.lifetimes.is_none() {
                    add_send_static(&mut predicate.bounds, ident.span(), rt);
                    return;
                }
                in_where |= is_it;
            }
        }
        if in_where {
            // Bounded only by a higher-ranked predicate (`for<'a> F: Fn(&'a u8)`),
            // which cannot take `'static`: a predicate of its own, beside it.
            let bound = send_static(ident.span(), rt);
            where_clause.predicates.push(parse_quote!(#ident: #bound));
            return;
        }
    }
    if let Some(param) = generics.type_params_mut().find(|p| p.ident == *ident) {
        add_send_static(&mut param.bounds, ident.span(), rt);
        param.colon_token.get_or_insert_with(Default::default);
    }
}

/// `<rt>::Send + 'static` with every token at `span`: a predicate whose
/// tokens all come from the user's code is reported at the user's type.
fn send_static(span: Span, rt: &TokenStream) -> TokenStream {
    respan(quote_spanned!(span=> #rt::Send + 'static), span)
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// Appends `Send` and `'static` to `bounds`, skipping either when already
/// there. Only `marker::Send` counts as `Send`: a bare `Send` may be a trait
/// of the user's of that name.
fn add_send_static(
    bounds: &mut Punctuated<TypeParamBound, Token![+]>,
    span: Span,
    rt: &TokenStream,
) {
    let has_send = bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(t)
            if matches!(t.modifier, TraitBoundModifier::None) && is_marker_send(&t.path))
    });
    let has_static = bounds
        .iter()
        .any(|bound| matches!(bound, TypeParamBound::Lifetime(l) if l.ident == "static"));
    if !has_send {
        bounds.push(syn::parse2(respan(quote_spanned!(span=> #rt::Send), span)).expect("a path"));
    }
    if !has_static {
        bounds.push(parse_quote_spanned!(span=> 'static));
    }
}

/// `core::marker::Send`, `std::marker::Send`, or `<rt>::Send`.
fn is_marker_send(path: &syn::Path) -> bool {
    let mut rev = path.segments.iter().rev();
    let last = rev.next().is_some_and(|s| s.ident == "Send");
    last && rev
        .next()
        .is_some_and(|s| s.ident == "marker" || s.ident == "__private")
}

/// Appends `+ Send + 'static` to every `impl Trait` in a type.
struct ImplBounds<'a> {
    rt: &'a TokenStream,
}

impl VisitMut for ImplBounds<'_> {
    fn visit_type_impl_trait_mut(&mut self, node: &mut TypeImplTrait) {
        let span = node.span();
        add_send_static(&mut node.bounds, span, self.rt);
        syn::visit_mut::visit_type_impl_trait_mut(self, node);
    }
}

/// Names of types that are always `Send + 'static` when everything inside
/// them is, and the standard modules that lead to them.
const PLAIN: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "bool",
    "char",
    "str",
    "String",
    "Vec",
    "VecDeque",
    "Option",
    "Result",
    "Box",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "Duration",
    "std",
    "core",
    "alloc",
    "vec",
    "string",
    "option",
    "result",
    "boxed",
    "collections",
    "time",
];

/// What a type contains, to decide what can be written about it.
pub(crate) struct TypeScan {
    pub(crate) impl_trait: bool,
    elided: bool,
    /// A `for<'a>` binder (`for<'a> fn(&'a u8)`): `Send + 'static` on such a
    /// type cannot be proven in a `where` clause, and it always holds.
    higher_ranked: bool,
    /// Made only of the [`PLAIN`] names, tuples, arrays and `&'static`.
    plainly_sendable: bool,
}

impl TypeScan {
    pub(crate) fn of(ty: &Type) -> Self {
        let mut scan = Self {
            impl_trait: false,
            elided: false,
            higher_ranked: false,
            plainly_sendable: true,
        };
        scan.visit_type(ty);
        scan
    }
}

impl<'ast> Visit<'ast> for TypeScan {
    fn visit_type_impl_trait(&mut self, node: &'ast TypeImplTrait) {
        self.impl_trait = true;
        self.plainly_sendable = false;
        syn::visit::visit_type_impl_trait(self, node);
    }
    fn visit_type_reference(&mut self, node: &'ast syn::TypeReference) {
        self.elided |= node.lifetime.is_none();
        syn::visit::visit_type_reference(self, node);
    }
    fn visit_lifetime(&mut self, node: &'ast syn::Lifetime) {
        self.elided |= node.ident == "_";
        self.plainly_sendable &= node.ident == "static";
    }
    fn visit_ident(&mut self, node: &'ast Ident) {
        self.plainly_sendable &= PLAIN.iter().any(|plain| node == plain);
    }
    fn visit_type(&mut self, node: &'ast Type) {
        match node {
            Type::Path(_)
            | Type::Tuple(_)
            | Type::Array(_)
            | Type::Slice(_)
            | Type::Reference(_)
            | Type::Paren(_)
            | Type::Group(_)
            | Type::ImplTrait(_) => {}
            _ => self.plainly_sendable = false,
        }
        syn::visit::visit_type(self, node);
    }
    fn visit_bound_lifetimes(&mut self, node: &'ast syn::BoundLifetimes) {
        self.higher_ranked = true;
        syn::visit::visit_bound_lifetimes(self, node);
    }
    fn visit_expr(&mut self, _: &'ast syn::Expr) {
        // Array lengths say nothing about sendability.
    }
}
