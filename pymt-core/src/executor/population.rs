//! The workers of an executor: starting them on demand, retiring idle and
//! surplus ones, and resizing.
//!
//! `State::workers` counts threads alive or starting; the lock-free mirrors
//! in `counts.cold` (`can_grow`, `excess`, `reapable`) let the hot paths
//! decide without the lock, and are rechecked under it.
//!
//! # Compensation for blocked workers
//!
//! A worker that waits with a timeout on a task of its own pool does not
//! run it inline (an inline run cannot be cut short, so the wait would
//! overrun its deadline, or deadlock on what the waiter holds). Instead,
//! while it waits, it counts as `blocked`, and the pool may run one more
//! worker than `max_workers` for it, so queued tasks still find a thread
//! and waiting never deadlocks the pool (at most `MAX_COMPENSATION` extra
//! workers at once; beyond that, a timed wait runs out as timed waits may).
//! Pool-level waits made on a worker
//! (`wait_completion`, `drain`, `join`) count the same way. When the wait
//! ends, a surplus worker retires as soon as it is between tasks. A
//! dedicated `Worker` never compensates: its tasks run on its one thread,
//! so a timed wait there on one of its queued tasks can only time out.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;

use super::config::Compensation;
use super::counts::Stripe;
use super::{Executor, Lifecycle, State, Tally};

/// At most this many workers beyond `max_workers` compensate for blocked
/// ones (as Java's `ForkJoinPool` bounds its compensation threads): past it,
/// a blocked worker's timed wait simply runs out, as timed waits may.
pub(crate) const MAX_COMPENSATION: usize = 256;

impl State {
    /// How many workers may run now.
    fn capacity(&self) -> usize {
        self.max_workers + self.blocked.min(MAX_COMPENSATION)
    }
}
use crate::error::TaskError;
use crate::sync::{self, thread};

impl Executor {
    /// Publishes the worker-count mirrors; call after changing `workers`,
    /// `min_workers` or `max_workers`, lock held.
    pub(super) fn sync_mirrors(&self, st: &State) {
        let cold = &self.counts.cold;
        cold.can_grow.store(st.workers < st.capacity(), SeqCst);
        cold.excess.store(st.workers > st.capacity(), SeqCst);
        cold.reapable.store(st.workers > st.min_workers, SeqCst);
    }

    /// Starts a worker if below the maximum and more entries wait than
    /// idle or starting workers will take.
    pub(super) fn grow(self: &Arc<Self>) {
        let _ = self.grow_for(Growth::Submitted);
    }

    /// As [`Executor::grow`], for `why`; true if it started a worker.
    fn grow_for(self: &Arc<Self>, why: Growth) -> bool {
        let spawn = {
            let mut st = self.lock();
            let takers = self.counts.idle.load(SeqCst) + st.starting;
            // A closed pool grows only to compensate for a worker blocked
            // in it (in `join` itself, say), or for the check a worker
            // leaving idle makes for a submitter that saw it idle while
            // the pool was open: it still finishes its queue. Otherwise
            // its workers are on their way out, and a late push is refused
            // (`after_late_push`), not given a fresh worker.
            let open = match st.lifecycle {
                Lifecycle::Open => true,
                Lifecycle::ShuttingDown => false,
                Lifecycle::Joining | Lifecycle::Detached => {
                    st.blocked > 0 || why == Growth::LeftIdle
                }
            };
            let spawn = open && st.workers < st.capacity() && self.queued() > takers;
            if spawn {
                st.workers += 1;
                st.starting += 1;
                self.sync_mirrors(&st);
            }
            spawn
        };
        if spawn {
            self.spawn_worker();
        }
        spawn
    }

    /// Starts the thread of a worker already counted in `workers` and
    /// `starting`.
    pub(super) fn spawn_worker(self: &Arc<Self>) {
        let index = {
            let mut st = self.lock();
            st.next_thread += 1;
            st.next_thread
        };
        let mut builder = thread::Builder::new().name(self.config.worker_thread_name(index));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let executor = Arc::clone(self);
        if let Err(error) = builder.spawn(move || executor.run_worker()) {
            report_error!(
                "pymt: pool '{}' could not start a worker thread: {error}",
                self.config.name
            );
            let unmanned = {
                let mut st = self.lock();
                st.workers -= 1;
                st.starting -= 1;
                self.sync_mirrors(&st);
                self.notify_state_locked();
                st.workers == 0
            };
            // With no thread to run them, queued entries would wait forever.
            if unmanned {
                self.end_queued(&TaskError::Rejected);
            }
        }
    }

    /// A worker reached its loop.
    /// A worker reached its loop: its tally is registered, and it gets a
    /// stripe of the counts of its own if one is free (the shared one if
    /// not). It writes it with plain stores unless the queue is bounded.
    pub(super) fn worker_started(&self, tally: &Arc<Tally>) -> Stripe {
        let mut st = self.lock();
        st.starting -= 1;
        st.tallies.push(Arc::clone(tally));
        let Some(n) = st.stripes_held.iter().position(|held| !held) else {
            return Stripe::SHARED;
        };
        st.stripes_held[n] = true;
        let sole_writer = self.config.queue_capacity.is_none();
        self.counts.owned_stripe(n, sole_writer)
    }

    /// An exiting worker's tally joins the totals (under the lock, so a
    /// snapshot counts it exactly once), and its stripe is free again.
    pub(super) fn retire_tally(&self, tally: &Arc<Tally>, stripe: Stripe) {
        let mut st = self.lock();
        self.totals
            .completed
            .fetch_add(tally.load(Relaxed), Relaxed);
        st.tallies.retain(|t| !Arc::ptr_eq(t, tally));
        if let Some(n) = stripe.owned() {
            st.stripes_held[n] = false;
        }
    }

    /// Exits if the executor has more workers than its maximum.
    pub(super) fn retire_surplus(&self) -> bool {
        let mut st = self.lock();
        if st.workers <= st.capacity() {
            return false;
        }
        self.leave(&mut st);
        true
    }

    /// The idle timeout passed (this worker is still counted idle).
    /// An idle worker took an entry, counted already: it leaves the idle
    /// count, then makes the check a submitter skipped if it saw this
    /// worker idle (announce, then re-check: each side writes its count
    /// before reading the other's, so one of them starts the worker a
    /// queued entry needs).
    pub(super) fn left_idle_for_entry(self: &Arc<Self>) {
        self.counts.idle.fetch_sub(1, SeqCst);
        sync::handshake();
        if self.counts.cold.can_grow.load(SeqCst) && self.queued() > self.counts.idle.load(SeqCst) {
            let _started = self.grow_for(Growth::LeftIdle);
            #[cfg(loom)]
            if _started {
                GROWN_LEAVING_IDLE.with(|n| n.set(n.get() + 1));
            }
        }
    }

    pub(super) fn retire_idle(&self) -> bool {
        let mut st = self.lock();
        self.counts.idle.fetch_sub(1, SeqCst);
        if st.workers <= st.min_workers {
            return false;
        }
        // Leave first, then look: a submitter that saw us idle (and so did
        // not start a worker) has counted its entry by now, and one that
        // did not see us idle sees `can_grow` and starts one.
        st.workers -= 1;
        self.sync_mirrors(&st);
        sync::handshake();
        if self.queued() > 0 {
            st.workers += 1;
            self.sync_mirrors(&st);
            return false;
        }
        self.notify_state_locked();
        true
    }

    /// This worker leaves the count, lock held.
    pub(super) fn leave(&self, st: &mut State) {
        st.workers -= 1;
        self.sync_mirrors(st);
        self.notify_state_locked();
    }

    /// True if no worker is left and the executor is closed: the last one
    /// out empties the queue (see `lifecycle.rs`).
    pub(super) fn abandoned(&self) -> bool {
        let st = self.lock();
        st.workers == 0 && st.lifecycle != Lifecycle::Open
    }

    pub(crate) fn set_max_workers(self: &Arc<Self>, max: usize) {
        let max = max.max(1);
        let mut st = self.lock();
        st.max_workers = max;
        st.min_workers = st.min_workers.min(max);
        // Shrinking: wake surplus idle workers so they retire now (the
        // mirrors first: a woken worker must see that it is surplus).
        self.sync_mirrors(&st);
        self.wake_workers(st.workers.saturating_sub(st.capacity()));
        // Growing: start workers for entries already queued.
        let mut spawn = 0;
        if st.lifecycle != Lifecycle::ShuttingDown {
            let takers = self.counts.idle.load(SeqCst) + st.starting;
            let waiting = self.queued().saturating_sub(takers);
            spawn = waiting.min(st.capacity().saturating_sub(st.workers));
            st.workers += spawn;
            st.starting += spawn;
        }
        self.sync_mirrors(&st);
        drop(st);
        for _ in 0..spawn {
            self.spawn_worker();
        }
    }

    /// Runs `wait` (a wait of one of our workers that cannot help) with one
    /// more worker allowed, started now if the queue needs it. The count is
    /// given back even if `wait` unwinds (a callback that waits on its own
    /// task panics, for one).
    pub(crate) fn while_blocked<R>(self: &Arc<Self>, wait: impl FnOnce() -> R) -> R {
        if self.config.compensation == Compensation::Never {
            return wait();
        }
        let _blocked = Blocked::enter(self);
        wait()
    }

    pub(crate) fn max_workers(&self) -> usize {
        self.lock().max_workers
    }

    pub(crate) fn min_workers(&self) -> usize {
        self.lock().min_workers
    }

    /// True while the worker threads exist (for `Worker::is_alive`).
    pub(crate) fn has_workers(&self) -> bool {
        self.lock().workers > 0
    }
}

/// Why a worker may be started.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Growth {
    /// A submission, or a worker that blocked: only while the pool is open
    /// (or to compensate a blocked worker).
    Submitted,
    /// A worker that left idle for an entry found more queued than takers:
    /// the check its submitter skipped, seeing the worker idle, possibly
    /// before the pool closed. A joining pool still grows for it.
    LeftIdle,
}

/// One worker counted in `State::blocked` while it lives.
struct Blocked<'a>(&'a Arc<Executor>);

impl<'a> Blocked<'a> {
    fn enter(executor: &'a Arc<Executor>) -> Self {
        {
            let mut st = executor.lock();
            st.blocked += 1;
            executor.sync_mirrors(&st);
        }
        sync::handshake();
        if executor.queued() > executor.counts.idle.load(SeqCst) {
            executor.grow();
        }
        Blocked(executor)
    }
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        let executor = self.0;
        let mut st = executor.lock();
        st.blocked -= 1;
        executor.sync_mirrors(&st);
        // A surplus worker blocked on the lane retires once woken.
        executor.wake_workers(st.workers.saturating_sub(st.capacity()));
    }
}

// Workers started by the check of a worker leaving idle, on this OS thread
// (loom runs a model's threads on one): the coverage of its model.
#[cfg(loom)]
std::thread_local!(static GROWN_LEAVING_IDLE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

/// Workers started so far by a worker that left idle and found an entry
/// without a taker, on this OS thread (loom models only).
#[cfg(loom)]
#[doc(hidden)]
pub fn grown_leaving_idle() -> usize {
    GROWN_LEAVING_IDLE.with(std::cell::Cell::get)
}
