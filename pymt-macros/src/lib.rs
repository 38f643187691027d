//! Implementation detail of the `pymt` crate: the [`#[threaded]`](macro@threaded)
//! and [`#[limiter]`](macro@limiter) attributes.
//!
//! Depend on `pymt`, not on this crate: it re-exports both attributes as
//! `pymt::threaded` and `pymt::limiter`, and the code they generate refers to
//! `::pymt::__private`. The documentation of each attribute lists its forms
//! and options and shows the equivalent hand-written code.
//!
//! # How the crate is organised
//!
//! Each expansion goes through the same pipeline:
//!
//! 1. `args.rs` parses the attribute's arguments into `ThreadedArgs` /
//!    `LimiterArgs` (one setter per option; duplicates and unknown keys are
//!    errors pointing at the offending token);
//! 2. `ast.rs` parses the function into one `Plan`, with what an earlier
//!    expansion of the other attribute left on it (`stack.rs` reads it: the
//!    attributes find each other by what they generate, never by name);
//! 3. `validate.rs` checks the plan, collecting every error (`ctxt.rs`);
//! 4. `expand.rs` generates the code (with the bounds `send_bounds.rs`
//!    infers), or `fallback.rs` emits the errors plus a function with the
//!    signature callers expect and the user's body, so they see no cascade of
//!    further errors, and the body's own errors still.
//!
//! The expansion contains no `unsafe` code, and names only
//! `::pymt::__private::..` (or the `crate = ".."` override), `::core` and
//! `::std`.

#![forbid(unsafe_code)]

mod args;
mod ast;
mod ctxt;
mod expand;
mod fallback;
mod send_bounds;
mod stack;
mod validate;

use proc_macro::TokenStream;

/// Runs each call of the function on another thread and returns a `Task<R>`.
///
/// Every call returns at once with a `pymt::Task<R>` handle, while the body
/// runs elsewhere. The return type `R` becomes `Task<R>` (a function without
/// one returns `Task<()>`).
///
/// ```ignore
/// use pymt::threaded;
///
/// #[threaded]
/// fn add(a: u32, b: u32) -> u32 {
///     a + b
/// }
///
/// let task: pymt::Task<u32> = add(2, 3);
/// assert_eq!(task.join(), Ok(5));
/// ```
///
/// | form | where the body runs |
/// |---|---|
/// | `#[threaded]` | a new thread per call |
/// | `#[threaded(daemon)]` | one long-lived worker for this function, started on first call; `pymt::join_daemons` stops it and a later call starts a fresh one |
/// | `#[threaded(pool)]` | a registered pool private to this function, named `module::path::function` (`..#2`, `..#3` when another function's private pool of the same name was created first, e.g. `A::run` and `B::run` in one module) |
/// | `#[threaded(pool_name = "io")]` | the registered pool `"io"`, shared by every function naming it, created on first use and created afresh after it was joined |
///
/// Options, in any combination that makes sense:
///
/// | option | meaning |
/// |---|---|
/// | `max_workers = N` | with `pool` or `pool_name`: the pool's size when this call creates it |
/// | `priority = N` | the task's priority (`i32`, negative allowed; higher runs first) |
/// | `name = ".."` | the task's name, as `Task::name` and `pymt::current_task` report it |
/// | `callback = path` | a `fn(&R)` called with the result, on the thread that ran the body, after it succeeded (any path: `cb`, `module::cb`, `<S as Tr>::cb`) |
/// | `on_error = path` | a `fn(&TaskError)` called on the thread that ran the body, after it panicked (never for a cancellation) |
///
/// Values may be literals or constant expressions of the option's type
/// (`priority = BASE + 1`, `pool_name = concat!(..)`, `max_workers = N`),
/// also from `macro_rules!` fragments (`$p:expr`, `$p:literal`); literals
/// are checked by the macro, other values by the compiler, at the value.
/// | `crate = "path"` | where to find `pymt`, for crates that re-export it (see [Rename package](#rename-package)) |
///
/// It works on free functions, on methods taking `self` or `self: Arc<Self>`,
/// on trait methods with a default body and on generic functions. Docs, other
/// attributes, visibility, generics and `where` clauses are kept, and so are
/// the lints about the function: `dead_code` for a function never called,
/// `unused_variables` for an argument the body never uses. Arguments move to
/// the other thread, so they cannot borrow (`&T`, `&self`; `&'static T` is
/// fine), and the expansion adds `Send + 'static` bounds, each at the user's
/// type, so an unmet one is reported there: on each argument's type and on
/// `R` (a `where` clause, or the type parameter's own bounds), on the
/// receiver, and on `impl Trait` arguments and results. Inside the body,
/// `return` and `?` work as before. A function that never returns (`-> !`)
/// returns `Task<Infallible>`.
///
/// Place [`#[limiter]`](macro@limiter) above or below it to limit how many
/// calls run at once. The two attributes recognise each other by what they
/// generate, not by name, so renamed imports (`use pymt::limiter as
/// throttle;`) stack the same way. Written twice, `#[threaded]` nests: the
/// call returns a `Task<Task<R>>` whose outer task only starts the inner one.
///
/// # What it expands to
///
/// ```ignore
/// /// Scales an image.
/// #[threaded(pool_name = "images", max_workers = 4, priority = 2, callback = log_size)]
/// pub fn scale(img: Image, (w, h): (u32, u32)) -> Image {
///     img.resize(w, h)
/// }
/// ```
///
/// is, apart from the hygienic names of its helper items:
///
/// ```ignore
/// /// Scales an image.
/// pub fn scale(img: Image, __pymt_arg1: (u32, u32)) -> pymt::Task<Image>
/// where
///     Image: pymt::__private::Send + 'static, // at the user's `Image`
/// {
///     pymt::__private::Launch::<Image>::new()
///         .priority(2)
///         .callback({ let cb: fn(&Image) = log_size; cb })
///         .pool(
///             {
///                 // The pool is cached: resolved by name on the first call,
///                 // and again only after it was joined or shut down.
///                 static POOL: pymt::__private::PoolSlot =
///                     pymt::__private::PoolSlot::new("images", Some(4));
///                 &POOL
///             },
///             move || -> Image {
///                 let img = img; // moves `img` into the closure whole
///                 let _ = &__pymt_arg1;
///                 let (w, h) = __pymt_arg1;
///                 img.resize(w, h)
///             },
///         )
/// }
/// ```
///
/// The other forms differ only in the last call. Bare `#[threaded]` is
/// `.thread(move || ..)`, like `pymt::spawn`. `#[threaded(pool)]` names its
/// private pool after the function:
///
/// ```ignore
/// static POOL: PoolSlot = PoolSlot::private(concat!(module_path!(), "::", "scale"), None);
/// ```
///
/// and `#[threaded(daemon)]` keeps one dedicated worker the same way:
///
/// ```ignore
/// static DAEMON: pymt::__private::DaemonSlot =
///     pymt::__private::DaemonSlot::new(concat!(module_path!(), "::", "scale"));
/// pymt::__private::Launch::<Image>::new().daemon(&DAEMON, move || -> Image { .. })
/// ```
///
/// # Rename package
///
/// Generated code names `::pymt::__private`. A crate that re-exports `pymt`
/// under another path says where it is with `crate = ".."` (as `tokio` and
/// `serde` allow); `#[limiter]` takes the same option:
///
/// ```ignore
/// #[my_framework::threaded(crate = "::my_framework::pymt")]
/// fn work() {}
/// ```
///
/// # Errors
///
/// Mistakes are compile errors pointing at the offending token, all of them
/// at once: unknown or repeated options, values of the wrong kind, `daemon`
/// with a pool, `max_workers` without a pool or `0`, an empty `pool_name`,
/// `async`, `const` or `extern` functions, and borrowed arguments or
/// receivers. The function is still emitted with its `Task<R>` signature, so
/// its callers see no cascade of further errors.
#[proc_macro_attribute]
pub fn threaded(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::threaded(args.into(), item.into()).into()
}

/// Lets at most `n` calls of the function run (or, above `#[threaded]`, be
/// queued or running) at once.
///
/// The limit is an integer literal (`#[limiter(4)]`), a constant expression
/// of type `usize` (`#[limiter(MAX_DOWNLOADS)]`, `#[limiter(2 * N)]`), or a `static` `pymt::Limiter` that
/// several functions share (`#[limiter(NETWORK)]`); the expansion tells a
/// count from a limiter by its type. Options: `blocking = false` (above
/// `#[threaded]` only) and `crate = ".."` (see [`#[threaded]`](macro@threaded)).
///
/// | placement | effect |
/// |---|---|
/// | on a plain fn | the call waits for one of `n` permits, released when the body returns or panics |
/// | above `#[threaded]` | the caller waits for a permit, which travels with the task and is released when the task ends (at once if it is cancelled while queued): at most `n` calls queued or running |
/// | above `#[threaded]`, `blocking = false` | the call returns at once; the task waits in the limiter (not on a worker) until a permit frees: at most `n` bodies run at once |
/// | below `#[threaded]` | the body waits for the permit on the thread that runs it |
///
/// ```ignore
/// use pymt::{limiter, threaded, Limiter};
///
/// #[limiter(2)]
/// fn download(url: String) -> Vec<u8> {
///     fetch(&url)
/// }
///
/// static NETWORK: Limiter = Limiter::new(8);
///
/// #[limiter(NETWORK, blocking = false)]
/// #[threaded(pool_name = "net")]
/// fn upload(data: Vec<u8>) {
///     send(&data)
/// }
/// ```
///
/// # What it expands to
///
/// On a plain function, the permit is the body's first local, so it is
/// released last, also while a panic unwinds:
///
/// ```ignore
/// fn download(url: String) -> Vec<u8> {
///     // A count or constant expression is a `static Limiter` of its own,
///     // evaluated at compile time.
///     let _ = &{
///         static LIMITER: pymt::Limiter = pymt::Limiter::new(2);
///         &LIMITER
///     }
///     .acquire();
///     fetch(&url)
/// }
/// ```
///
/// A path is resolved by its type, once: `static LIMITER: LimitSlot =
/// LimitSlot::new(&NETWORK);` then `LIMITER.get()`, the shared `static` for
/// a `Limiter` and a limiter of the slot's own for a `const` count.
///
/// Above `#[threaded]`, that first statement is what the `#[threaded]`
/// below finds and moves to the caller (the `Launch` chain is the one shown
/// for `#[threaded]`):
///
/// ```ignore
/// // #[limiter(NETWORK)]: the caller waits for a permit, the task keeps it.
/// fn upload(data: Vec<u8>) -> pymt::Task<()> {
///     Launch::<()>::new().permit(NETWORK_REF.acquire()).pool(POOL, move || { .. })
/// }
///
/// // #[limiter(NETWORK, blocking = false)]: the call returns at once.
/// fn upload(data: Vec<u8>) -> pymt::Task<()> {
///     Launch::<()>::new().deferred(NETWORK_REF).pool(POOL, move || { .. })
/// }
/// ```
///
/// Below `#[threaded]`, the limiter finds the `Launch` chain and the
/// `let _ = &..acquire();` line opens the closure that runs on the worker.
/// Either way the attributes find each other by what they generate, so a
/// renamed import (`use pymt::limiter as throttle;`) stacks the same way.
///
/// # Errors
///
/// `#[limiter(0)]`, a missing limit, a limit that is not a `usize` or a
/// `static` `Limiter` (reported at the limit), a limit depending on a
/// generic parameter (one `#[limiter]` serves every instantiation), unknown
/// or repeated options, more than one `#[limiter]` above `#[threaded]`, and
/// `blocking = false` anywhere but above `#[threaded]` are compile errors. A
/// count above `u32::MAX` (`usize::MAX`) means no limit.
#[proc_macro_attribute]
pub fn limiter(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::limiter(args.into(), item.into()).into()
}
