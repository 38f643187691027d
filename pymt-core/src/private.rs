//! What `#[threaded]` and `#[limiter]` expansions call. Not public API:
//! names here may change in any release.

use std::fmt;
use std::marker::PhantomData;

pub use crate::daemon::DaemonSlot;
pub use crate::error::TaskError;
pub use crate::limiter::{Limiter, Permit};
pub use crate::task::options::Attr;
pub use crate::task::Task;

use crate::generations::Generations;
use crate::pool::Pool;
use crate::task::launch::{self, Spec, Target};
use crate::task::options::{Options, PermitSlot};

/// The registered pool behind one `#[threaded(pool)]` /
/// `#[threaded(pool_name)]` function, resolved on first call and again
/// after the cached pool was joined or shut down.
pub struct PoolSlot {
    name: &'static str,
    max_workers: Option<usize>,
    /// `#[threaded(pool)]`: a pool of the function's own, never shared by
    /// name with another function's.
    private: bool,
    /// The pool of the first call, then each one resolved after the
    /// previous closed. A call reads the newest without a lock (so it costs
    /// what `Pool::submit` costs, before and after a `join_pools`); a
    /// closed pool is kept (it holds no threads).
    pools: Generations<Pool>,
}

impl PoolSlot {
    /// A slot for the pool `name`, created with `max_workers` if absent.
    pub const fn new(name: &'static str, max_workers: Option<usize>) -> Self {
        PoolSlot {
            name,
            max_workers,
            private: false,
            pools: Generations::new(),
        }
    }

    /// A slot for the private pool of one `#[threaded(pool)]` function,
    /// registered as `name` (or `name#2`, .. if another function's private
    /// pool or a user's pool took it).
    pub const fn private(name: &'static str, max_workers: Option<usize>) -> Self {
        PoolSlot {
            name,
            max_workers,
            private: true,
            pools: Generations::new(),
        }
    }

    /// Where the next call runs: the slot's pool, resolved again if the
    /// cached one closed.
    #[inline]
    fn target(&'static self) -> Target<'static> {
        self.pools
            .get(|pool| !pool.is_closed(), || self.resolve())
            .target()
    }

    #[cold]
    fn resolve(&self) -> Pool {
        if self.private {
            Pool::private_with(self.name, self.max_workers)
        } else {
            Pool::named_with(self.name, self.max_workers)
        }
    }
}

impl fmt::Debug for PoolSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolSlot")
            .field("name", &self.name)
            .finish()
    }
}

/// The body of a `#[threaded]` function whose attribute had an error: it
/// types the task by the user's body (so an `impl Trait` result has a
/// hidden type and nothing cascades) and is never called, since the crate
/// does not compile.
pub fn fallback_task<R, F: FnOnce() -> R>(body: F) -> Task<R> {
    drop(body);
    unreachable!("a fallback expansion only exists beside a compile error")
}

/// One call's launch options. `O` is what the task's cell will carry:
/// nothing (`()`, the cell of `Pool::submit`) until an option needs room,
/// then an [`Attr`] (inline in the cell: no option allocates).
pub struct Launch<R, O = ()> {
    priority: i32,
    options: O,
    /// Only ever set with `O = Attr<R>`, which has room for it.
    permit: Option<Permit>,
    deferred: Option<&'static Limiter>,
    result: PhantomData<fn() -> R>,
}

impl<R: Send + 'static> Launch<R> {
    /// Default options: unnamed, priority 0.
    pub const fn new() -> Self {
        Launch {
            priority: 0,
            options: (),
            permit: None,
            deferred: None,
            result: PhantomData,
        }
    }
}

impl<R> From<()> for Attr<R> {
    fn from((): ()) -> Self {
        Attr::default()
    }
}

// `Options` is implemented by this crate's types only: `()` and `Attr`.
#[allow(private_bounds)]
impl<R, O> Launch<R, O>
where
    R: Send + 'static,
    O: Options<R> + Into<Attr<R>> + 'static,
{
    /// The options with room for every option.
    #[inline]
    fn attr(self) -> Launch<R, Attr<R>> {
        Launch {
            priority: self.priority,
            options: self.options.into(),
            permit: self.permit,
            deferred: self.deferred,
            result: PhantomData,
        }
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Names the task.
    pub fn name(self, name: &'static str) -> Launch<R, Attr<R>> {
        let mut launch = self.attr();
        launch.options.name = Some(name);
        launch
    }

    /// Called with `&R` on the body's thread after success.
    pub fn callback(self, f: fn(&R)) -> Launch<R, Attr<R>> {
        let mut launch = self.attr();
        launch.options.hooks.on_success = Some(f);
        launch
    }

    /// Called with the panic on the body's thread (not for cancellations).
    pub fn on_error(self, f: fn(&TaskError)) -> Launch<R, Attr<R>> {
        let mut launch = self.attr();
        launch.options.hooks.on_error = Some(f);
        launch
    }

    /// A permit the task holds until it ends.
    pub fn permit(self, permit: Permit) -> Launch<R, Attr<R>> {
        let mut launch = self.attr();
        launch.permit = Some(permit);
        launch
    }

    /// The task waits in `limiter` (not on a thread) until a permit frees.
    pub fn deferred(self, limiter: &'static Limiter) -> Launch<R, Attr<R>> {
        let mut launch = self.attr();
        launch.deferred = Some(limiter);
        launch
    }

    #[inline]
    fn start<'t, F>(self, target: impl FnOnce() -> Target<'t>, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        // `deferred` goes into a local before the target is made: left in
        // `self` across the slot's closed-flag check (an opaque call), it
        // kept the compiler from dropping the `launch_deferred` branch and
        // a copy of the options from every call.
        let Launch {
            priority,
            options,
            permit,
            deferred,
            result: _,
        } = self;
        // A permit comes only with `Attr`, which has room for it.
        let mut held = O::Permit::default();
        if let (Some(permit), Some(slot)) = (permit, held.slot()) {
            *slot = Some(permit);
        }
        let spec = Spec {
            priority,
            options,
            permit: held,
        };
        match deferred {
            Some(limiter) => launch::launch_deferred(spec, limiter, target(), f),
            None => launch::launch(spec, target(), f),
        }
    }

    /// Runs `f` on a new thread.
    pub fn thread<F>(self, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        self.start(|| Target::Thread, f)
    }

    /// Runs `f` on the slot's pool.
    #[inline]
    pub fn pool<F>(self, slot: &'static PoolSlot, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        self.start(|| slot.target(), f)
    }

    /// Runs `f` on `pool` (tests and models; expansions use a slot).
    pub fn on<F>(self, pool: &Pool, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        self.start(|| pool.target(), f)
    }

    /// Runs `f` on the slot's daemon worker.
    #[inline]
    pub fn daemon<F>(self, slot: &'static DaemonSlot, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        self.start(|| slot.target(), f)
    }
}

impl<R: Send + 'static> Default for Launch<R> {
    fn default() -> Self {
        Launch::new()
    }
}

impl<R, O: fmt::Debug> fmt::Debug for Launch<R, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launch")
            .field("priority", &self.priority)
            .field("options", &self.options)
            .finish()
    }
}
