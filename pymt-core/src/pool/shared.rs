//! The state a pool's handles and workers share, and the worker main loop.
//!
//! One mutex guards the queue and every count that a wait depends on, so
//! each wait (idle worker, full queue, `wait_completion`, `join`) is a
//! condvar wait woken by the event itself. Notifications are counted:
//! nothing is signalled unless somebody sleeps.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::queue::PriorityQueue;
use crate::error::TaskError;
use crate::sync::thread;
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Instant, Mutex, MutexGuard};
use crate::task::cell::Run;
use crate::task::context;
use crate::task::state::{CANCELLED, PANICKED, QUEUED, RUNNING, SUCCEEDED};
use crate::unwind::{self, AbortOnPanic};

/// How many checks an idle worker makes for new work before it sleeps: a
/// task submitted within a few microseconds of the last one then needs no
/// futex wake-up (the round-trip case). Idle pools still use no CPU: the spin
/// happens once per transition to idle.
#[cfg(not(loom))]
const WORKER_SPINS: u32 = 1 << 12;
/// Under loom every check is a modelled step: one keeps the protocol covered.
#[cfg(loom)]
const WORKER_SPINS: u32 = 1;

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

/// Why a task was not queued.
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

struct State {
    queue: PriorityQueue,
    /// Live queued tasks (stale queue entries excluded).
    queued: usize,
    /// Bodies running now, inline runs included.
    active: usize,
    /// Worker threads alive or starting.
    workers: usize,
    /// Workers spawned that have not reached their loop yet.
    starting: usize,
    /// Workers asleep on `work_cv` that nobody has notified.
    idle: usize,
    /// Workers spinning before they sleep, not yet promised a task.
    spinning: usize,
    /// Tasks promised to spinning workers and not yet claimed by them.
    spin_promised: usize,
    /// Notifications sent to idle workers and not yet consumed.
    notified: usize,
    min_workers: usize,
    max_workers: usize,
    lifecycle: Lifecycle,
    /// `drain` calls in progress: outside submissions wait.
    draining: usize,
    space_sleepers: usize,
    state_sleepers: usize,
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
    /// Idle workers wait here for work or a lifecycle change.
    work_cv: Condvar,
    /// Submitters wait here for queue space or the end of a drain.
    space_cv: Condvar,
    /// `wait_completion`, `drain`, `join`, `shutdown` wait here.
    state_cv: Condvar,
    /// Set on `shutdown`: every running body sees `stop_requested()`.
    stop_all: AtomicBool,
    /// Set when the pool stops accepting work (cheap check for macro caches).
    closed: AtomicBool,
    /// Bumped by a push that a spinning worker is promised; what spinners
    /// watch (each reads it under the lock when it starts spinning).
    pushes: AtomicUsize,
    totals: Totals,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: PriorityQueue::default(),
                queued: 0,
                active: 0,
                workers: 0,
                starting: 0,
                idle: 0,
                spinning: 0,
                spin_promised: 0,
                notified: 0,
                min_workers: config.min_workers,
                max_workers: config.max_workers,
                lifecycle: Lifecycle::Open,
                draining: 0,
                space_sleepers: 0,
                state_sleepers: 0,
                next_thread: 0,
            }),
            config,
            work_cv: Condvar::new(),
            space_cv: Condvar::new(),
            state_cv: Condvar::new(),
            stop_all: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            pushes: AtomicUsize::new(0),
            totals: Totals::default(),
        });
        let min = shared.config.min_workers;
        shared.lock().workers = min;
        shared.lock().starting = min;
        for _ in 0..min {
            shared.spawn_worker();
        }
        shared
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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
        self.stop_all.load(Ordering::Acquire)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    // ===== submission =====

    /// Queues a task whose state is `QUEUED`.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        priority: i32,
        task: Arc<dyn Run>,
        blocking: Blocking,
    ) -> Result<(), Refusal> {
        let mut st = self.lock();
        loop {
            if st.lifecycle != Lifecycle::Open {
                return Err(Refusal::Closed);
            }
            let own = self.on_own_worker();
            let draining = st.draining > 0 && !own;
            let full = self
                .config
                .queue_capacity
                .is_some_and(|cap| st.queued >= cap);
            if !draining && !full {
                break;
            }
            if blocking == Blocking::Never {
                return Err(Refusal::Full);
            }
            if own && full {
                // A worker blocking on its own full queue could deadlock the
                // pool: make room by running the next queued task here.
                match Self::pop_claimed(&mut st) {
                    Some(next) => {
                        drop(st);
                        self.run_inline(next);
                        st = self.lock();
                        continue;
                    }
                    None => break,
                }
            }
            st.space_sleepers += 1;
            st = self
                .space_cv
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
            st.space_sleepers -= 1;
        }
        st.queue.push(priority, task);
        st.queued += 1;
        let spawn = self.wake_or_grow(&mut st);
        drop(st);
        if spawn {
            self.spawn_worker();
        }
        Ok(())
    }

    /// After a push: wake an idle worker, or reserve a new one. Returns true
    /// if the caller must spawn a worker thread.
    fn wake_or_grow(&self, st: &mut State) -> bool {
        if st.spinning > 0 {
            // A spinning worker sees the push without a wake-up. Only then
            // is the counter bumped: no atomic write when nobody spins.
            self.pushes.fetch_add(1, Ordering::Release);
            st.spinning -= 1;
            st.spin_promised += 1;
            false
        } else if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            self.work_cv.notify_one();
            false
        } else if st.workers < st.max_workers && st.queued > st.starting + st.notified {
            st.workers += 1;
            st.starting += 1;
            true
        } else {
            false
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
                self.notify_state(&st);
                if st.workers == 0 {
                    Self::claim_all_queued(&mut st)
                } else {
                    Vec::new()
                }
            };
            // With no thread to run them, queued tasks would wait forever.
            for task in orphans {
                task.abort_claimed(TaskError::Rejected);
            }
        }
    }

    // ===== the worker loop =====

    fn run_worker(self: Arc<Self>) {
        context::set_executor(self.address());
        let mut st = self.lock();
        st.starting -= 1;
        let mut spun = false;
        loop {
            // BUSY: take the next task, if any.
            if st.workers > st.max_workers {
                break;
            }
            if let Some(task) = Self::pop_claimed(&mut st) {
                st.active += 1;
                if st.space_sleepers > 0 {
                    self.space_cv.notify_one();
                }
                drop(st);
                context::run_claimed(task);
                st = self.lock();
                st.active -= 1;
                self.notify_state(&st);
                spun = false;
                continue;
            }
            if st.lifecycle != Lifecycle::Open {
                break;
            }
            // SPIN: watch for a push briefly before sleeping.
            if !spun {
                spun = true;
                st = self.spin(st);
                continue;
            }
            // IDLE: sleep until notified, a lifecycle change, or the idle
            // timeout (only for workers above the minimum).
            let reapable = st.workers > st.min_workers;
            let timeout = self.config.idle_timeout.filter(|_| reapable);
            st.idle += 1;
            let (guard, timed_out) = match timeout {
                Some(timeout) => {
                    let (guard, result) = self
                        .work_cv
                        .wait_timeout(st, timeout)
                        .unwrap_or_else(PoisonError::into_inner);
                    (guard, result.timed_out())
                }
                None => (
                    self.work_cv
                        .wait(st)
                        .unwrap_or_else(PoisonError::into_inner),
                    false,
                ),
            };
            st = guard;
            if st.notified > 0 {
                // Someone decremented `idle` on our behalf.
                st.notified -= 1;
            } else {
                st.idle -= 1;
                if timed_out && st.workers > st.min_workers && st.queued == 0 {
                    break;
                }
            }
        }
        // EXIT
        let _guard = AbortOnPanic;
        st.workers -= 1;
        self.notify_state(&st);
    }

    /// Spins (lock released) until a push or the spin budget ends; a push
    /// made meanwhile was promised to a spinner instead of waking a sleeper.
    fn spin<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.spinning += 1;
        let seen = self.pushes.load(Ordering::Acquire);
        drop(st);
        for _ in 0..WORKER_SPINS {
            if self.pushes.load(Ordering::Acquire) != seen {
                break;
            }
            crate::sync::spin_loop();
        }
        let mut st = self.lock();
        if st.spin_promised > 0 {
            // A submitter counted on a spinner: we are it (any spinner will
            // do, the queue is shared).
            st.spin_promised -= 1;
        } else {
            st.spinning -= 1;
        }
        st
    }

    /// Pops entries until one is claimed (stale entries are dropped).
    fn pop_claimed(st: &mut State) -> Option<Arc<dyn Run>> {
        while let Some(task) = st.queue.pop() {
            if task.header().state.transition(QUEUED, RUNNING) {
                st.queued -= 1;
                return Some(task);
            }
        }
        None
    }

    fn run_inline(&self, task: Arc<dyn Run>) {
        self.lock().active += 1;
        context::run_claimed(task);
        let mut st = self.lock();
        st.active -= 1;
        self.notify_state(&st);
    }

    /// Wakes `wait_completion` / `join` sleepers, if any.
    fn notify_state(&self, st: &State) {
        if st.state_sleepers > 0 {
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
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A waiting worker claimed one of our queued tasks to run it inline.
    pub(crate) fn claimed_inline(&self) {
        let mut st = self.lock();
        st.queued -= 1;
        st.active += 1;
        if st.space_sleepers > 0 {
            self.space_cv.notify_one();
        }
    }

    pub(crate) fn finished_inline(&self) {
        let mut st = self.lock();
        st.active -= 1;
        self.notify_state(&st);
    }

    /// A queued task was cancelled through its handle.
    pub(crate) fn cancelled_in_queue(&self) {
        let mut st = self.lock();
        st.queued -= 1;
        if st.space_sleepers > 0 {
            self.space_cv.notify_one();
        }
        self.notify_state(&st);
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
            if done(&st) {
                return (st, true);
            }
            let left = crate::deadline::left(deadline);
            if left.is_zero() {
                return (st, false);
            }
            st.state_sleepers += 1;
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
            st.state_sleepers -= 1;
        }
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
        self.wait_state(st, deadline, |st| st.queued == 0 && st.active <= own)
            .1
    }

    pub(crate) fn drain(&self, timeout: Duration) -> bool {
        let deadline = crate::deadline::after(timeout);
        let own = self.own_active();
        let mut st = self.lock();
        st.draining += 1;
        let (mut st, done) = self.wait_state(st, deadline, |st| st.queued == 0 && st.active <= own);
        st.draining -= 1;
        if st.draining == 0 && st.space_sleepers > 0 {
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
        self.closed.store(true, Ordering::Release);
        st.notified += st.idle;
        st.idle = 0;
        self.work_cv.notify_all();
        self.space_cv.notify_all();
    }

    /// Claims every live queued task for abort, under the lock.
    fn claim_all_queued(st: &mut State) -> Vec<Arc<dyn Run>> {
        let mut claimed = Vec::new();
        for task in st.queue.take_all() {
            if task.header().state.claim_pending().is_some() {
                st.queued -= 1;
                claimed.push(task);
            }
        }
        claimed
    }

    fn cancel_queued(&self) {
        let claimed = {
            let mut st = self.lock();
            let claimed = Self::claim_all_queued(&mut st);
            self.notify_state(&st);
            claimed
        };
        for task in claimed {
            task.abort_claimed(TaskError::Cancelled);
        }
    }

    /// Finish queued and running tasks, stop the workers; on timeout cancel
    /// what is still queued and return false.
    pub(crate) fn join(self: &Arc<Self>, timeout: Duration) -> bool {
        let deadline = crate::deadline::after(timeout);
        let (own_workers, own_active) = (self.own_workers(), self.own_active());
        let mut st = self.lock();
        self.close(&mut st, Lifecycle::Joining);
        let spawn = st.queued > 0 && st.workers == 0;
        if spawn {
            st.workers += 1;
            st.starting += 1;
        }
        drop(st);
        if spawn {
            self.spawn_worker();
        }
        let st = self.lock();
        let (st, done) = self.wait_state(st, deadline, |st| {
            st.queued == 0 && st.active <= own_active && st.workers <= own_workers
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
            self.stop_all.store(true, Ordering::Release);
        }
        {
            let mut st = self.lock();
            self.close(&mut st, Lifecycle::ShuttingDown);
        }
        self.cancel_queued();
        let st = self.lock();
        self.wait_state(st, deadline, |st| {
            st.active <= own_active && st.workers <= own_workers
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
        // Shrinking: wake surplus idle workers so they retire now.
        let surplus = st.workers.saturating_sub(max).min(st.idle);
        for _ in 0..surplus {
            st.idle -= 1;
            st.notified += 1;
            self.work_cv.notify_one();
        }
        // Growing: start workers for tasks already queued.
        let mut spawn = 0;
        if st.lifecycle != Lifecycle::ShuttingDown {
            let waiting = st.queued.saturating_sub(st.idle + st.starting);
            spawn = waiting.min(max.saturating_sub(st.workers));
            st.workers += spawn;
            st.starting += spawn;
        }
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
        let st = self.lock();
        Snapshot {
            workers: st.workers,
            active: st.active,
            queued: st.queued,
            completed: self.totals.completed.load(Ordering::Relaxed),
            panicked: self.totals.panicked.load(Ordering::Relaxed),
            cancelled: self.totals.cancelled.load(Ordering::Relaxed),
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
