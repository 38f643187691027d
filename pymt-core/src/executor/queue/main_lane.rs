//! The lane for priority 0 (nearly every submission): the FIFO of
//! `fifo.rs` plus parking for the workers that wait on it.
//!
//! A waiting worker (which has spun over every lane already, in its loop)
//! announces itself in `sleepers` and blocks on a condition variable. A
//! push claims its place, publishes its entry, then reads `sleepers`, and
//! takes the lock to notify only when someone may be blocked: an idle pool
//! costs nothing, and a busy one's pushes read one word.
//!
//! The handshake is announce-then-check on one side and claim-then-read on
//! the other, both SeqCst (the publication itself is a release store:
//! `fifo.rs`). So a waiter either sees the entry *claimed* or is seen. A
//! waiter that finds the head claimed but not yet published waits for that
//! push, a few instructions away, instead of blocking: the push may have
//! read `sleepers` before the waiter announced itself.
//!
//! A waiter that is woken and finds the lane empty (another consumer took
//! the entry) blocks again, its wake-up spent. So a waiter that leaves
//! with an entry wakes another if more is published and someone sleeps
//! unwoken.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::PoisonError;
use std::time::Duration;

use super::fifo::Fifo;
use super::lane::Unblocked;
use crate::deadline;
use crate::executor::counts::Padded;
use crate::sync::{self, AtomicUsize, Condvar, Mutex, MutexGuard};

pub(crate) struct MainLane<T> {
    fifo: Fifo<T>,
    /// Blocked consumers not yet notified (`Waiters::unwoken`, readable
    /// without the lock). On a line of its own: every push reads it.
    sleepers: Padded<AtomicUsize>,
    waiters: Mutex<Waiters>,
    ready: Condvar,
    /// A `pop_wait` blocked (loom models' coverage; not a loom atomic, so
    /// it adds no interleavings).
    #[cfg(loom)]
    blocked: std::sync::atomic::AtomicBool,
    /// A `pop_wait` found the head claimed and not published, and waited
    /// for it (loom coverage, as `blocked`).
    #[cfg(loom)]
    waited_for_claim: std::sync::atomic::AtomicBool,
}

/// Who waits on `ready`, under its lock.
#[derive(Default)]
struct Waiters {
    /// Consumers between announcing themselves and leaving `pop_wait`.
    waiting: usize,
    /// Notifications sent and not yet taken by a waking consumer. A push
    /// notifies only while `waiting > notified`: once a wake-up is on its
    /// way, later pushes read `sleepers` as 0 and skip the lock (a
    /// woken thread takes a moment to run, and a busy producer would
    /// otherwise notify, with a system call, on every push until then).
    notified: usize,
}

impl Waiters {
    fn unwoken(&self) -> usize {
        self.waiting - self.notified
    }
}

impl<T> MainLane<T> {
    pub(crate) fn new() -> Self {
        MainLane {
            fifo: Fifo::new(),
            sleepers: Padded::new(AtomicUsize::new(0)),
            waiters: Mutex::new(Waiters::default()),
            ready: Condvar::new(),
            #[cfg(loom)]
            blocked: std::sync::atomic::AtomicBool::new(false),
            #[cfg(loom)]
            waited_for_claim: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes `sleepers` (under the lock) and orders it before the
    /// caller's next look at the FIFO.
    fn announce(&self, waiters: &Waiters) {
        self.sleepers.store(waiters.unwoken(), SeqCst);
        sync::handshake();
    }

    pub(crate) fn push(&self, entry: T) {
        // Ordered after the push's claim (see the module docs).
        self.fifo.push(entry);
        if self.sleepers.load(SeqCst) > 0 {
            let mut waiters = self.lock();
            if waiters.unwoken() > 0 {
                waiters.notified += 1;
                self.sleepers.store(waiters.unwoken(), SeqCst);
                self.ready.notify_one();
            }
        }
    }

    /// The first entry if it is published (see `fifo.rs`: not one whose
    /// push is still under way; that push wakes a blocked consumer).
    #[inline]
    pub(crate) fn try_pop(&self) -> Option<T> {
        self.fifo.try_pop()
    }

    /// Whether nothing is claimed (see `Fifo::is_empty`).
    // Used by the queue, which under plain loom uses the stand-in lane.
    #[cfg_attr(all(loom, not(pymt_loom_fifo)), allow(dead_code))]
    pub(crate) fn is_empty(&self) -> bool {
        self.fifo.is_empty()
    }

    /// Whether a push is under way at the head (see `Fifo`).
    // Used by the queue, which under plain loom uses the stand-in lane.
    #[cfg_attr(all(loom, not(pymt_loom_fifo)), allow(dead_code))]
    pub(crate) fn head_being_written(&self) -> bool {
        self.fifo.head_being_written()
    }

    /// The first entry, waiting for pushes under way: for emptying the
    /// lane.
    pub(crate) fn drain_one(&self) -> Option<T> {
        self.fifo.drain_one()
    }

    #[cfg(loom)]
    fn segments_allocated(&self) -> usize {
        self.fifo.segments_allocated()
    }

    /// Blocks until an entry arrives, or `timeout` passes (`None`: no
    /// limit), or a wake-up finds the lane empty while `elsewhere` reports
    /// entries in other lanes (see [`Unblocked::Elsewhere`]).
    pub(crate) fn pop_wait(
        &self,
        timeout: Option<Duration>,
        elsewhere: impl Fn() -> bool,
    ) -> Result<T, Unblocked> {
        let deadline = timeout.and_then(deadline::after);
        let mut entry;
        let mut waiters = self.lock();
        waiters.waiting += 1;
        let mut woken = false;
        let unblocked = loop {
            // Announced, then looked: a push either is seen here or sees
            // this consumer in `sleepers`.
            self.announce(&waiters);
            entry = self.fifo.try_pop();
            if entry.is_none() && !self.fifo.is_empty() {
                // Claimed, perhaps not published yet: its push may have
                // read `sleepers` before the announcement. Wait for it.
                entry = self.fifo.drain_one();
                #[cfg(loom)]
                self.waited_for_claim
                    .store(entry.is_some(), std::sync::atomic::Ordering::Relaxed);
            }
            if entry.is_some() {
                break None;
            }
            if woken && elsewhere() {
                break Some(Unblocked::Elsewhere);
            }
            let time_left = deadline::left(deadline);
            if time_left.is_zero() {
                break Some(Unblocked::TimedOut);
            }
            #[cfg(loom)]
            self.blocked
                .store(true, std::sync::atomic::Ordering::Relaxed);
            waiters = match deadline {
                None => self
                    .ready
                    .wait(waiters)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(_) => {
                    self.ready
                        .wait_timeout(waiters, time_left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            // Whichever waiter wakes takes a pending notification: it
            // looks at the FIFO next, which is what the notification asked.
            waiters.notified = waiters.notified.saturating_sub(1);
            woken = true;
        };
        waiters.waiting -= 1;
        waiters.notified = waiters.notified.min(waiters.waiting);
        // Pass the wake-up on: pushes skip the lock while a notification
        // is on its way, and a woken consumer may find its value taken by
        // another and block again, its notification spent; so one wake-up
        // can stand for several values. If more is published and someone
        // still sleeps unwoken, wake one.
        if entry.is_some() && waiters.unwoken() > 0 && self.fifo.head_published() {
            waiters.notified += 1;
            self.ready.notify_one();
        }
        self.sleepers.store(waiters.unwoken(), SeqCst);
        drop(waiters);
        match unblocked {
            None => entry.ok_or(Unblocked::TimedOut),
            Some(why) => Err(why),
        }
    }
}

/// The main lane over plain numbers, for its loom models (`tests/loom.rs`):
/// the engine's own models use a simpler stand-in lane, so the FIFO and
/// its parking are modelled on their own.
#[cfg(loom)]
pub(crate) mod loom_export {
    use std::time::Duration;

    /// A [`MainLane`](super::MainLane) of numbers.
    pub struct LoomLane(super::MainLane<usize>);

    impl Default for LoomLane {
        fn default() -> Self {
            Self::new()
        }
    }

    impl std::fmt::Debug for LoomLane {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("LoomLane")
        }
    }

    impl LoomLane {
        /// An empty lane.
        pub fn new() -> Self {
            LoomLane(super::MainLane::new())
        }

        fn lane(&self) -> &super::MainLane<usize> {
            &self.0
        }

        /// Whether a `pop_wait` ever blocked on the condition variable.
        pub fn blocked(&self) -> bool {
            self.0.blocked.load(std::sync::atomic::Ordering::Relaxed)
        }

        /// Whether the last `pop_wait` that found the head claimed but not
        /// published waited for it and took it.
        pub fn waited_for_claim(&self) -> bool {
            self.0
                .waited_for_claim
                .load(std::sync::atomic::Ordering::Relaxed)
        }

        /// Appends `value`.
        pub fn push(&self, value: usize) {
            self.lane().push(value)
        }

        /// The first value if published.
        pub fn try_pop(&self) -> Option<usize> {
            self.lane().try_pop()
        }

        /// The first value, waiting for pushes under way.
        pub fn drain_one(&self) -> Option<usize> {
            self.lane().drain_one()
        }

        /// Blocks until a value arrives (loom's timed waits never time out).
        pub fn pop_wait(&self) -> usize {
            self.lane()
                .pop_wait(None::<Duration>, || false)
                .expect("no timeout given, nothing elsewhere")
        }

        /// Segments allocated so far (fewer than used means one was reused).
        pub fn segments_allocated(&self) -> usize {
            self.lane().segments_allocated()
        }

        /// Slots per segment.
        pub const SEGMENT: usize = super::super::fifo::SEGMENT;
    }
}
