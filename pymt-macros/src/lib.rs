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
//! 2. `ast.rs` parses the function and resolves how `#[limiter]` and
//!    `#[threaded]` are stacked on it into one `Plan`;
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
/// | `#[threaded(pool)]` | a registered pool private to this function, named `module::path::function` |
/// | `#[threaded(pool_name = "io")]` | the registered pool `"io"`, shared by every function naming it, created on first use and created afresh after it was joined |
///
/// Options, in any combination that makes sense:
///
/// | option | meaning |
/// |---|---|
/// | `max_workers = N` | with `pool` or `pool_name`: the pool's size when this call creates it |
/// | `priority = N` | the task's priority (`i32`, negative allowed; higher runs first) |
/// | `name = ".."` | the task's name, as `Task::name` and `pymt::current_task` report it |
/// | `callback = path` | a `fn(&R)` called with the result, on the thread that ran the body, after it succeeded |
/// | `on_error = path` | a `fn(&TaskError)` called on the thread that ran the body, after it panicked (never for a cancellation) |
/// | `crate = "path"` | where to find `pymt`, for crates that re-export it (see [Rename package](#rename-package)) |
///
/// It works on free functions, on methods taking `self` or `self: Arc<Self>`,
/// on trait methods with a default body and on generic functions. Docs, other
/// attributes, visibility, generics and `where` clauses are kept. Arguments
/// move to the other thread, so they cannot borrow (`&T`, `&self`; `&'static
/// T` is fine), and the expansion adds `Send + 'static` bounds on each type
/// parameter, on `impl Trait` arguments, on the receiver, and on `R` where it
/// may depend on them. Inside the body, `return` and `?` work as before.
///
/// Place [`#[limiter]`](macro@limiter) above or below it to limit how many
/// calls run at once.
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
/// is, apart from the hygienic names of its helper bindings:
///
/// ```ignore
/// /// Scales an image.
/// pub fn scale(img: Image, __pymt_arg1: (u32, u32)) -> pymt::Task<Image> {
///     // The pool is cached: resolved by name on the first call, and again
///     // only after it was joined or shut down.
///     static POOL: pymt::__private::PoolSlot =
///         pymt::__private::PoolSlot::new("images", Some(4));
///     pymt::__private::Launch::<Image>::new()
///         .priority(2)
///         .callback(log_size)
///         .pool(&POOL, move || -> Image {
///             let _ = &img; // moves `img` into the closure whole
///             let (w, h) = __pymt_arg1;
///             img.resize(w, h)
///         })
/// }
/// ```
///
/// The other forms differ only in the last call. Bare `#[threaded]` is
/// `.thread(move || ..)`, like `pymt::spawn`. `#[threaded(pool)]` names its
/// pool after the function:
///
/// ```ignore
/// static POOL: PoolSlot = PoolSlot::new(concat!(module_path!(), "::", "scale"), None);
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
/// The limit is an integer literal (`#[limiter(4)]`), a `const` of type
/// `usize` (`#[limiter(MAX_DOWNLOADS)]`), or a `static` `pymt::Limiter` that
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
///     let _permit = {
///         static LIMITER: pymt::__private::LimiterSlot = pymt::__private::LimiterSlot::new();
///         LIMITER.get(|| pymt::__private::limiter_of(&2usize))
///     }
///     .acquire();
///     fetch(&url)
/// }
/// ```
///
/// Above `#[threaded]`, `#[limiter]` expands both attributes together (the
/// `Launch` chain is the one shown for `#[threaded]`):
///
/// ```ignore
/// // #[limiter(NETWORK)]: the caller waits for a permit, the task keeps it.
/// fn upload(data: Vec<u8>) -> pymt::Task<()> {
///     let permit = LIMITER_SLOT.get(|| limiter_of(&NETWORK)).acquire();
///     Launch::<()>::new().permit(permit).pool(&POOL, move || { .. })
/// }
///
/// // #[limiter(NETWORK, blocking = false)]: the call returns at once.
/// fn upload(data: Vec<u8>) -> pymt::Task<()> {
///     Launch::<()>::new()
///         .deferred(LIMITER_SLOT.get(|| limiter_of(&NETWORK)))
///         .pool(&POOL, move || { .. })
/// }
/// ```
///
/// Below `#[threaded]`, the `let _permit = ..acquire();` line opens the
/// closure that runs on the worker.
///
/// # Errors
///
/// `#[limiter(0)]`, a missing limit, unknown or repeated options, more than
/// one `#[limiter]` above `#[threaded]`, and `blocking = false` anywhere but
/// above `#[threaded]` are compile errors.
#[proc_macro_attribute]
pub fn limiter(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::limiter(args.into(), item.into()).into()
}
