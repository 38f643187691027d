//! The synchronisation primitives the runtime waits and races on, gathered
//! in one place so a model checker can stand in for them (as tokio does).
//!
//! A normal build re-exports `std` and nothing else: the names cost nothing
//! and behave exactly as `std`'s. Under `RUSTFLAGS="--cfg loom"` (see
//! `tests/loom.rs`) they come from [`loom`](https://docs.rs/loom), which
//! then explores the interleavings of every task state, result slot,
//! limiter and pool state built from them:
//!
//! - `Mutex`, `Condvar`, the atomics of task and pool state, threads
//!   (spawn, `current`, `park`/`unpark`) and thread-locals are loom's. A
//!   thread-local must be: loom runs all its threads on one OS thread.
//! - Time is logical: each [`Instant::now`] on a thread advances that
//!   thread's clock by one tick, and `park_timeout` yields instead of
//!   sleeping, so a timed wait on a permit runs out after a few rounds and
//!   loom explores the releases racing with it. Loom's `Condvar::wait_timeout`
//!   never times out: timed condvar waits are modelled as untimed ones.
//! - Kept from `std` in both builds: `Arc` (the runtime relies on
//!   `Arc<dyn Trait>` coercions that loom's `Arc` lacks), the `OnceLock`,
//!   `LazyLock` and `RwLock` of process-wide statics and lazily made
//!   limiters, and the id counters (loom's atomics cannot be `static`).

#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::{
        atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize},
        Condvar, Mutex, MutexGuard,
    },
    thread_local,
    time::Instant,
};

#[cfg(loom)]
pub(crate) use self::logical_time::Instant;
#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize},
    Condvar, Mutex, MutexGuard,
};

/// Marks the middle of a store-then-load pair whose correctness rests on
/// the single total order of SeqCst operations (an "announce, then
/// re-check" handshake: one side writes A then reads B, the other writes B
/// then reads A; SeqCst forbids both reads missing). A normal build needs
/// nothing more: the accesses themselves are SeqCst. Loom models SeqCst
/// accesses as AcqRel (its documented limitation, which would report the
/// handshake as a lost wake-up), so under loom this is the SeqCst fence
/// that gives it the same total order.
#[inline(always)]
pub(crate) fn handshake() {
    #[cfg(loom)]
    loom::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

/// `thread_local!` with `const { .. }` initialisers, which loom's macro
/// (edition 2018 `expr` fragments) does not accept: the `const` is dropped.
#[cfg(loom)]
macro_rules! loom_thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        ::loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        $crate::sync::thread_local!($($rest)*);
    };
}
#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;

/// Threads, parking and the current thread's handle.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, park_timeout, yield_now, Builder, Thread};

    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, yield_now, Builder, Thread};

    /// Loom has no timed park: giving up the processor stands for "the
    /// timeout passed without an unpark" (the caller then reads the logical
    /// clock; a pending unpark token only makes a later `park` return early,
    /// which every caller of `park` already tolerates).
    #[cfg(loom)]
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::yield_now();
    }
}

/// Logical time for loom models: deterministic for a given interleaving,
/// which is what lets loom replay and explore it.
#[cfg(loom)]
mod logical_time {
    use std::cell::Cell;
    use std::ops::Sub;
    use std::time::Duration;

    /// How far one reading of the clock moves it.
    const TICK: Duration = Duration::from_millis(1);

    loom::thread_local! {
        static CLOCK: Cell<Duration> = Cell::new(Duration::ZERO);
    }

    /// Stands in for `std::time::Instant`: the time on this thread's clock.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub(crate) struct Instant(Duration);

    impl Instant {
        /// This thread's time, then advances its clock by one tick.
        pub(crate) fn now() -> Instant {
            CLOCK.with(|clock| {
                let now = clock.get();
                clock.set(now + TICK);
                Instant(now)
            })
        }

        pub(crate) fn checked_add(self, duration: Duration) -> Option<Instant> {
            self.0.checked_add(duration).map(Instant)
        }

        pub(crate) fn saturating_duration_since(self, earlier: Instant) -> Duration {
            self.0.saturating_sub(earlier.0)
        }
    }

    impl Sub for Instant {
        type Output = Duration;

        fn sub(self, earlier: Instant) -> Duration {
            self.saturating_duration_since(earlier)
        }
    }
}
