//! `Limiter`: a counting semaphore whose waiters (blocked threads and
//! deferred task launches) are served in one FIFO, so none starves and a
//! released permit goes straight to the next waiter.
//!
//! # Representation
//!
//! A limiter's shared part (a [`Shared`]) is reached as `&'static`, so a
//! [`Permit`] is one pointer that costs no reference count: the uncontended
//! acquire and release are one compare-and-swap each on one word, which
//! also counts the `Limiter` handles. When the last handle and the last
//! permit are gone (the word reads 0, seen by exactly one thread: the one
//! whose read-modify-write made it 0) the shared part goes to a free list,
//! and the next limiter to need one takes it from there. Shared parts are
//! thus recycled, never freed: a process keeps as many as it ever had
//! limiters in use at once (about 50 bytes each), and needs no `unsafe`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::Duration;

use crate::sync::thread::{self, Thread};
use crate::sync::{AtomicBool, AtomicU64, Instant, Mutex, MutexGuard};

/// A deferred launch (the waiting task's cell itself, not a boxed closure):
/// `start` receives a permit and returns it if it could not use it.
use crate::task::launch::WaitingLaunch;

struct ThreadWaiter {
    thread: Thread,
    granted: AtomicBool,
}

enum Waiter {
    Thread(Arc<ThreadWaiter>),
    WaitingLaunch(WaitingLaunch),
}

/// The most permits a limiter holds: the low half of the state word.
const MAX_PERMITS: u64 = u32::MAX as u64;
/// Permits held now (including one being handed to a waiter): low 32 bits.
const HELD: u64 = MAX_PERMITS;
/// One `Limiter` handle: bits 32..63 count them.
const ONE_HANDLE: u64 = 1 << 32;
/// Top bit: the waiter queue is not empty, so permits move through the lock
/// (FIFO handoff) instead of the counter. While it is set every permit is
/// held: a release hands its permit to a waiter.
const QUEUED: u64 = 1 << 63;
const HANDLES: u64 = !(HELD | QUEUED);

/// What the handles and permits of one limiter share.
struct Shared {
    /// Held permits, handles and the `QUEUED` bit. Uncontended acquire and
    /// release are one compare-and-swap each, without the lock. 0 means
    /// nothing refers to this `Shared` any more (see `reclaim`).
    state: AtomicU64,
    /// Waiting threads and deferred launches, in arrival order. Not empty
    /// implies `QUEUED`.
    waiters: Mutex<VecDeque<Waiter>>,
}

impl Shared {
    /// A shared part with one handle and no permit held: a recycled one if
    /// any, else a new one that lives for the rest of the process.
    fn claim() -> &'static Shared {
        let shared = recycled().unwrap_or_else(|| {
            Box::leak(Box::new(Shared {
                state: AtomicU64::new(0),
                waiters: Mutex::new(VecDeque::new()),
            }))
        });
        // Nobody else refers to it: it was new, or its word read 0.
        shared.state.store(ONE_HANDLE, Relaxed);
        shared
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Waiter>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a free permit if nobody queues (the fast path).
    #[inline]
    fn try_take(&self, capacity: u64) -> bool {
        let mut state = self.state.load(Relaxed);
        while state & QUEUED == 0 && state & HELD < capacity {
            match self
                .state
                .compare_exchange_weak(state, state + 1, AcqRel, Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// With the queue locked: takes a free permit (true), or marks the queue
    /// non-empty so the caller may enqueue itself (false).
    fn take_or_mark(&self, capacity: u64) -> bool {
        let mut state = self.state.load(Acquire);
        loop {
            let next = match state {
                s if s & QUEUED != 0 => return false,
                s if s & HELD >= capacity => s | QUEUED,
                s => s + 1,
            };
            match self.state.compare_exchange(state, next, AcqRel, Acquire) {
                Ok(_) => return next & QUEUED == 0,
                Err(actual) => state = actual,
            }
        }
    }

    /// Returns a permit to the counter if nobody queues (the fast path);
    /// the release that leaves nothing referring to `self` recycles it.
    #[inline]
    fn try_put(&'static self) -> bool {
        let mut state = self.state.load(Relaxed);
        while state & QUEUED == 0 {
            match self
                .state
                .compare_exchange_weak(state, state - 1, AcqRel, Relaxed)
            {
                Ok(_) => {
                    if state == 1 {
                        self.reclaim();
                    }
                    return true;
                }
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// With the queue locked and found empty: clears the mark. (Whoever
    /// calls it holds a permit or a handle, so the word stays above 0.)
    fn unmark(&self) {
        self.state.fetch_and(!QUEUED, AcqRel);
    }

    /// One more `Limiter` handle.
    fn add_handle(&self) {
        let before = self.state.fetch_add(ONE_HANDLE, Relaxed);
        // As `Arc` does: a billion clones are a leak in a loop, not a
        // program; stop long before the count reaches the flag.
        if (before & HANDLES) >= (HANDLES + ONE_HANDLE) / 2 {
            std::process::abort();
        }
    }

    /// A `Limiter` handle is gone; the last reference recycles `self`.
    fn drop_handle(&'static self) {
        if self.state.fetch_sub(ONE_HANDLE, AcqRel) == ONE_HANDLE {
            self.reclaim();
        }
    }

    /// Nothing refers to `self` any more (its word read 0 in the
    /// read-modify-write that made it so, which exactly one thread does):
    /// it goes to the free list.
    #[cold]
    #[inline(never)]
    fn reclaim(&'static self) {
        // No waiter queues (the word has no `QUEUED`): drop the ring's
        // capacity, which a long queue may have grown.
        *self.lock() = VecDeque::new();
        recycle(self);
    }
}

#[cfg(not(loom))]
static FREE: std::sync::Mutex<Vec<&'static Shared>> = std::sync::Mutex::new(Vec::new());

#[cfg(not(loom))]
fn recycled() -> Option<&'static Shared> {
    FREE.lock().unwrap_or_else(PoisonError::into_inner).pop()
}

#[cfg(not(loom))]
fn recycle(shared: &'static Shared) {
    FREE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(shared);
}

// Under loom a `Shared` holds loom primitives, which belong to one
// execution: never reused, only counted (per OS thread, and loom runs a
// model's threads on one), so a model can check that exactly one thread
// reclaims.
#[cfg(loom)]
std::thread_local!(static RECLAIMED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

#[cfg(loom)]
fn recycled() -> Option<&'static Shared> {
    None
}

#[cfg(loom)]
fn recycle(_shared: &'static Shared) {
    RECLAIMED.with(|n| n.set(n.get() + 1));
}

/// Limiters' shared parts reclaimed so far on this OS thread (loom models
/// only).
#[cfg(loom)]
#[doc(hidden)]
pub fn reclaimed() -> usize {
    RECLAIMED.with(std::cell::Cell::get)
}

/// A counting semaphore, `Clone + Send + Sync`; clones share the permits.
///
/// [`Limiter::new`] is a `const fn`, so a `static` limiter works and can be
/// shared by several functions (`#[limiter(STATIC)]`).
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// static DB: pymt::Limiter = pymt::Limiter::new(2);
/// let a = DB.acquire();
/// let b = DB.try_acquire().expect("second permit");
/// assert!(DB.try_acquire().is_none());
/// drop((a, b));
/// assert_eq!(DB.available(), 2);
/// ```
pub struct Limiter {
    capacity: usize,
    /// Made on first use (so `new` can be `const`); one handle of it.
    shared: OnceLock<&'static Shared>,
}

impl Limiter {
    /// A limiter with `permits` permits.
    ///
    /// A count above `u32::MAX` (`usize::MAX` is the natural "no limit")
    /// is held as `u32::MAX` permits, more than can ever be taken at once;
    /// [`capacity`](Limiter::capacity) still reports the count given.
    ///
    /// # Panics
    ///
    /// If `permits` is 0; in a `static`, that is a compile-time error.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let limiter = pymt::Limiter::new(3);
    /// assert_eq!(limiter.capacity(), 3);
    ///
    /// let unlimited = pymt::Limiter::new(usize::MAX);
    /// let _held: Vec<_> = (0..1000).map(|_| unlimited.acquire()).collect();
    /// assert!(unlimited.try_acquire().is_some());
    /// ```
    #[track_caller]
    pub const fn new(permits: usize) -> Self {
        assert!(permits > 0, "a Limiter needs at least one permit");
        Limiter {
            capacity: permits,
            shared: OnceLock::new(),
        }
    }

    #[inline]
    fn shared(&self) -> &'static Shared {
        match self.shared.get() {
            Some(shared) => shared,
            None => self.first_use(),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_use(&self) -> &'static Shared {
        // `get_or_init` runs one initialiser: exactly one handle is claimed.
        self.shared.get_or_init(Shared::claim)
    }

    #[inline]
    fn capacity_word(&self) -> u64 {
        // A count above `u32::MAX` (`usize::MAX`: "no limit") is held as
        // `u32::MAX`, more permits than can ever be taken at once.
        if self.capacity as u64 > MAX_PERMITS {
            MAX_PERMITS
        } else {
            self.capacity as u64
        }
    }

    /// The number of permits.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Limiter::new(2).capacity(), 2);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Permits free right now.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let l = pymt::Limiter::new(2);
    /// let _p = l.acquire();
    /// assert_eq!(l.available(), 1);
    /// ```
    pub fn available(&self) -> usize {
        let held = self.shared().state.load(Acquire) & HELD;
        self.capacity - held as usize
    }

    /// Blocks until a permit is free, then holds it until the `Permit` drops.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let l = pymt::Limiter::new(1);
    /// let p = l.acquire();
    /// assert_eq!(l.available(), 0);
    /// drop(p);
    /// assert_eq!(l.available(), 1);
    /// ```
    #[inline]
    pub fn acquire(&self) -> Permit {
        match self.try_acquire() {
            Some(permit) => permit,
            None => self.acquire_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn acquire_slow(&self) -> Permit {
        match self.acquire_until(None) {
            Some(permit) => permit,
            None => unreachable!("an unbounded acquire always gets a permit"),
        }
    }

    /// A permit if one is free now.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let l = pymt::Limiter::new(1);
    /// let p = l.try_acquire();
    /// assert!(p.is_some());
    /// assert!(l.try_acquire().is_none());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Option<Permit> {
        let shared = self.shared();
        shared
            .try_take(self.capacity_word())
            .then(|| Permit { shared })
    }

    /// Waits up to `timeout` for a permit.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let l = pymt::Limiter::new(1);
    /// let _p = l.acquire();
    /// assert!(l.acquire_timeout(Duration::from_millis(10)).is_none());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit> {
        self.acquire_until(crate::deadline::after(timeout))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> Option<Permit> {
        if let Some(permit) = self.try_acquire() {
            return Some(permit);
        }
        let shared = self.shared();
        let waiter = Arc::new(ThreadWaiter {
            thread: thread::current(),
            granted: AtomicBool::new(false),
        });
        {
            let mut waiters = shared.lock();
            if shared.take_or_mark(self.capacity_word()) {
                return Some(Permit { shared });
            }
            waiters.push_back(Waiter::Thread(Arc::clone(&waiter)));
        }
        if crate::deadline::park_until(deadline, || waiter.granted.load(Acquire)) {
            return Some(Permit { shared });
        }
        self.abandon(&waiter)
    }

    /// A timed-out waiter leaves the queue, unless a permit reached it first.
    fn abandon(&self, waiter: &Arc<ThreadWaiter>) -> Option<Permit> {
        let shared = self.shared();
        let mut waiters = shared.lock();
        if waiter.granted.load(Acquire) {
            return Some(Permit { shared });
        }
        waiters.retain(|w| !matches!(w, Waiter::Thread(t) if Arc::ptr_eq(t, waiter)));
        if waiters.is_empty() {
            shared.unmark();
        }
        None
    }

    /// Runs `f` holding a permit (released even if `f` panics).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let l = pymt::Limiter::new(1);
    /// assert_eq!(l.run(|| 4), 4);
    /// assert_eq!(l.available(), 1);
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _permit = self.acquire();
        f()
    }

    /// Queues `launch` behind the other waiters; it runs (on the releasing
    /// thread, or this one if a permit is free) once it gets a permit.
    pub(crate) fn launch_when_free(&self, launch: WaitingLaunch) {
        let shared = self.shared();
        if !shared.try_take(self.capacity_word()) {
            let mut waiters = shared.lock();
            if !shared.take_or_mark(self.capacity_word()) {
                waiters.push_back(Waiter::WaitingLaunch(launch));
                return;
            }
        }
        if let Some(unused) = launch.start(Permit { shared }) {
            drop(unused);
        }
    }
}

impl Clone for Limiter {
    fn clone(&self) -> Self {
        let shared = self.shared();
        shared.add_handle();
        Limiter {
            capacity: self.capacity,
            shared: OnceLock::from(shared),
        }
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.get() {
            shared.drop_handle();
        }
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("capacity", &self.capacity)
            .field("available", &self.available())
            .finish()
    }
}

/// One permit of a [`Limiter`], released when dropped (panics included).
///
/// ```
/// # use pymt_core as pymt;
/// let l = pymt::Limiter::new(1);
/// let permit = l.acquire();
/// std::thread::spawn(move || drop(permit)).join().unwrap();
/// assert_eq!(l.available(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct Permit {
    /// Counted in its word as held, which keeps it from being recycled.
    shared: &'static Shared,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}

impl Drop for Permit {
    #[inline]
    fn drop(&mut self) {
        if !self.shared.try_put() {
            release(self.shared);
        }
    }
}

/// Hands the permit to the next waiter, or returns it to the counter. A
/// deferred launch that cannot use it hands it back and the next one gets it
/// (a loop, not recursion, however many cancelled launches are queued).
#[cold]
#[inline(never)]
fn release(shared: &'static Shared) {
    loop {
        if shared.try_put() {
            return;
        }
        let mut waiters = shared.lock();
        let next = waiters.pop_front();
        if waiters.is_empty() {
            shared.unmark();
        }
        match next {
            // The mark was stale (its waiter timed out): back to the counter.
            None => {
                drop(waiters);
                continue;
            }
            Some(Waiter::Thread(waiter)) => {
                // Granted under the lock, so a timing-out waiter sees it.
                waiter
                    .granted
                    .store(true, std::sync::atomic::Ordering::Release);
                drop(waiters);
                waiter.thread.unpark();
                return;
            }
            Some(Waiter::WaitingLaunch(launch)) => {
                drop(waiters);
                match launch.start(Permit { shared }) {
                    None => return,
                    // The same permit, still counted as held: passed on to
                    // the next waiter by the next round, not released.
                    Some(unused) => std::mem::forget(unused),
                }
            }
        }
    }
}
