//! What `#[threaded]` and `#[limiter]` expansions call. Not public API:
//! names here may change in any release.

use std::borrow::Cow;
use std::fmt;
use std::sync::{OnceLock, PoisonError, RwLock};

pub use crate::daemon::DaemonSlot;
pub use crate::error::TaskError;
pub use crate::limiter::{Limiter, Permit};
pub use crate::task::Task;

use crate::pool::Pool;
use crate::task::launch::{self, Spec, Target};
use crate::task::listener::Listener;

/// The registered pool behind one `#[threaded(pool)]` /
/// `#[threaded(pool_name)]` function, resolved once and cached; resolved
/// again only after the cached pool was joined or shut down.
pub struct PoolSlot {
    name: &'static str,
    max_workers: Option<usize>,
    /// The pool of the first call. While it is open a call takes no lock,
    /// so it costs what `Pool::submit` costs. Kept once closed, as a
    /// `OnceLock` cannot be reset; a closed pool holds no threads.
    first: OnceLock<Pool>,
    /// The pool resolved after `first` closed: only calls after a
    /// re-resolution pay for its lock.
    later: RwLock<Option<Pool>>,
}

impl PoolSlot {
    /// A slot for the pool `name`, created with `max_workers` if absent.
    pub const fn new(name: &'static str, max_workers: Option<usize>) -> Self {
        PoolSlot {
            name,
            max_workers,
            first: OnceLock::new(),
            later: RwLock::new(None),
        }
    }

    /// Where the next call runs: the slot's pool, resolved again if the
    /// cached one closed.
    #[inline]
    fn target(&self) -> Target {
        match self.first.get() {
            Some(pool) if !pool.is_closed() => pool.target(),
            _ => self.resolve_target(),
        }
    }

    #[cold]
    fn resolve_target(&self) -> Target {
        let first = self.first.get_or_init(|| self.resolve());
        if !first.is_closed() {
            return first.target();
        }
        if let Some(pool) = &*self.later.read().unwrap_or_else(PoisonError::into_inner) {
            if !pool.is_closed() {
                return pool.target();
            }
        }
        let mut later = self.later.write().unwrap_or_else(PoisonError::into_inner);
        match &*later {
            Some(pool) if !pool.is_closed() => pool.target(),
            _ => later.insert(self.resolve()).target(),
        }
    }

    fn resolve(&self) -> Pool {
        Pool::named_with(self.name, self.max_workers)
    }
}

impl fmt::Debug for PoolSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolSlot")
            .field("name", &self.name)
            .finish()
    }
}

/// The limiter of one `#[limiter(..)]` function, resolved on first call.
#[derive(Debug)]
pub struct LimiterSlot(OnceLock<&'static Limiter>);

impl LimiterSlot {
    /// An unresolved slot.
    pub const fn new() -> Self {
        LimiterSlot(OnceLock::new())
    }

    /// The limiter, made by `init` on first call.
    pub fn get(&'static self, init: fn() -> &'static Limiter) -> &'static Limiter {
        self.0.get_or_init(init)
    }
}

impl Default for LimiterSlot {
    fn default() -> Self {
        LimiterSlot::new()
    }
}

/// What `#[limiter(x)]` accepts: a permit count or a `static` limiter.
pub trait LimiterSource {
    /// The limiter this source stands for.
    fn to_limiter(&'static self) -> &'static Limiter;
}

impl LimiterSource for usize {
    #[track_caller]
    fn to_limiter(&'static self) -> &'static Limiter {
        assert!(*self > 0, "#[limiter(n)] needs n >= 1, got 0");
        Box::leak(Box::new(Limiter::new(*self)))
    }
}

impl LimiterSource for Limiter {
    fn to_limiter(&'static self) -> &'static Limiter {
        self
    }
}

/// Resolves a `#[limiter(..)]` argument by its type.
#[track_caller]
pub fn limiter_of<S: LimiterSource + ?Sized>(source: &'static S) -> &'static Limiter {
    source.to_limiter()
}

/// The body of a `#[threaded]` function whose attribute had an error: it
/// types the task by the user's body (so an `impl Trait` result has a
/// hidden type and nothing cascades) and is never called, since the crate
/// does not compile.
pub fn fallback_task<R, F: FnOnce() -> R>(body: F) -> Task<R> {
    drop(body);
    unreachable!("a fallback expansion only exists beside a compile error")
}

/// One call's launch options.
pub struct Launch<R> {
    spec: Spec<R>,
    deferred: Option<&'static Limiter>,
}

impl<R: Send + 'static> Launch<R> {
    /// Default options: unnamed, priority 0.
    pub const fn new() -> Self {
        Launch {
            spec: Spec {
                name: None,
                priority: 0,
                listener: None,
                permit: None,
            },
            deferred: None,
        }
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.spec.priority = priority;
        self
    }

    /// Names the task.
    pub fn name(mut self, name: &'static str) -> Self {
        self.spec.name = Some(Cow::Borrowed(name));
        self
    }

    #[allow(clippy::type_complexity)] // two fn-pointer slots, named by their use below
    fn hooks(&mut self) -> (&mut Option<fn(&R)>, &mut Option<fn(&TaskError)>) {
        if !matches!(self.spec.listener, Some(Listener::Hooks { .. })) {
            self.spec.listener = Some(Listener::Hooks {
                on_success: None,
                on_error: None,
            });
        }
        match &mut self.spec.listener {
            Some(Listener::Hooks {
                on_success,
                on_error,
            }) => (on_success, on_error),
            _ => unreachable!("hooks were just installed"),
        }
    }

    /// Called with `&R` on the body's thread after success.
    pub fn callback(mut self, f: fn(&R)) -> Self {
        *self.hooks().0 = Some(f);
        self
    }

    /// Called with the panic on the body's thread (not for cancellations).
    pub fn on_error(mut self, f: fn(&TaskError)) -> Self {
        *self.hooks().1 = Some(f);
        self
    }

    /// A permit the task holds until it ends.
    pub fn permit(mut self, permit: Permit) -> Self {
        self.spec.permit = Some(permit);
        self
    }

    /// The task waits in `limiter` (not on a thread) until a permit frees.
    pub fn deferred(mut self, limiter: &'static Limiter) -> Self {
        self.deferred = Some(limiter);
        self
    }

    #[inline]
    fn start<F>(self, target: impl FnOnce() -> Target, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
    {
        // `deferred` goes into a local before the target is made: left in
        // `self` across the slot's closed-flag check (an opaque call), it
        // kept the compiler from dropping the `launch_deferred` branch and
        // a copy of the options from every call.
        let Launch { spec, deferred } = self;
        match deferred {
            Some(limiter) => launch::launch_deferred(spec, limiter, target(), f),
            None => launch::launch(spec, &target(), f),
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

impl<R> fmt::Debug for Launch<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launch")
            .field("priority", &self.spec.priority)
            .field("name", &self.spec.name)
            .finish()
    }
}
