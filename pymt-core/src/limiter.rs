//! `Limiter`: a counting semaphore whose waiters (blocked threads and
//! deferred task launches) are served in one FIFO, so none starves and a
//! released permit goes straight to the next waiter.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::Duration;

use crate::sync::thread::{self, Thread};
use crate::sync::{AtomicBool, AtomicUsize, Instant, Mutex, MutexGuard};

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

/// Top bit of `Semaphore::state`: the waiter queue is not empty, so permits
/// move through the lock (FIFO handoff) instead of the counter. While it is
/// set the counter is 0: a release hands its permit to a waiter.
const QUEUED: usize = 1 << (usize::BITS - 1);

struct Semaphore {
    /// Free permits, plus the `QUEUED` bit. Uncontended acquire and release
    /// are one compare-and-swap each, without the lock.
    state: AtomicUsize,
    /// Waiting threads and deferred launches, in arrival order.
    waiters: Mutex<VecDeque<Waiter>>,
}

impl Semaphore {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Waiter>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a free permit if nobody queues (the fast path).
    fn try_take(&self) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        while state & QUEUED == 0 && state > 0 {
            match self.state.compare_exchange_weak(
                state,
                state - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// With the queue locked: takes a free permit (true), or marks the queue
    /// non-empty so the caller may enqueue itself (false).
    fn take_or_mark(&self) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                s if s & QUEUED != 0 => return false,
                0 => QUEUED,
                s => s - 1,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next != QUEUED,
                Err(actual) => state = actual,
            }
        }
    }

    /// Returns a permit to the counter if nobody queues (the fast path).
    fn try_put(&self) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        while state & QUEUED == 0 {
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// With the queue locked and found empty: clears the mark.
    fn unmark(&self) {
        self.state.fetch_and(!QUEUED, Ordering::AcqRel);
    }
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
    semaphore: OnceLock<Arc<Semaphore>>,
}

impl Limiter {
    /// A limiter with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` is 0, or above `isize::MAX` (the counter's top bit is a
    /// flag); in a `static`, either is a compile-time error.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let limiter = pymt::Limiter::new(3);
    /// assert_eq!(limiter.capacity(), 3);
    /// ```
    #[track_caller]
    pub const fn new(permits: usize) -> Self {
        assert!(permits > 0, "a Limiter needs at least one permit");
        assert!(
            permits < QUEUED,
            "a Limiter holds at most isize::MAX permits"
        );
        Limiter {
            capacity: permits,
            semaphore: OnceLock::new(),
        }
    }

    fn semaphore(&self) -> &Arc<Semaphore> {
        self.semaphore.get_or_init(|| {
            Arc::new(Semaphore {
                state: AtomicUsize::new(self.capacity),
                waiters: Mutex::new(VecDeque::new()),
            })
        })
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
        self.semaphore().state.load(Ordering::Acquire) & !QUEUED
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
    pub fn acquire(&self) -> Permit {
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
    pub fn try_acquire(&self) -> Option<Permit> {
        let semaphore = self.semaphore();
        semaphore
            .try_take()
            .then(|| Permit::new(Arc::clone(semaphore)))
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
        let semaphore = self.semaphore();
        let waiter = Arc::new(ThreadWaiter {
            thread: thread::current(),
            granted: AtomicBool::new(false),
        });
        {
            let mut waiters = semaphore.lock();
            if semaphore.take_or_mark() {
                return Some(Permit::new(Arc::clone(semaphore)));
            }
            waiters.push_back(Waiter::Thread(Arc::clone(&waiter)));
        }
        if crate::deadline::park_until(deadline, || waiter.granted.load(Ordering::Acquire)) {
            return Some(Permit::new(Arc::clone(semaphore)));
        }
        self.abandon(&waiter)
    }

    /// A timed-out waiter leaves the queue, unless a permit reached it first.
    fn abandon(&self, waiter: &Arc<ThreadWaiter>) -> Option<Permit> {
        let semaphore = self.semaphore();
        let mut waiters = semaphore.lock();
        if waiter.granted.load(Ordering::Acquire) {
            return Some(Permit::new(Arc::clone(semaphore)));
        }
        waiters.retain(|w| !matches!(w, Waiter::Thread(t) if Arc::ptr_eq(t, waiter)));
        if waiters.is_empty() {
            semaphore.unmark();
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
        let semaphore = self.semaphore();
        let permit = if semaphore.try_take() {
            Permit::new(Arc::clone(semaphore))
        } else {
            let mut waiters = semaphore.lock();
            if semaphore.take_or_mark() {
                Permit::new(Arc::clone(semaphore))
            } else {
                waiters.push_back(Waiter::WaitingLaunch(launch));
                return;
            }
        };
        if let Some(unused) = launch.start(permit) {
            drop(unused);
        }
    }
}

impl Clone for Limiter {
    fn clone(&self) -> Self {
        let semaphore = OnceLock::new();
        let _ = semaphore.set(Arc::clone(self.semaphore()));
        Limiter {
            capacity: self.capacity,
            semaphore,
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
    semaphore: Option<Arc<Semaphore>>,
}

impl Permit {
    fn new(semaphore: Arc<Semaphore>) -> Self {
        Permit {
            semaphore: Some(semaphore),
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(semaphore) = self.semaphore.take() {
            release(semaphore);
        }
    }
}

/// Hands the permit to the next waiter, or returns it to the pool. A
/// deferred launch that cannot use it hands it back and the next one gets it
/// (a loop, not recursion, however many cancelled launches are queued).
fn release(semaphore: Arc<Semaphore>) {
    loop {
        if semaphore.try_put() {
            return;
        }
        let mut waiters = semaphore.lock();
        let next = waiters.pop_front();
        if waiters.is_empty() {
            semaphore.unmark();
        }
        match next {
            // The mark was stale (its waiter timed out): back to the counter.
            None => {
                drop(waiters);
                continue;
            }
            Some(Waiter::Thread(waiter)) => {
                // Granted under the lock, so a timing-out waiter sees it.
                waiter.granted.store(true, Ordering::Release);
                drop(waiters);
                waiter.thread.unpark();
                return;
            }
            Some(Waiter::WaitingLaunch(launch)) => {
                drop(waiters);
                match launch.start(Permit::new(Arc::clone(&semaphore))) {
                    None => return,
                    Some(mut unused) => {
                        unused.semaphore = None;
                    }
                }
            }
        }
    }
}
