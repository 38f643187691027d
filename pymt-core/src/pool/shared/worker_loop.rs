//! The worker main loop: popping in priority order, running or
//! cancelling what it pops, idling on the lane, retiring and exiting.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Duration;

use super::{Lifecycle, Shared, State};
use crate::error::TaskError;
use crate::pool::entry::{Entry, Job};
use crate::pool::priority_lanes::Side;
use crate::sync;
use crate::task::context;
use crate::task::state::{QUEUED, RUNNING};
use crate::unwind::{self, AbortOnPanic};

/// Who runs a popped entry: a worker in its loop, or a submitter making
/// room in its own full queue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Runner {
    Worker,
    Inline,
}

/// What a worker does when the pool is closed and it has nothing to run.
enum Closed {
    Exit,
    /// Entries are still counted as queued (a push or a cancel in flight):
    /// block on the lane until they arrive or a token says they are gone.
    Wait,
}

impl Shared {
    pub(super) fn run_worker(self: Arc<Self>) {
        context::set_executor(self.address());
        context::set_worker_pool(Some(Arc::clone(&self)));
        self.lock().starting -= 1;
        // Counted in `counts.idle`: from finding nothing to run until
        // taking the next entry.
        let mut idle = false;
        // Counted as active without a body running (see `run_entry`).
        let mut streak = false;
        // A lane entry taken just before a higher ranked one (`next_entry`).
        let mut held = None;
        let leave_idle = |idle: &mut bool| {
            if std::mem::take(idle) {
                self.counts.idle.fetch_sub(1, SeqCst);
            }
        };
        loop {
            // A closed pool is checked before popping, so a worker with
            // nothing left exits without eating a token meant for another.
            // Not while holding an entry: it is still queued.
            let closed = self.counts.cold.closed.load(SeqCst);
            let excess = self.counts.cold.excess.load(SeqCst);
            if held.is_none() && (closed || excess) {
                self.end_streak(&mut streak);
                if closed {
                    if let Closed::Exit = self.closed_next_step() {
                        break;
                    }
                }
                if excess && self.retire_surplus() {
                    break;
                }
            }
            // With nothing found, announce idleness and look once more
            // before blocking: a ranked push made meanwhile is found then,
            // or its author sees us idle and pushes a token (closes and
            // resizes always do).
            let next = self.next_entry(&mut held).or_else(|| {
                self.go_idle(&mut streak, &mut idle);
                sync::handshake();
                self.next_entry(&mut held)
            });
            if let Some(entry) = next {
                leave_idle(&mut idle);
                self.run_entry(entry, Runner::Worker, &mut streak);
                continue;
            }
            if self.counts.cold.excess.load(SeqCst) {
                continue;
            }
            if self.counts.cold.closed.load(SeqCst) {
                if let Closed::Exit = self.closed_next_step() {
                    break;
                }
            }
            match self.lane.pop_wait(self.idle_timeout()) {
                Ok(entry) => {
                    leave_idle(&mut idle);
                    self.run_entry(entry, Runner::Worker, &mut streak);
                }
                Err(_) => {
                    idle = false; // `retire_idle` uncounts it
                    if self.retire_idle() {
                        break;
                    }
                }
            }
        }
        leave_idle(&mut idle);
        context::set_worker_pool(None);
    }

    /// How long this worker may sit idle before it retires (only above
    /// the minimum; read without the lock, rechecked in `retire_idle`).
    fn idle_timeout(&self) -> Option<Duration> {
        self.config
            .idle_timeout
            .filter(|_| self.counts.cold.reapable.load(SeqCst))
    }

    /// The pool is closed and this worker found nothing to run.
    fn closed_next_step(&self) -> Closed {
        let mut st = self.lock();
        let finished = match st.lifecycle {
            Lifecycle::Open => return Closed::Wait,
            // Queued entries are cancelled by `shutdown` (or a late push).
            Lifecycle::ShuttingDown => true,
            Lifecycle::Joining | Lifecycle::Detached => self.queued() == 0,
        };
        if !finished {
            return Closed::Wait;
        }
        self.exit_locked(&mut st);
        Closed::Exit
    }

    /// Exits if the pool has more workers than its maximum.
    fn retire_surplus(&self) -> bool {
        let mut st = self.lock();
        if st.workers <= st.max_workers {
            return false;
        }
        self.exit_locked(&mut st);
        true
    }

    /// The idle timeout passed (this worker is still counted idle).
    fn retire_idle(&self) -> bool {
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

    fn exit_locked(&self, st: &mut State) {
        let _guard = AbortOnPanic;
        st.workers -= 1;
        self.sync_mirrors(st);
        self.notify_state_locked();
    }

    /// The next entry in priority order, without blocking: positive
    /// priorities (outliers above the levels first), then the lane, then
    /// negative priorities (the levels, then outliers below them). `held`
    /// is the caller's slot for a lane entry taken just before a higher one
    /// showed up: it runs next, ahead of the rest of the lane.
    pub(super) fn next_entry(&self, held: &mut Option<Entry>) -> Option<Entry> {
        if let Some(entry) = self.pop_high() {
            return Some(entry);
        }
        if let Some(entry) = held.take() {
            return Some(entry);
        }
        if let Some(entry) = self.lane.try_pop() {
            // Popping synchronised with its push: a higher entry the same
            // submitter queued before it is marked by now, and runs first.
            if let Some(first) = self.pop_high() {
                *held = Some(entry);
                return Some(first);
            }
            return Some(entry);
        }
        if self.priority_lanes.maybe_any(Side::Low) {
            if let Some(entry) = self.priority_lanes.pop(Side::Low) {
                return Some(entry);
            }
        }
        if self.counts.ranked.low.load(SeqCst) != 0 {
            return self.pop_ranked(|_| true);
        }
        None
    }

    /// The highest entry of priority > 0, if any.
    fn pop_high(&self) -> Option<Entry> {
        if self.counts.ranked.high.load(SeqCst) != 0 {
            if let Some(entry) = self.pop_ranked(|priority| priority > 0) {
                return Some(entry);
            }
        }
        if self.priority_lanes.maybe_any(Side::High) {
            return self.priority_lanes.pop(Side::High);
        }
        None
    }

    /// Pops the top ranked entry if `accept` takes its priority, after
    /// moving the inbox in.
    fn pop_ranked(&self, accept: impl FnOnce(i32) -> bool) -> Option<Entry> {
        let (priority, entry) = {
            let mut st = self.lock();
            self.take_inbox(&mut st);
            st.ranked.pop_if(accept)?
        };
        self.ranked_count(priority).fetch_sub(1, SeqCst);
        Some(entry)
    }

    pub(super) fn take_inbox(&self, st: &mut State) {
        while let Some((priority, entry)) = self.inbox.try_pop() {
            st.ranked.push(priority, entry);
        }
    }

    /// Runs (or, during a shutdown, cancels) a popped entry.
    ///
    /// A worker does not stop counting as active when a body ends: it
    /// looks for the next entry first, and if it finds one the count passes
    /// to that body (`streak`: active counted, no body running), which
    /// saves a write to the shared counts per entry under a backlog. It
    /// ends the streak with `end_streak` before it idles or exits.
    pub(super) fn run_entry(&self, entry: Entry, runner: Runner, streak: &mut bool) {
        let cancel = self.counts.cold.cancelling.load(SeqCst);
        let start = |streak: &mut bool| {
            if std::mem::take(streak) {
                self.unqueued(); // the streak's active count passes on
            } else {
                self.started();
            }
        };
        let end = |streak: &mut bool| match runner {
            Runner::Worker => *streak = true,
            Runner::Inline => self.finished(),
        };
        match entry {
            Entry::Wake => {
                self.counts.tokens.fetch_sub(1, SeqCst);
            }
            Entry::Task(task) if cancel => {
                if task.header().state.claim_pending().is_some() {
                    self.unqueued();
                    task.abort_claimed(TaskError::Cancelled);
                }
            }
            Entry::Task(task) => {
                if !task.header().state.transition(QUEUED, RUNNING) {
                    return; // stale: cancelled or run inline already
                }
                start(streak);
                context::run_claimed(task);
                end(streak);
            }
            Entry::Job(job) if cancel => {
                self.unqueued();
                self.drop_cancelled_job(job);
            }
            Entry::Job(job) => {
                start(streak);
                self.run_job(job, runner == Runner::Inline);
                end(streak);
            }
        }
    }

    /// The worker found nothing to run: it counts itself idle, then ends
    /// its streak (in that order, so whoever sees the pool settled also
    /// sees this worker available).
    fn go_idle(&self, streak: &mut bool, idle: &mut bool) {
        if !std::mem::replace(idle, true) {
            self.counts.idle.fetch_add(1, SeqCst);
        }
        self.end_streak(streak);
    }

    fn end_streak(&self, streak: &mut bool) {
        if std::mem::take(streak) {
            self.finished();
        }
    }

    fn run_job(&self, job: Job, inline: bool) {
        match context::run_job(inline, || unwind::catch(|| job.call())) {
            Ok(()) => self.totals.completed.fetch_add(1, Relaxed),
            Err(message) => {
                report_error!(
                    "pymt: a job executed on pool '{}' panicked: {message}",
                    self.config.name
                );
                self.totals.panicked.fetch_add(1, Relaxed)
            }
        };
    }
}
