//! One worker's loop. Each round it checks the lifecycle, then is **busy**
//! (running what it pops, in priority order) until it finds nothing, then
//! **idle** (counted in `counts.idle`): it spins over every lane for a
//! moment, then counts itself **asleep** (`counts.asleep`, the workers
//! ranked pushes send wake tokens to) and blocks on the lane until an entry
//! or a token arrives, a wake-up finds entries in other lanes, or its idle
//! timeout retires it.
//!
//! The loop's state lives in [`WorkerLoop`], whose `Drop` is the one guard
//! around the whole loop: if anything unwinds out of it, the worker leaves
//! every count it was in and a replacement starts if work is left, so no
//! failure leaves a counted but dead worker.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Duration;

use super::counts::Stripe;
use super::queue::{Entry, Job, Popped, Unblocked};
use super::{current, Executor, Lifecycle, Tally};
use crate::error::TaskError;
use crate::sync;
use crate::task::context;
use crate::unwind;

/// What the loop does after a round.
enum Flow {
    Continue,
    Exit,
}

/// A worker's loop state.
struct WorkerLoop<'a> {
    executor: &'a Arc<Executor>,
    /// Counted in `counts.idle`: from finding nothing to run until taking
    /// the next entry.
    idle: bool,
    /// Counted in `counts.asleep` (and idle): past the spin, blocked or
    /// about to block on the lane.
    asleep: bool,
    /// Counted as active without a body running: a worker does not stop
    /// counting as active when a body ends, it looks for the next entry
    /// first, and if it finds one the count passes to that body. That saves
    /// a write to the shared counts per entry under a backlog.
    streak: bool,
    /// Left through the normal exit path (the guard has nothing to do).
    exited: bool,
    /// Jobs this worker completed (see `Tally`).
    tally: Arc<Tally>,
    /// Where this worker counts what it starts and ends (see `counts.rs`).
    stripe: Stripe,
}

impl Executor {
    pub(super) fn run_worker(self: Arc<Self>) {
        current::set(Some(Arc::clone(&self)));
        let tally = Arc::new(Tally::default());
        let stripe = self.worker_started(&tally);
        let mut worker = WorkerLoop {
            executor: &self,
            idle: false,
            asleep: false,
            streak: false,
            exited: false,
            tally,
            stripe,
        };
        while let Flow::Continue = worker.round() {}
        worker.exit();
        drop(worker);
        current::set(None);
    }
}

impl WorkerLoop<'_> {
    fn round(&mut self) -> Flow {
        if let Some(flow) = self.check_lifecycle() {
            return flow;
        }
        // Busy: run what is there.
        if let Some(popped) = self.executor.queue.pop() {
            self.take(popped);
            return Flow::Continue;
        }
        // Idle: announce it, then look again, with a short spin then
        // yield (which gives a round trip its speed) across every lane.
        self.go_idle();
        sync::handshake();
        if let Some(popped) = self.spin_for_entry() {
            self.take(popped);
            return Flow::Continue;
        }
        // Asleep: announce it, then look once more before blocking: a
        // ranked push made meanwhile is found now, or its author sees us
        // asleep and pushes a token (closes and resizes always do).
        self.fall_asleep();
        sync::handshake();
        if let Some(popped) = self.pop_idle() {
            self.take(popped);
            return Flow::Continue;
        }
        let cold = &self.executor.counts.cold;
        if cold.excess.load(SeqCst) {
            return Flow::Continue;
        }
        if cold.closed.load(SeqCst) && self.closed_and_done() {
            return Flow::Exit;
        }
        self.block()
    }

    /// A closed executor with nothing left, or a surplus worker, exits. A
    /// closed executor is checked before popping, so a worker with nothing
    /// left exits without eating a token meant for another.
    fn check_lifecycle(&mut self) -> Option<Flow> {
        let cold = &self.executor.counts.cold;
        let closed = cold.closed.load(SeqCst);
        let excess = cold.excess.load(SeqCst);
        if !closed && !excess {
            return None;
        }
        self.end_streak();
        if closed && self.closed_and_done() {
            return Some(Flow::Exit);
        }
        if excess && self.executor.retire_surplus() {
            return Some(Flow::Exit);
        }
        None
    }

    /// Blocks on the lane until an entry or a token, or the idle timeout.
    fn block(&mut self) -> Flow {
        match self.executor.queue.pop_wait(self.idle_timeout()) {
            Ok(popped) => {
                self.take(popped);
                Flow::Continue
            }
            // Still idle and asleep: the next round looks at every lane.
            Err(Unblocked::Elsewhere) => Flow::Continue,
            Err(Unblocked::TimedOut) => {
                self.wake_up();
                self.idle = false; // `retire_idle` uncounts it
                if self.executor.retire_idle() {
                    Flow::Exit
                } else {
                    Flow::Continue
                }
            }
        }
    }

    /// How long this worker may sit idle before it retires (only above
    /// the minimum; read without the lock, rechecked in `retire_idle`).
    fn idle_timeout(&self) -> Option<Duration> {
        self.executor
            .config
            .idle_timeout
            .filter(|_| self.executor.counts.cold.reapable.load(SeqCst))
    }

    /// The executor is closed and this worker found nothing to run: true
    /// if it left (entries still counted mean a push or a cancel is in
    /// flight; it waits for them).
    fn closed_and_done(&self) -> bool {
        let executor = self.executor;
        let mut st = executor.lock();
        let finished = match st.lifecycle {
            Lifecycle::Open => false,
            // Queued entries are cancelled by `shutdown` (or a late push).
            Lifecycle::ShuttingDown => true,
            Lifecycle::Joining | Lifecycle::Detached => executor.queued() == 0,
        };
        if finished {
            executor.leave(&mut st);
        }
        finished
    }

    /// Takes a popped entry: a token is given up before the worker stops
    /// counting as idle (see `Executor::wake_one_for_entry`).
    #[inline]
    fn take(&mut self, popped: Popped) {
        if let Entry::Wake = popped.entry {
            self.executor.token_taken();
            self.leave_idle();
            self.executor.pass_token_on();
        }
        if popped.put_back {
            self.executor.wake_one_for_entry();
        }
        self.run_entry(popped.entry);
    }

    /// Runs (or, during a shutdown, cancels) a popped entry.
    #[inline]
    fn run_entry(&mut self, entry: Entry) {
        let executor = self.executor;
        let cancelling = executor.counts.cold.cancelling.load(SeqCst);
        match entry {
            Entry::Wake => {}
            Entry::Task(task) if cancelling => {
                self.leave_idle();
                if task.try_claim() {
                    executor.end_claimed(&task, TaskError::Cancelled);
                }
                unwind::drop_contained("dropping a queued task", task);
            }
            Entry::Task(task) => {
                if !task.try_start() {
                    // Stale: cancelled or run inline already.
                    self.leave_idle();
                    return unwind::drop_contained("dropping a stale entry", task);
                }
                self.start_body();
                task.run();
                self.streak = true;
            }
            Entry::Job(job) if cancelling => {
                self.leave_idle();
                executor.cancel_job(job);
            }
            Entry::Job(job) => {
                self.start_body();
                self.run_job(job);
                self.streak = true;
            }
        }
    }

    /// A popped entry starts: it leaves the queue, and counts as active
    /// unless this worker's streak already does. Only then does an idle
    /// worker stop counting as idle: a submitter never sees the entry still
    /// queued and its taker gone from `idle` (it would start a worker for
    /// nothing). The submitter that instead saw this worker idle and
    /// started none is covered by the worker's own check after it leaves.
    fn start_body(&mut self) {
        if std::mem::take(&mut self.streak) {
            self.executor.unqueued(self.stripe); // the streak's active count passes on
        } else {
            self.executor.started(self.stripe);
        }
        if std::mem::take(&mut self.idle) {
            self.wake_up();
            self.executor.left_idle_for_entry();
        }
    }

    #[inline]
    fn run_job(&self, job: Job) {
        let executor = self.executor;
        match context::run_job(|| unwind::catch(|| job.call())) {
            // Only this worker writes its tally: no read-modify-write.
            Ok(()) => self.tally.store(self.tally.load(Relaxed) + 1, Relaxed),
            Err(message) => {
                report_error!(
                    "pymt: a job executed on pool '{}' panicked: {message}",
                    executor.config.name
                );
                executor.totals.panicked.fetch_add(1, SeqCst);
            }
        }
    }

    /// The worker found nothing to run: it counts itself idle, then ends
    /// its streak (in that order, so whoever sees the pool settled also
    /// sees this worker available).
    fn go_idle(&mut self) {
        if !std::mem::replace(&mut self.idle, true) {
            self.executor.counts.idle.fetch_add(1, SeqCst);
        }
        self.end_streak();
    }

    /// Looks at every lane, with the backoff of `backoff_until`.
    #[inline(never)]
    fn spin_for_entry(&self) -> Option<Popped> {
        let mut popped = None;
        crate::task::waiting::backoff_until(|| {
            popped = self.pop_idle();
            popped.is_some()
        });
        popped
    }

    /// An idle worker's pop: out of line, so the busy pop (one per entry
    /// under a backlog) is the loop's only inlined copy of the queue's.
    #[inline(never)]
    fn pop_idle(&self) -> Option<Popped> {
        self.executor.queue.pop()
    }

    /// The worker stopped spinning: ranked pushes now send it a token.
    fn fall_asleep(&mut self) {
        if !std::mem::replace(&mut self.asleep, true) {
            self.executor.counts.asleep.fetch_add(1, SeqCst);
        }
    }

    /// Before leaving `idle` (a sleeping worker is an idle one).
    fn wake_up(&mut self) {
        if std::mem::take(&mut self.asleep) {
            self.executor.counts.asleep.fetch_sub(1, SeqCst);
        }
    }

    fn leave_idle(&mut self) {
        self.wake_up();
        if std::mem::take(&mut self.idle) {
            self.executor.counts.idle.fetch_sub(1, SeqCst);
        }
    }

    fn end_streak(&mut self) {
        if std::mem::take(&mut self.streak) {
            self.executor.finished(self.stripe);
        }
    }

    /// The normal way out (the worker already left `workers`): wake-ups
    /// this worker may have taken are passed on, and the last worker of a
    /// closed executor empties its queue.
    fn exit(&mut self) {
        self.leave_idle();
        self.end_streak();
        self.exited = true;
        self.executor.pass_wakes_on();
        self.executor.retire_tally(&self.tally, self.stripe);
        if self.executor.abandoned() {
            self.executor.end_orphans();
        }
    }
}

impl Drop for WorkerLoop<'_> {
    /// The guard: something unwound out of the loop. Leave every count,
    /// then start a replacement if work is left.
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        // Under loom a panic is the model checker ending an execution
        // (a reported deadlock, a failed assertion): its primitives cannot
        // be used any more, so there is nothing to clean up.
        if cfg!(loom) {
            return;
        }
        let executor = self.executor;
        unwind::or_abort("a worker's exit after an internal panic", || {
            report_error!(
                "pymt: a worker of pool '{}' failed internally; replacing it",
                executor.config.name
            );
            self.leave_idle();
            self.end_streak();
            let mut st = executor.lock();
            executor.leave(&mut st);
            drop(st);
            executor.pass_wakes_on();
            executor.retire_tally(&self.tally, self.stripe);
            if executor.queued() > 0 {
                executor.grow();
            }
        });
    }
}
