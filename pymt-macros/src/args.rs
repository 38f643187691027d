//! The arguments of `#[threaded(..)]` and `#[limiter(..)]`, parsed into typed models.
//!
//! Parsing keeps going after a bad option (the rest of that option is skipped
//! up to the next comma), so every mistake in an attribute is reported at once.
//! Cross-option rules (`daemon` with `pool_name`, `max_workers = 0`, ...) are
//! not checked here but in `validate.rs`.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, ExprPath, ExprUnary, Ident, Lit, LitBool, LitInt, LitStr, Path, Token, UnOp,
};

use crate::ctxt::Errors;

/// What `#[threaded]` accepts, as listed in the "unknown option" message.
const THREADED_OPTIONS: &str = "`daemon`, `pool`, `pool_name = \"..\"`, `max_workers = N`, \
    `priority = N`, `name = \"..\"`, `callback = path`, `on_error = path`, `crate = \"..\"`";

/// What `#[limiter]` accepts after the limit, as listed in the "unknown option" message.
const LIMITER_OPTIONS: &str = "`blocking = false`, `crate = \"..\"`";

/// An integer option together with the span of its literal (sign included).
#[derive(Clone, Copy)]
pub(crate) struct IntArg<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// An option's value: a literal, checked here, or any other expression
/// (a `const`, `2 * N`, `concat!(..)`, a `macro_rules!` fragment), which the
/// expansion evaluates in a `const` of the option's type, so the compiler
/// checks its type and constness and points at it.
#[derive(Clone)]
pub(crate) enum Value<L> {
    Lit(L),
    Expr(Expr),
}

impl<L: HasSpan> Value<L> {
    pub(crate) fn span(&self) -> Span {
        match self {
            Value::Lit(lit) => lit.span_of(),
            Value::Expr(expr) => expr.span(),
        }
    }
}

/// A literal option value's span.
pub(crate) trait HasSpan {
    fn span_of(&self) -> Span;
}

impl<T> HasSpan for IntArg<T> {
    fn span_of(&self) -> Span {
        self.span
    }
}

impl HasSpan for LitStr {
    fn span_of(&self) -> Span {
        self.span()
    }
}

/// `#[threaded(..)]`: one `Option` per option, `None` when absent.
#[derive(Clone, Default)]
pub(crate) struct ThreadedArgs {
    pub(crate) daemon: Option<Span>,
    pub(crate) pool: Option<Span>,
    pub(crate) pool_name: Option<Value<LitStr>>,
    pub(crate) max_workers: Option<Value<IntArg<usize>>>,
    pub(crate) priority: Option<Value<IntArg<i32>>>,
    pub(crate) name: Option<Value<LitStr>>,
    pub(crate) callback: Option<ExprPath>,
    pub(crate) on_error: Option<ExprPath>,
    pub(crate) krate: Option<Path>,
}

/// `#[limiter(..)]`: the limit, then options.
pub(crate) struct LimiterArgs {
    /// `None` only when the limit was missing or malformed (already reported).
    pub(crate) source: Option<LimitSource>,
    pub(crate) blocking: Option<LitBool>,
    pub(crate) krate: Option<Path>,
    /// The whole attribute, for messages about the limiter as a whole.
    pub(crate) span: Span,
}

/// Where a limiter's permits come from.
#[derive(Clone)]
pub(crate) enum LimitSource {
    /// `#[limiter(4)]`: a limiter of its own with this many permits.
    Count(IntArg<usize>),
    /// `#[limiter(2 * N)]`, `#[limiter({ N + 1 })]`: a constant expression
    /// of type `usize`, the count of a limiter of its own.
    Expr(Expr),
    /// `#[limiter(PATH)]`: a `const` of type `usize` or a `static` `Limiter`,
    /// told apart by the runtime's `LimitSource` trait.
    Path(ExprPath),
}

// ===== #[threaded] =====

impl ThreadedArgs {
    /// Parses the tokens inside `#[threaded(..)]`, recording mistakes in `errors`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = Self::default();
        let parser = syn::meta::parser(|meta| {
            if let Err(error) = args.parse_option(&meta) {
                errors.push(error);
                skip_to_comma(meta.input)?;
            }
            Ok(())
        });
        if let Err(error) = parser.parse2(tokens) {
            errors.push(error);
        }
        args
    }

    fn parse_option(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = option_name(&meta.path, THREADED_OPTIONS, "threaded")?;
        match key.to_string().as_str() {
            "daemon" => {
                expect_no_value(meta, &key, "write `#[threaded(daemon)]`")?;
                set(&mut self.daemon, key.span(), &key)
            }
            "pool" => {
                expect_no_value(
                    meta,
                    &key,
                    "write `#[threaded(pool)]`; to share a named pool write `pool_name = \"..\"`",
                )?;
                set(&mut self.pool, key.span(), &key)
            }
            "pool_name" => {
                let value = parse_string(&value_of(meta, &key, "\"io\"")?, &key, "\"io\"")?;
                set(&mut self.pool_name, value, &key)
            }
            "max_workers" => {
                let value = parse_int::<usize>(&value_of(meta, &key, "4")?, &key, "4")?;
                set(&mut self.max_workers, value, &key)
            }
            "priority" => {
                let value = parse_int::<i32>(&value_of(meta, &key, "10")?, &key, "10")?;
                set(&mut self.priority, value, &key)
            }
            "name" => {
                let example = "\"resize\"";
                let value = parse_string(&value_of(meta, &key, example)?, &key, example)?;
                set(&mut self.name, value, &key)
            }
            "callback" => {
                let value = parse_path(&value_of(meta, &key, "on_done")?, &key)?;
                set(&mut self.callback, value, &key)
            }
            "on_error" => {
                let value = parse_path(&value_of(meta, &key, "report")?, &key)?;
                set(&mut self.on_error, value, &key)
            }
            "crate" => {
                let value = parse_crate(&value_of(meta, &key, "\"::pymt\"")?, &key)?;
                set(&mut self.krate, value, &key)
            }
            _ => Err(unknown_option(&key, THREADED_OPTIONS, "threaded")),
        }
    }
}

/// Reads the value after `key =`, or explains the expected form.
fn value_of(meta: &ParseNestedMeta<'_>, key: &Ident, example: &str) -> syn::Result<Expr> {
    if !meta.input.peek(Token![=]) {
        return Err(syn::Error::new(
            key.span(),
            format_args!("`{key}` needs a value, e.g. `{key} = {example}`"),
        ));
    }
    Ok(ungroup(meta.value()?.parse()?))
}

/// The expression inside the invisible groups a `macro_rules!` fragment
/// (`$x:expr`, `$x:literal`, `$x:path`) arrives in.
pub(crate) fn ungroup(mut expr: Expr) -> Expr {
    while let Expr::Group(group) = expr {
        expr = *group.expr;
    }
    expr
}

/// Rejects `daemon = ..` and `pool(..)`: flags take no value.
fn expect_no_value(meta: &ParseNestedMeta<'_>, key: &Ident, fix: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            key.span(),
            format_args!("`{key}` is a flag and takes no value; {fix}"),
        ));
    }
    Ok(())
}

// ===== #[limiter] =====

impl LimiterArgs {
    /// Parses the tokens inside `#[limiter(..)]`; `span` is the attribute's,
    /// used when the limit itself is missing.
    pub(crate) fn parse(tokens: TokenStream, span: Span, errors: &mut Errors) -> Self {
        let mut args = Self {
            source: None,
            blocking: None,
            krate: None,
            span,
        };
        let parser = |input: ParseStream<'_>| args.parse_all(input, errors);
        if let Err(error) = parser.parse2(tokens) {
            errors.push(error);
        }
        args
    }

    fn parse_all(&mut self, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<()> {
        const EXPECTED: &str = "`#[limiter]` needs a limit first: an integer literal \
            (`#[limiter(4)]`), a `const` of type `usize` or a `static` `Limiter` \
            (`#[limiter(SHARED)]`)";
        let starts_with_option = input.peek(Ident::peek_any) && input.peek2(Token![=]);
        if input.is_empty() || starts_with_option {
            errors.error_at(self.span, EXPECTED);
        } else {
            match parse_limit(ungroup(input.parse()?)) {
                Ok(source) => self.source = Some(source),
                Err(error) => errors.push(error),
            }
            if input.is_empty() {
                return Ok(());
            }
            input.parse::<Token![,]>()?;
        }
        while !input.is_empty() {
            if let Err(error) = self.parse_option(input) {
                errors.push(error);
                skip_to_comma(input)?;
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    }

    fn parse_option(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        let key = Ident::parse_any(input)?;
        let value = |example: &str| -> syn::Result<Expr> {
            if !input.peek(Token![=]) {
                let msg = format!("`{key}` needs a value, e.g. `{key} = {example}`");
                return Err(syn::Error::new(key.span(), msg));
            }
            input.parse::<Token![=]>()?;
            Ok(ungroup(input.parse()?))
        };
        match key.to_string().as_str() {
            "blocking" => {
                let parsed = parse_bool(&value("false")?, &key)?;
                set(&mut self.blocking, parsed, &key)
            }
            "crate" => {
                let parsed = parse_crate(&value("\"::pymt\"")?, &key)?;
                set(&mut self.krate, parsed, &key)
            }
            _ => Err(unknown_option(&key, LIMITER_OPTIONS, "limiter")),
        }
    }
}

/// The limit: an integer literal, a path, or another constant expression.
fn parse_limit(expr: Expr) -> syn::Result<LimitSource> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => int_value::<usize>(&lit, lit.span(), false, "limit").map(LimitSource::Count),
        Expr::Path(path) => Ok(LimitSource::Path(path)),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(syn::Error::new_spanned(
            expr,
            "the limit is a count of permits: a `usize`, at least 1",
        )),
        Expr::Lit(_) => Err(syn::Error::new_spanned(
            expr,
            "expected the limit: an integer literal, a constant expression of type `usize`, \
             or a path to a `const` of type `usize` or to a `static` `Limiter`",
        )),
        expr => Ok(LimitSource::Expr(expr)),
    }
}

// ===== shared helpers =====

/// The single identifier naming an option; `a::b = ..` is not an option.
fn option_name(path: &Path, valid: &str, attr: &str) -> syn::Result<Ident> {
    match path.get_ident() {
        Some(ident) => Ok(ident.clone()),
        None => Err(syn::Error::new_spanned(
            path,
            format_args!("unknown `#[{attr}]` option; expected one of {valid}"),
        )),
    }
}

fn unknown_option(key: &Ident, valid: &str, attr: &str) -> syn::Error {
    let hint = match key.to_string().as_str() {
        "workers" | "max_threads" | "num_threads" | "threads" | "size" => {
            " (did you mean `max_workers`?)"
        }
        "poolname" | "pool_id" | "shared" => " (did you mean `pool_name = \"..\"`?)",
        "on_done" | "on_success" | "on_complete" | "then" => " (did you mean `callback`?)",
        "on_panic" | "error_callback" | "on_failure" | "errback" => " (did you mean `on_error`?)",
        "prio" | "nice" => " (did you mean `priority`?)",
        "block" | "blocking_acquire" | "wait" => " (did you mean `blocking = false`?)",
        "krate" | "path" => " (did you mean `crate = \"..\"`?)",
        _ => "",
    };
    syn::Error::new(
        key.span(),
        format_args!("unknown `#[{attr}]` option `{key}`{hint}; expected one of {valid}"),
    )
}

/// Stores `value` unless the option was already given.
fn set<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format_args!("`{key}` is set more than once; keep only one"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// A string literal, or a constant expression of type `&'static str`.
fn parse_string(expr: &Expr, key: &Ident, example: &str) -> syn::Result<Value<LitStr>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Value::Lit(lit.clone())),
        Expr::Lit(_) | Expr::Closure(_) | Expr::Array(_) | Expr::Tuple(_) => {
            Err(syn::Error::new_spanned(
                expr,
                format_args!(
                    "`{key}` expects a string: a literal such as `{key} = {example}`, or a \
                     constant expression of type `&'static str`"
                ),
            ))
        }
        // `pool_name = io`: a forgotten pair of quotes rather than a constant.
        Expr::Path(path) if is_lowercase_ident(path) => Err(syn::Error::new_spanned(
            expr,
            format_args!(
                "`{key}` expects a string: write `{key} = \"{}\"`, or name a constant of \
                 type `&'static str`",
                path.path.segments[0].ident
            ),
        )),
        _ => Ok(Value::Expr(expr.clone())),
    }
}

/// A single lowercase identifier: a value, not the name of a constant.
fn is_lowercase_ident(path: &ExprPath) -> bool {
    path.qself.is_none()
        && path
            .path
            .get_ident()
            .is_some_and(|ident| !ident.to_string().chars().any(|c| c.is_ascii_uppercase()))
}

fn parse_bool(expr: &Expr, key: &Ident) -> syn::Result<LitBool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Ok(lit.clone()),
        _ => Err(syn::Error::new_spanned(
            expr,
            format_args!("`{key}` expects `true` or `false`"),
        )),
    }
}

/// A path to a function (`cb`, `module::cb`, `<S as Tr>::cb`); a quoted
/// path gets a hint to drop the quotes.
fn parse_path(expr: &Expr, key: &Ident) -> syn::Result<ExprPath> {
    match expr {
        Expr::Path(path) => Ok(path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if lit.parse::<Path>().is_ok() => Err(syn::Error::new_spanned(
            expr,
            format_args!(
                "`{key}` expects a path, not a string: write `{key} = {}`",
                lit.value()
            ),
        )),
        _ => Err(syn::Error::new_spanned(
            expr,
            format_args!(
                "`{key}` expects a path to a function, e.g. `{key} = my_fn`; \
                 closures are not accepted"
            ),
        )),
    }
}

/// `crate = "some::path"`: a string literal holding a path (as tokio and serde take it).
fn parse_crate(expr: &Expr, key: &Ident) -> syn::Result<Path> {
    let fail = |what: &str| {
        Err(syn::Error::new_spanned(
            expr,
            format_args!("`{key}` expects {what}, e.g. `crate = \"::pymt\"`"),
        ))
    };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => match lit.parse::<Path>() {
            Ok(path) => Ok(path),
            Err(_) => fail("a string literal holding a path"),
        },
        Expr::Path(_) => fail("the path in quotes"),
        _ => fail("a string literal holding a path"),
    }
}

/// An integer literal, optionally negated (`priority = -3`), checked here;
/// or a constant expression (`P`, `i32::MAX`), checked by the compiler.
fn parse_int<T>(expr: &Expr, key: &Ident, example: &str) -> syn::Result<Value<IntArg<T>>>
where
    T: TryFrom<i128> + IntName,
{
    let (lit, negative) = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => (lit, false),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) if matches!(&**inner, Expr::Lit(_)) => match &**inner {
            Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) => (lit, true),
            _ => return Err(int_expected(expr, key, example)),
        },
        Expr::Lit(_) | Expr::Closure(_) | Expr::Array(_) | Expr::Tuple(_) => {
            return Err(int_expected(expr, key, example))
        }
        _ => return Ok(Value::Expr(expr.clone())),
    };
    int_value(lit, expr.span(), negative, &key.to_string()).map(Value::Lit)
}

fn int_expected(expr: &Expr, key: &Ident, example: &str) -> syn::Error {
    syn::Error::new_spanned(
        expr,
        format_args!(
            "`{key}` expects an integer: a literal such as `{key} = {example}`, or a constant \
             expression of type `{}`",
            if key == "priority" { "i32" } else { "usize" }
        ),
    )
}

/// Checks the suffix and range of an integer literal.
fn int_value<T>(lit: &LitInt, span: Span, negative: bool, what: &str) -> syn::Result<IntArg<T>>
where
    T: TryFrom<i128> + IntName,
{
    let suffix = lit.suffix();
    if !suffix.is_empty() && suffix != T::NAME {
        return Err(syn::Error::new(
            lit.span(),
            format_args!(
                "`{what}` has type `{}`; remove the `{suffix}` suffix",
                T::NAME
            ),
        ));
    }
    let out_of_range =
        || syn::Error::new(span, format_args!("`{what}` does not fit in `{}`", T::NAME));
    let magnitude: i128 = lit.base10_parse().map_err(|_| out_of_range())?;
    let signed = if negative { -magnitude } else { magnitude };
    let value = T::try_from(signed).map_err(|_| out_of_range())?;
    Ok(IntArg { value, span })
}

/// The type name shown in integer messages.
trait IntName {
    const NAME: &'static str;
}

impl IntName for usize {
    const NAME: &'static str = "usize";
}

impl IntName for i32 {
    const NAME: &'static str = "i32";
}

/// After a bad option, skips its remaining tokens so parsing resumes at the next one.
fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
                return Ok(((), rest));
            }
            rest = next;
        }
        Ok(((), rest))
    })
}
