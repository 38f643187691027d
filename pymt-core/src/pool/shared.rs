//! The state a pool's handles and workers share: submission, counts and
//! wake-ups, waiting and lifecycle (the worker loop is in `worker_loop.rs`).
//!
//! Submitting takes no lock: a submission bumps an atomic count and pushes
//! onto a lock-free queue (`lane.rs`): the lane for priority 0, which a
//! worker pops from and blocks on when there is nothing to do, or the inbox
//! for other priorities. One mutex guards the rest: the ordered queue of
//! ranked entries (a worker moves the inbox into it before popping), the
//! worker counts, the lifecycle, and the condvars of every wait on counts
//! (`wait_completion`, `drain`, `join`, a full bounded queue, which also
//! take the locked submission path).
//!
//! Lock-free counts and locked waits meet in one pattern, used everywhere
//! below: the waiter announces itself (a sleeper or idle count, SeqCst)
//! and then re-reads the counts; the updater changes a count (SeqCst) and
//! then reads the announcement, taking the lock to notify only if someone
//! announced. In the SeqCst order one of the two sees the other, so no
//! wake-up is lost, and nobody pays for a notification nobody waits for.
//!
//! A worker blocked on the lane is woken by what it waits for (an entry)
//! or by a `Wake` token: pushed for a ranked entry, a lifecycle change, a
//! resize, or the last queued entry leaving a closed pool.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::counts::{Counts, Occupancy, Padded};
use super::entry::{Entry, Job};
use super::lane::Lane;
use super::priority_lanes::PriorityLanes;
use super::queue::RankedQueue;
use crate::error::TaskError;
use crate::sync::{self, thread};
use crate::sync::{AtomicUsize, Condvar, Instant, Mutex, MutexGuard};
use crate::task::context;
use crate::task::state::{CANCELLED, PANICKED, SUCCEEDED};
use crate::unwind;

mod worker_loop;

use self::worker_loop::Runner;

/// Whether the pool takes new work, and what happens to queued work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Open,
    /// `join`: finish the queue, then stop.
    Joining,
    /// `shutdown` / `Worker::stop`: queue cancelled, stop after running tasks.
    ShuttingDown,
    /// Last handle of an unnamed pool dropped: finish the queue, then stop,
    /// with nobody waiting.
    Detached,
}

/// What to do with running tasks on shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunningTasks {
    RequestStop,
    LetFinish,
}

/// Whether a blocked submission may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocking {
    Wait,
    Never,
}

/// Why an entry was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    Closed,
}

/// Fixed settings of a pool.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) min_workers: usize,
    pub(crate) max_workers: usize,
    /// `None`: idle workers never exit (dedicated `Worker`).
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) queue_capacity: Option<usize>,
    /// Name the one thread exactly `name` (a dedicated `Worker`), instead
    /// of `<name>-<n>`.
    pub(crate) single_thread: bool,
}

/// What the mutex guards.
struct State {
    ranked: RankedQueue,
    /// Worker threads alive or starting.
    workers: usize,
    /// Workers spawned that have not reached their loop yet.
    starting: usize,
    min_workers: usize,
    max_workers: usize,
    lifecycle: Lifecycle,
    /// `drain` calls in progress: outside submissions wait.
    draining: usize,
    next_thread: usize,
}

/// Counters read by `stats()` without the lock.
#[derive(Default)]
struct Totals {
    completed: AtomicUsize,
    panicked: AtomicUsize,
    cancelled: AtomicUsize,
}

/// Snapshot of the counts behind `Pool::stats`.
pub(crate) struct Snapshot {
    pub(crate) workers: usize,
    pub(crate) active: usize,
    pub(crate) queued: usize,
    pub(crate) completed: usize,
    pub(crate) panicked: usize,
    pub(crate) cancelled: usize,
}

/// Shared core of a `Pool` or `Worker`.
pub(crate) struct Shared {
    config: Config,
    state: Mutex<State>,
    lane: Lane<Entry>,
    /// Lock-free lanes for priorities near 0 (all but outliers).
    priority_lanes: PriorityLanes,
    /// Entries of outlying priorities pushed without the lock, moved into
    /// `State::ranked` by whoever next pops one (under the lock).
    inbox: Lane<(i32, Entry)>,
    /// Submitters wait here for queue space or the end of a drain.
    space_cv: Condvar,
    /// `wait_completion`, `drain`, `join`, `shutdown` wait here.
    state_cv: Condvar,
    counts: Counts,
    /// Written per finished body: kept off the lines that are only read.
    totals: Padded<Totals>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let min = config.min_workers;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ranked: RankedQueue::default(),
                workers: min,
                starting: min,
                min_workers: config.min_workers,
                max_workers: config.max_workers,
                lifecycle: Lifecycle::Open,
                draining: 0,
                next_thread: 0,
            }),
            config,
            lane: Lane::new(),
            priority_lanes: PriorityLanes::new(),
            inbox: Lane::new(),
            space_cv: Condvar::new(),
            state_cv: Condvar::new(),
            counts: Counts::default(),
            totals: Padded::default(),
        });
        shared.sync_mirrors(&shared.lock());
        for _ in 0..min {
            shared.spawn_worker();
        }
        shared
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes the worker-count mirrors; call after changing `workers`,
    /// `min_workers` or `max_workers`, lock held.
    fn sync_mirrors(&self, st: &State) {
        let cold = &self.counts.cold;
        cold.can_grow.store(st.workers < st.max_workers, SeqCst);
        cold.excess.store(st.workers > st.max_workers, SeqCst);
        cold.reapable.store(st.workers > st.min_workers, SeqCst);
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// Identity compared against the thread-local "my pool" marker.
    pub(crate) fn address(&self) -> usize {
        self as *const Self as usize
    }

    fn on_own_worker(&self) -> bool {
        context::executor() == self.address()
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.counts.cold.stop_all.load(SeqCst)
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.counts.cold.closed.load(SeqCst)
    }

    fn occupancy(&self) -> Occupancy {
        self.counts.load.get()
    }

    fn queued(&self) -> usize {
        self.occupancy().queued
    }

    // ===== submission =====

    /// Queues an entry (a task must be `QUEUED`); a refused entry comes back.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        priority: i32,
        entry: Entry,
        blocking: Blocking,
    ) -> Result<(), (Refusal, Entry)> {
        let lock_free =
            self.config.queue_capacity.is_none() && !self.counts.cold.draining.load(SeqCst);
        if !lock_free {
            return self.enqueue_locked(priority, entry, blocking);
        }
        if self.counts.cold.closed.load(SeqCst) {
            return Err((Refusal::Closed, entry));
        }
        // Counted before it is visible, so a pop never drives the count
        // below zero; a push that races `close` is caught in `after_push`.
        self.counts.load.queued();
        let ranked = priority != 0;
        if ranked {
            if let Err(entry) = self.priority_lanes.push(priority, entry) {
                // Pushed, then announced: a worker that sees the count finds
                // the entry (see `after_push` for one that does not).
                self.inbox.push((priority, entry));
                self.ranked_count(priority).fetch_add(1, SeqCst);
            }
        } else {
            self.lane.push(entry);
        }
        self.after_push(ranked);
        Ok(())
    }

    /// The slow path: bounded queues and drains.
    fn enqueue_locked(
        self: &Arc<Self>,
        priority: i32,
        entry: Entry,
        blocking: Blocking,
    ) -> Result<(), (Refusal, Entry)> {
        let own = self.on_own_worker();
        let mut st = self.lock();
        loop {
            if st.lifecycle != Lifecycle::Open {
                return Err((Refusal::Closed, entry));
            }
            let full = self.is_full();
            if !full && (st.draining == 0 || own) {
                break;
            }
            if blocking == Blocking::Never {
                return Err((Refusal::Full, entry));
            }
            if own && full {
                // A worker blocking on its own full queue could deadlock the
                // pool: make room by running the next queued entry here.
                drop(st);
                let mut held = None;
                let next = self.next_entry(&mut held);
                let made_room = next.is_some();
                for entry in next.into_iter().chain(held) {
                    self.run_entry(entry, Runner::Inline, &mut false);
                }
                st = self.lock();
                if made_room {
                    continue;
                }
                break;
            }
            self.counts.cold.space_sleepers.fetch_add(1, SeqCst);
            sync::handshake();
            let still_blocked =
                st.lifecycle == Lifecycle::Open && (self.is_full() || (st.draining > 0 && !own));
            if still_blocked {
                st = self
                    .space_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            self.counts.cold.space_sleepers.fetch_sub(1, SeqCst);
        }
        self.counts.load.queued();
        let ranked = priority != 0;
        if ranked {
            if let Err(entry) = self.priority_lanes.push(priority, entry) {
                st.ranked.push(priority, entry);
                self.ranked_count(priority).fetch_add(1, SeqCst);
            }
        } else {
            self.lane.push(entry);
        }
        drop(st);
        self.after_push(ranked);
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.config
            .queue_capacity
            .is_some_and(|cap| self.queued() >= cap)
    }

    fn ranked_count(&self, priority: i32) -> &AtomicUsize {
        if priority > 0 {
            &self.counts.ranked.high
        } else {
            &self.counts.ranked.low
        }
    }

    /// After a push: wake a blocked worker for a ranked entry (lane entries
    /// wake one by themselves), start a worker if none will take it, and
    /// settle a push that raced `close`.
    fn after_push(self: &Arc<Self>, ranked: bool) {
        sync::handshake();
        let idle = self.counts.idle.load(SeqCst);
        // One token per idle worker at most: a token still in the lane
        // wakes a worker that then finds this entry too (its pop comes
        // after our push in the SeqCst order, or we would not have seen it).
        if ranked && idle > self.counts.tokens.load(SeqCst) {
            self.wake_workers(1);
        }
        if self.counts.cold.can_grow.load(SeqCst) && self.queued() > idle {
            self.grow();
        }
        if self.counts.cold.closed.load(SeqCst) {
            self.after_late_push();
        }
    }

    /// Starts a worker if below the maximum and more entries wait than
    /// idle or starting workers will take.
    fn grow(self: &Arc<Self>) {
        let spawn = {
            let mut st = self.lock();
            let takers = self.counts.idle.load(SeqCst) + st.starting;
            let spawn = st.lifecycle == Lifecycle::Open
                && st.workers < st.max_workers
                && self.queued() > takers;
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
    }

    /// A lane push landed after the pool closed. Live workers take it (a
    /// join finishes the queue) or cancel it (a shutdown); with no worker
    /// left it is rejected here, or it would wait forever.
    fn after_late_push(&self) {
        let (claimed, error) = {
            let mut st = self.lock();
            match st.lifecycle {
                Lifecycle::Open => return,
                Lifecycle::ShuttingDown => (self.claim_all_queued(&mut st), TaskError::Cancelled),
                Lifecycle::Joining | Lifecycle::Detached if st.workers == 0 => {
                    (self.claim_all_queued(&mut st), TaskError::Rejected)
                }
                Lifecycle::Joining | Lifecycle::Detached => {
                    self.wake_workers(st.workers);
                    return;
                }
            }
        };
        self.abort_all(claimed, &error);
    }

    fn wake_workers(&self, n: usize) {
        self.counts.tokens.fetch_add(n, SeqCst);
        for _ in 0..n {
            self.lane.push(Entry::Wake);
        }
    }

    fn spawn_worker(self: &Arc<Self>) {
        let index = {
            let mut st = self.lock();
            st.next_thread += 1;
            st.next_thread
        };
        let thread_name = if self.config.single_thread {
            unwind::thread_name(&self.config.name)
        } else {
            unwind::thread_name(&format!("{}-{index}", self.config.name))
        };
        let mut builder = thread::Builder::new().name(thread_name);
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = Arc::clone(self);
        if let Err(error) = builder.spawn(move || shared.run_worker()) {
            report_error!(
                "pymt: pool '{}' could not start a worker thread: {error}",
                self.config.name
            );
            let orphans = {
                let mut st = self.lock();
                st.workers -= 1;
                st.starting -= 1;
                self.sync_mirrors(&st);
                self.notify_state_locked();
                if st.workers == 0 {
                    self.claim_all_queued(&mut st)
                } else {
                    Vec::new()
                }
            };
            // With no thread to run them, queued entries would wait forever.
            self.abort_all(orphans, &TaskError::Rejected);
        }
    }

    // ===== counts and wake-ups =====

    fn drop_cancelled_job(&self, job: Job) {
        self.totals.cancelled.fetch_add(1, Relaxed);
        unwind::contain("dropping a cancelled job", move || drop(job));
    }

    /// A queued entry starts running (popped, or claimed inline).
    fn started(&self) -> Occupancy {
        let after = self.counts.load.started();
        self.left_queue(after);
        after
    }

    /// A queued entry left without running (cancelled, rejected).
    fn unqueued(&self) {
        let after = self.counts.load.unqueued();
        self.left_queue(after);
    }

    /// Wake-ups owed when a live entry leaves the queue.
    fn left_queue(&self, after: Occupancy) {
        sync::handshake();
        if self.counts.cold.space_sleepers.load(SeqCst) > 0 {
            let _st = self.lock();
            self.space_cv.notify_one();
        }
        if after.queued == 0 {
            if self.counts.cold.closed.load(SeqCst) {
                // Workers of a closed pool blocked waiting for entries still
                // counted: there are none now.
                self.wake_workers(self.counts.idle.load(SeqCst));
            }
            self.notify_state();
        }
    }

    /// A body (task or job) ended.
    fn finished(&self) {
        // Every wait on the pool needs an empty queue: skip the wake-up
        // otherwise (the last entry to leave the queue notifies then).
        let after = self.counts.load.finished();
        sync::handshake();
        if after.queued == 0 {
            self.notify_state();
        }
    }

    /// Wakes `wait_completion` / `join` sleepers, if any.
    fn notify_state(&self) {
        if self.counts.cold.state_sleepers.load(SeqCst) > 0 {
            let _st = self.lock();
            self.state_cv.notify_all();
        }
    }

    /// `notify_state` with the lock already held.
    fn notify_state_locked(&self) {
        if self.counts.cold.state_sleepers.load(SeqCst) > 0 {
            self.state_cv.notify_all();
        }
    }

    // ===== hooks called by tasks =====

    pub(crate) fn record_outcome(&self, raw: u8) {
        let counter = match raw {
            SUCCEEDED => &self.totals.completed,
            PANICKED => &self.totals.panicked,
            CANCELLED => &self.totals.cancelled,
            _ => return,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// A waiting worker claimed one of our queued tasks to run it inline.
    pub(crate) fn claimed_inline(&self) {
        self.started();
    }

    pub(crate) fn finished_inline(&self) {
        self.finished();
    }

    /// A queued task was cancelled through its handle.
    pub(crate) fn cancelled_in_queue(&self) {
        self.unqueued();
    }

    // ===== waiting and lifecycle =====

    /// Waits on `state_cv` until `done(st)` or the deadline; true if done.
    fn wait_state<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        deadline: Option<Instant>,
        done: impl Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, bool) {
        loop {
            self.counts.cold.state_sleepers.fetch_add(1, SeqCst);
            sync::handshake();
            if done(&st) {
                self.counts.cold.state_sleepers.fetch_sub(1, SeqCst);
                return (st, true);
            }
            let left = crate::deadline::left(deadline);
            if left.is_zero() {
                self.counts.cold.state_sleepers.fetch_sub(1, SeqCst);
                return (st, false);
            }
            st = match deadline {
                None => self
                    .state_cv
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(_) => {
                    self.state_cv
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            self.counts.cold.state_sleepers.fetch_sub(1, SeqCst);
        }
    }

    /// Nothing queued, and nothing running but `own` bodies.
    fn settled(&self, own: usize) -> bool {
        let now = self.occupancy();
        now.queued == 0 && now.active <= own
    }

    /// Tasks this thread itself is running for this pool (a worker waiting
    /// on its own pool must not wait for itself).
    fn own_active(&self) -> usize {
        if self.on_own_worker() {
            context::depth()
        } else {
            0
        }
    }

    fn own_workers(&self) -> usize {
        usize::from(self.on_own_worker())
    }

    pub(crate) fn wait_completion(&self, timeout: Duration) -> bool {
        let deadline = crate::deadline::after(timeout);
        let own = self.own_active();
        let st = self.lock();
        self.wait_state(st, deadline, |_| self.settled(own)).1
    }

    pub(crate) fn drain(&self, timeout: Duration) -> bool {
        let deadline = crate::deadline::after(timeout);
        let own = self.own_active();
        let mut st = self.lock();
        st.draining += 1;
        self.counts.cold.draining.store(true, SeqCst);
        let (mut st, done) = self.wait_state(st, deadline, |_| self.settled(own));
        st.draining -= 1;
        if st.draining == 0 {
            self.counts.cold.draining.store(false, SeqCst);
            self.space_cv.notify_all();
        }
        done
    }

    /// Moves to `lifecycle` (if still open) and wakes every sleeper so they
    /// see it. Idempotent: `join`, `shutdown` and `Drop` may all call it.
    fn close(&self, st: &mut State, lifecycle: Lifecycle) {
        if st.lifecycle == Lifecycle::Open
            || (st.lifecycle != Lifecycle::ShuttingDown && lifecycle == Lifecycle::ShuttingDown)
        {
            st.lifecycle = lifecycle;
        }
        if st.lifecycle == Lifecycle::ShuttingDown {
            self.counts.cold.cancelling.store(true, SeqCst);
        }
        self.counts.cold.closed.store(true, SeqCst);
        sync::handshake();
        self.wake_workers(st.workers);
        self.space_cv.notify_all();
    }

    /// Takes every live queued entry out for abort, under the lock. Tokens
    /// drained on the way are replaced: blocked workers may need them.
    fn claim_all_queued(&self, st: &mut State) -> Vec<Entry> {
        let mut claimed = Vec::new();
        self.take_inbox(st);
        let lanes = self.priority_lanes.take_all();
        let ranked = st.ranked.take_all();
        for (priority, _) in &ranked {
            self.ranked_count(*priority).fetch_sub(1, SeqCst);
        }
        let lane = std::iter::from_fn(|| self.lane.try_pop());
        for entry in ranked
            .into_iter()
            .map(|(_, entry)| entry)
            .chain(lanes)
            .chain(lane)
        {
            match entry {
                Entry::Task(task) if task.header().state.claim_pending().is_some() => {
                    claimed.push(Entry::Task(task));
                }
                Entry::Job(job) => claimed.push(Entry::Job(job)),
                Entry::Wake => {
                    self.counts.tokens.fetch_sub(1, SeqCst);
                }
                Entry::Task(_) => {}
            }
        }
        self.wake_workers(st.workers);
        claimed
    }

    /// Ends entries taken by `claim_all_queued`, lock released.
    fn abort_all(&self, claimed: Vec<Entry>, error: &TaskError) {
        for entry in claimed {
            self.unqueued();
            match entry {
                Entry::Task(task) => task.abort_claimed(error.clone()),
                Entry::Job(job) if *error == TaskError::Cancelled => self.drop_cancelled_job(job),
                Entry::Job(job) => {
                    unwind::contain("dropping a rejected job", move || drop(job));
                }
                Entry::Wake => {}
            }
        }
    }

    fn cancel_queued(&self) {
        let claimed = {
            let mut st = self.lock();
            self.claim_all_queued(&mut st)
        };
        self.abort_all(claimed, &TaskError::Cancelled);
    }

    /// Finish queued and running tasks, stop the workers; on timeout cancel
    /// what is still queued and return false.
    pub(crate) fn join(self: &Arc<Self>, timeout: Duration) -> bool {
        let deadline = crate::deadline::after(timeout);
        let (own_workers, own_active) = (self.own_workers(), self.own_active());
        let mut st = self.lock();
        self.close(&mut st, Lifecycle::Joining);
        let spawn = self.queued() > 0 && st.workers == 0;
        if spawn {
            st.workers += 1;
            st.starting += 1;
            self.sync_mirrors(&st);
        }
        drop(st);
        if spawn {
            self.spawn_worker();
        }
        let st = self.lock();
        let (st, done) = self.wait_state(st, deadline, |st| {
            self.settled(own_active) && st.workers <= own_workers
        });
        drop(st);
        if !done {
            self.cancel_queued();
        }
        done
    }

    /// Stop accepting, cancel the queue, handle running tasks as `running`
    /// says, and wait up to `timeout` for the workers to exit.
    pub(crate) fn shutdown(&self, timeout: Duration, running: RunningTasks) -> bool {
        let deadline = crate::deadline::after(timeout);
        let (own_workers, own_active) = (self.own_workers(), self.own_active());
        if running == RunningTasks::RequestStop {
            self.counts.cold.stop_all.store(true, SeqCst);
        }
        {
            let mut st = self.lock();
            self.close(&mut st, Lifecycle::ShuttingDown);
        }
        self.cancel_queued();
        let st = self.lock();
        self.wait_state(st, deadline, |st| {
            self.occupancy().active <= own_active && st.workers <= own_workers
        })
        .1
    }

    /// The last handle of an unnamed pool is gone: let the queue finish and
    /// the workers exit, without blocking.
    pub(crate) fn detach(&self) {
        let mut st = self.lock();
        self.close(&mut st, Lifecycle::Detached);
    }

    pub(crate) fn set_max_workers(self: &Arc<Self>, max: usize) {
        let max = max.max(1);
        let mut st = self.lock();
        st.max_workers = max;
        st.min_workers = st.min_workers.min(max);
        // Shrinking: wake surplus idle workers so they retire now (the
        // mirrors first: a woken worker must see that it is surplus).
        self.sync_mirrors(&st);
        self.wake_workers(st.workers.saturating_sub(max));
        // Growing: start workers for entries already queued.
        let mut spawn = 0;
        if st.lifecycle != Lifecycle::ShuttingDown {
            let takers = self.counts.idle.load(SeqCst) + st.starting;
            let waiting = self.queued().saturating_sub(takers);
            spawn = waiting.min(max.saturating_sub(st.workers));
            st.workers += spawn;
            st.starting += spawn;
        }
        self.sync_mirrors(&st);
        drop(st);
        for _ in 0..spawn {
            self.spawn_worker();
        }
    }

    pub(crate) fn max_workers(&self) -> usize {
        self.lock().max_workers
    }

    pub(crate) fn min_workers(&self) -> usize {
        self.lock().min_workers
    }

    pub(crate) fn queue_capacity(&self) -> Option<usize> {
        self.config.queue_capacity
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let workers = self.lock().workers;
        let now = self.occupancy();
        Snapshot {
            workers,
            active: now.active,
            queued: now.queued,
            completed: self.totals.completed.load(Relaxed),
            panicked: self.totals.panicked.load(Relaxed),
            cancelled: self.totals.cancelled.load(Relaxed),
        }
    }

    pub(crate) fn lifecycle(&self) -> Lifecycle {
        self.lock().lifecycle
    }

    /// True while the worker threads exist (for `Worker::is_alive`).
    pub(crate) fn has_workers(&self) -> bool {
        self.lock().workers > 0
    }
}
