//! The rest of what `#[threaded]` and `#[limiter]` expansions name: the
//! limit of a `#[limiter(..)]`, the `const` checks of option values, the
//! marker a `#[limiter]` leaves for a `#[threaded]` below it, and the
//! standard items the expansion needs (re-exported here, so expansions
//! work in every edition: a 2015 crate has no `::core` path). Not public
//! API: names here may change in any release.

use std::sync::OnceLock;

use crate::limiter::Limiter;

pub use core::convert::Infallible;
pub use core::marker::Send;
pub use core::option::Option;
pub use core::{column, concat, line, module_path};

/// What `#[limiter(PATH)]` accepts: a `usize` count (a `const`) or a
/// `static` [`Limiter`] that several functions share. The expansion tells
/// the two apart by this trait.
#[diagnostic::on_unimplemented(
    message = "`#[limiter(..)]` takes a count of type `usize` or a `static` `Limiter`, not `{Self}`",
    label = "this is a `{Self}`",
    note = "write the count as a `usize` (`const N: usize = 4;`), or share permits with `static L: pymt::Limiter = pymt::Limiter::new(4);`"
)]
pub trait LimitSource: Sync + 'static {
    /// The limiter this source stands for; `own` keeps the one a count makes.
    fn limiter(&'static self, own: &'static OnceLock<Limiter>) -> &'static Limiter;
}

impl LimitSource for usize {
    #[inline]
    fn limiter(&'static self, own: &'static OnceLock<Limiter>) -> &'static Limiter {
        own.get_or_init(|| Limiter::new(*self))
    }
}

impl LimitSource for Limiter {
    #[inline]
    fn limiter(&'static self, _: &'static OnceLock<Limiter>) -> &'static Limiter {
        self
    }
}

/// The limiter behind `#[limiter(PATH)]`, where `PATH` names a `const`
/// count or a `static` `Limiter`. A literal or other constant expression
/// is a `static Limiter` of its own instead, with no slot at all.
///
/// Built in a `static` initializer, so a limit that depends on the
/// function's generic parameters is a compile error there ("can't use
/// generic parameters from outer item"), never a limiter silently shared
/// by every instantiation.
pub struct LimitSlot {
    source: &'static dyn LimitSource,
    own: OnceLock<Limiter>,
}

impl LimitSlot {
    /// A slot for `source`.
    pub const fn new<S: LimitSource>(source: &'static S) -> Self {
        LimitSlot {
            source,
            own: OnceLock::new(),
        }
    }

    /// The limiter: the shared `static`, or the slot's own for a count.
    #[inline]
    pub fn get(&'static self) -> &'static Limiter {
        self.source.limiter(&self.own)
    }
}

impl std::fmt::Debug for LimitSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitSlot").finish_non_exhaustive()
    }
}

/// `pool_name = EXPR`, checked where the compiler evaluates it: a literal
/// is checked by the macro already.
pub const fn pool_name(name: &'static str) -> &'static str {
    assert!(!name.is_empty(), "`pool_name` must not be empty");
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        assert!(
            bytes[i] != 0,
            "`pool_name` must not contain a NUL byte (it names the pool's threads)"
        );
        i += 1;
    }
    name
}

/// `max_workers = EXPR`, checked where the compiler evaluates it.
pub const fn max_workers(n: usize) -> usize {
    assert!(n > 0, "`max_workers = 0` would never run anything");
    n
}

/// What a `#[limiter(.., blocking = false)]` on a function leaves in its
/// body for a `#[threaded]` below it, which takes it out and defers the task
/// on the limiter. Left in place (no `#[threaded]` below), it is this error.
#[doc(hidden)]
#[macro_export]
macro_rules! __pymt_deferred_limiter {
    ($($limiter:tt)*) => {
        compile_error! {
            "`blocking = false` needs `#[threaded]` below `#[limiter]`: a plain call must wait \
for its permit; add `#[threaded]` under this attribute, or remove `blocking = false`"
        }
    };
}

pub use crate::__pymt_deferred_limiter as deferred_limiter;
