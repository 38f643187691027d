//! The executor layer: what moves a task from a queue onto a thread and
//! back to its handles. A `Pool` and a dedicated `Worker` are both handles
//! to one [`Executor`].
//!
//! | module | job |
//! |---|---|
//! | `queue/` | the [`Queue`](queue::Queue): every lane, level and outlier; push and pop |
//! | `admission.rs` | whether a submission may enter: capacity, drains, a closed executor |
//! | `population.rs` | the workers: grow, spawn, retire, resize |
//! | `worker_loop.rs` | one worker's loop, its busy and idle phases, and its guard |
//! | `lifecycle.rs` | close, join, shutdown, detach, and the waits on counts |
//! | `counts.rs` | the lock-free counts, laid out for the hot path |
//! | `current.rs` | the thread-local "the executor I am a worker of" |
//!
//! Tasks are seen only as [`TaskRef`]s (try to start, run, try to abort),
//! and tasks call back only through the hooks at the end of this file.
//!
//! # Locks and handshakes
//!
//! Submitting takes no lock: it bumps an atomic count and pushes onto the
//! lock-free queue. One mutex guards the rest: the worker counts, the
//! lifecycle, and the condvars of every wait on counts (`wait_completion`,
//! `drain`, `join`, a full bounded queue).
//!
//! Lock-free counts and locked waits meet in one pattern: the waiter
//! announces itself (a sleeper or idle count, SeqCst) and then re-reads the
//! counts; the updater changes a count (SeqCst) and then reads the
//! announcement, taking the lock to notify only if someone announced. In
//! the SeqCst order one of the two sees the other, so no wake-up is lost,
//! and nobody pays for a notification nobody waits for.

mod admission;
pub(crate) mod config;
pub(crate) mod counts;
pub(crate) mod current;
mod lifecycle;
pub(crate) mod population;
pub(crate) mod queue;
mod worker_loop;

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, PoisonError};

pub(crate) use self::admission::{Admission, Refusal};
use self::config::Config;
use self::counts::{Counts, Occupancy, Padded, Stripe};
pub(crate) use self::lifecycle::{Lifecycle, RunningTasks};
use self::queue::Queue;
use crate::error::TaskError;
use crate::sync::{AtomicUsize, Condvar, Mutex, MutexGuard};
use crate::task::context;
use crate::task::state::{Claimed, Outcome};
use crate::task::task_ref::TaskRef;
use crate::unwind;

/// What the mutex guards.
struct State {
    /// Worker threads alive or starting.
    workers: usize,
    /// Workers spawned that have not reached their loop yet.
    starting: usize,
    min_workers: usize,
    max_workers: usize,
    /// Workers blocked in a wait that cannot help (a timed wait on one of
    /// our tasks, a pool-level wait): each lets one more worker start (see
    /// `population.rs`).
    blocked: usize,
    lifecycle: Lifecycle,
    /// `drain` calls in progress: outside submissions wait.
    draining: usize,
    next_thread: usize,
    /// Each running worker's own count of the jobs it completed (see
    /// `Tally`); a worker's count moves into `Totals::completed` as it exits.
    tallies: Vec<Arc<Tally>>,
    /// Which owned stripes of the counts a worker holds (see `counts.rs`).
    stripes_held: Vec<bool>,
}

/// Jobs one worker completed: written only by that worker, with a plain
/// load and store on a line of its own (no read-modify-write shared with
/// the other workers), and summed with `Totals::completed` under the lock
/// when read. The worker's next SeqCst read-modify-write of the counts
/// publishes it, so whoever saw the pool settle sees it too.
pub(crate) type Tally = Padded<AtomicUsize>;

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

/// The shared core of a `Pool` or `Worker`.
pub(crate) struct Executor {
    config: Config,
    state: Mutex<State>,
    queue: Queue,
    /// Submitters wait here for queue space or the end of a drain.
    space_cv: Condvar,
    /// `wait_completion`, `drain`, `join`, `shutdown` wait here.
    state_cv: Condvar,
    counts: Counts,
    /// Written per finished body: kept off the lines that are only read.
    totals: Padded<Totals>,
}

impl Executor {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let min = config.min_workers;
        let counts = Counts::new(worker_stripes(config.max_workers));
        let executor = Arc::new(Executor {
            state: Mutex::new(State {
                workers: min,
                starting: min,
                min_workers: config.min_workers,
                max_workers: config.max_workers,
                blocked: 0,
                lifecycle: Lifecycle::Open,
                draining: 0,
                next_thread: 0,
                tallies: Vec::new(),
                stripes_held: vec![false; counts.owned_stripes()],
            }),
            config,
            queue: Queue::new(),
            space_cv: Condvar::new(),
            state_cv: Condvar::new(),
            counts,
            totals: Padded::default(),
        });
        executor.sync_mirrors(&executor.lock());
        for _ in 0..min {
            executor.spawn_worker();
        }
        executor
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    fn on_own_worker(&self) -> bool {
        current::is(self)
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.counts.cold.stop_all.load(SeqCst)
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.counts.cold.closed.load(SeqCst)
    }

    fn occupancy(&self) -> Occupancy {
        self.counts.occupancy()
    }

    fn queued(&self) -> usize {
        self.occupancy().queued
    }

    pub(crate) fn queue_capacity(&self) -> Option<usize> {
        self.config.queue_capacity
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        // The occupancy first, the tallies after: a body gone from the
        // occupancy left through an update of its stripe's `load` word (a
        // release store at least; read here with SeqCst loads) made after
        // its tally's store (or its outcome's count), by the same thread,
        // so it is counted below.
        // The other order can show a body in neither.
        let now = self.occupancy();
        let (workers, tallied) = {
            let st = self.lock();
            let tallied: usize = st.tallies.iter().map(|t| t.load(Relaxed)).sum();
            (st.workers, tallied + self.totals.completed.load(Relaxed))
        };
        Snapshot {
            workers,
            active: now.active,
            queued: now.queued,
            completed: tallied,
            panicked: self.totals.panicked.load(Relaxed),
            cancelled: self.totals.cancelled.load(Relaxed),
        }
    }

    // ===== counts and wake-ups =====

    /// A queued entry starts running (popped, or claimed inline), counted
    /// on `stripe`.
    fn started(&self, stripe: Stripe) {
        self.counts.started(stripe);
        self.after_take(stripe);
    }

    /// A queued entry left without running (cancelled, rejected), or a
    /// worker's streak passes its active count on to it.
    fn unqueued(&self, stripe: Stripe) {
        self.counts.unqueued(stripe);
        self.after_take(stripe);
    }

    /// A worker that counts with plain stores owes no wake-up for what it
    /// takes (`counts.rs`): the entry counts as active until its
    /// `finished`, which does the waking, and its pool has no bounded
    /// queue whose submitters wait for room. (A closed pool's idle workers
    /// that saw the entry still queued are woken when this worker, the one
    /// running it, leaves: `pass_wakes_on`.) Its store is not ordered
    /// before the reads `left_queue` would make, so it does not make them,
    /// and the loom models see exactly that.
    fn after_take(&self, stripe: Stripe) {
        if !stripe.counts_plainly() {
            self.left_queue();
        }
    }

    /// Wake-ups owed when a live entry leaves the queue. The sleepers and
    /// the lifecycle are read first: the queued count (which reads every
    /// stripe and the submitters' line) is computed only if someone may
    /// need waking.
    fn left_queue(&self) {
        crate::sync::handshake();
        if self.counts.cold.space_sleepers.load(SeqCst) > 0 {
            let _st = self.lock();
            self.space_cv.notify_one();
        }
        let closed = self.is_closed();
        let sleepers = self.counts.cold.state_sleepers.load(SeqCst) > 0;
        if (closed || sleepers) && self.queued() == 0 {
            if closed {
                // Workers of a closed executor blocked waiting for entries
                // still counted: there are none now.
                self.wake_workers(self.counts.idle.load(SeqCst));
            }
            self.notify_state();
        }
    }

    /// A body (task or job) counted on `stripe` ended.
    fn finished(&self, stripe: Stripe) {
        // Every wait on the pool needs an empty queue: skip the wake-up
        // otherwise (the last entry to leave the queue notifies then).
        self.counts.finished(stripe);
        crate::sync::handshake();
        if self.counts.cold.state_sleepers.load(SeqCst) > 0 && self.queued() == 0 {
            self.notify_state();
        }
    }

    /// Pushes `n` wake tokens, counted so ranked pushes send no more than
    /// one per sleeping worker.
    fn wake_workers(&self, n: usize) {
        self.counts.tokens.fetch_add(n, SeqCst);
        for _ in 0..n {
            self.queue.push_wake();
        }
    }

    /// Wakes one blocked worker for an entry the lane will not announce
    /// (a ranked push, a put-back lane entry) unless enough tokens are on
    /// their way. Only workers past their spin count (`asleep`): a
    /// spinning one looks at every lane and finds the entry itself, and a
    /// token sent for it would go to whichever worker pops the lane next,
    /// most likely a busy one, which passes it on again (so a spinner
    /// descheduled on a busy machine once cost a token per ranked push).
    /// A woken worker gives up its token before it stops counting as
    /// asleep (`worker_loop.rs`), so reading `asleep` first and `tokens`
    /// second never sees a worker gone and its token not.
    fn wake_one_for_entry(&self) {
        let asleep = self.counts.asleep.load(SeqCst);
        if asleep > self.counts.tokens.load(SeqCst) {
            self.wake_workers(1);
        }
    }

    /// A wake token was taken off the queue.
    fn token_taken(&self) {
        self.counts.tokens.fetch_sub(1, SeqCst);
    }

    /// After taking a token: a push that saw it on its way sent none of its
    /// own, so if more is queued than this worker will take, the token is
    /// passed on to the next sleeping worker. (Pushes count their entry before
    /// reading `tokens`, and this reads `queued` after giving the token up:
    /// in the SeqCst order, such a push's entry is seen here.)
    fn pass_token_on(&self) {
        crate::sync::handshake();
        if self.queued() > 1 {
            self.wake_one_for_entry();
        }
    }

    /// A worker left the executor (the normal way, out of `workers` and
    /// `idle` both). Tokens are anyone's: a busy worker between two pops
    /// takes one as readily as the blocked worker it was pushed for, and a
    /// worker that then leaves has used it for nothing. So whoever leaves
    /// passes wake-ups on: in a closed executor, one to every idle worker
    /// without a token (each must wake to see the executor done and
    /// leave), and in an open one, one if entries wait. An idle worker
    /// that saw entries still counted and blocked looked under the lock
    /// before this one left, so it is counted in `idle` here.
    fn pass_wakes_on(&self) {
        crate::sync::handshake();
        let idle = self.counts.idle.load(SeqCst);
        let tokens = self.counts.tokens.load(SeqCst);
        if idle <= tokens {
            return;
        }
        if self.is_closed() {
            self.wake_workers(idle - tokens);
        } else if self.queued() > 0 {
            self.wake_workers(1);
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

    /// A queued job is cancelled: counted, then uncounted from the queue,
    /// then dropped (its `Drop` sees the pool's counts settled).
    fn cancel_job(&self, job: queue::Job) {
        self.totals.cancelled.fetch_add(1, Relaxed);
        self.unqueued(Stripe::SHARED);
        unwind::drop_contained("dropping a cancelled job", job);
    }

    /// Ends a queued task this thread claimed, with `error`: the statistics
    /// and the queue count are settled first, so the task's callbacks, and
    /// whoever waits for the pool, see it gone.
    fn end_claimed(&self, task: &TaskRef, error: TaskError) {
        if error == TaskError::Cancelled {
            self.totals.cancelled.fetch_add(1, Relaxed);
        }
        self.unqueued(Stripe::SHARED);
        task.abort_claimed(error);
    }

    // ===== the hooks tasks call =====

    /// A task of this executor ran to its end. (Cancellations are counted
    /// where the task is claimed, before it leaves the queue count: see
    /// `cancelled`.)
    pub(crate) fn record(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Succeeded => &self.totals.completed,
            Outcome::Panicked => &self.totals.panicked,
            Outcome::Cancelled | Outcome::Rejected => return,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// A task of ours was claimed for cancellation through its handle,
    /// from the queue or while waiting (for a permit).
    pub(crate) fn cancelled(&self, from: Claimed) {
        self.totals.cancelled.fetch_add(1, Relaxed);
        if from == Claimed::Queued {
            self.unqueued(Stripe::SHARED);
        }
    }

    /// True if this thread is one of this executor's workers (so a wait
    /// may run the awaited task itself).
    pub(crate) fn is_current_worker(&self) -> bool {
        self.on_own_worker()
    }

    /// Runs `task`, still queued here, on this thread (one of our workers,
    /// waiting on it); false if someone else claimed it first.
    pub(crate) fn run_inline(&self, task: TaskRef) -> bool {
        if !task.try_start() {
            return false;
        }
        // The shared stripe: inline runs are rare, and this thread's worker
        // loop is not at hand here.
        self.started(Stripe::SHARED);
        task.run();
        self.finished(Stripe::SHARED);
        true
    }

    /// Bodies this thread itself runs for this executor (a worker waiting
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
}

/// How many stripes of the counts workers can own (see `counts.rs`): one
/// per processor, since only that many workers run at once, at most 8 (a
/// reader of the counts reads every stripe), and no more than the pool's
/// workers (others share stripe 0). Under loom two, so that the models see
/// workers on stripes of their own.
fn worker_stripes(max_workers: usize) -> usize {
    if cfg!(loom) {
        return 2;
    }
    if max_workers <= 1 {
        return 1;
    }
    // Asked once: it reads the affinity mask and the cgroup limits.
    static PROCESSORS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let processors =
        *PROCESSORS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    processors.min(8).min(max_workers)
}
