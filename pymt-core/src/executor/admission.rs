//! Whether a submission may enter the queue: a closed executor refuses, a
//! full bounded queue or a drain makes it wait (or refuses, or lets it
//! past), and an admitted entry is counted before anyone can see it.
//!
//! # A worker submitting to its own full queue
//!
//! It is not made to wait (every worker could end up waiting for room that
//! only workers make) and it never runs other queued work on its own stack
//! (that would run unrelated tasks under the caller's locks and recurse
//! without bound): its entry is queued past the capacity. The capacity
//! bounds what outside producers can pile up; work a task spawns is bounded
//! by the task. `try_submit` still refuses with `Full`.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use super::counts::Stripe;
use super::queue::Entry;
use super::{Executor, Lifecycle, State};
use crate::deadline;
use crate::sync;
use crate::task::task_ref::TaskRef;

/// How a submission meets a full bounded queue (or a drain in progress).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Wait for room (`submit`); one of the executor's own workers is
    /// queued past the capacity instead (see the module docs).
    Wait,
    /// Refuse with [`Refusal::Full`] (`try_submit`).
    Never,
    /// Queue past the capacity, never waiting: a launch that must not block
    /// the thread making it (a permit's release frees a waiting task).
    Overflow,
}

/// Why an entry was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    Closed,
}

impl Executor {
    /// Queues `entry` (a task in the queued state, or a job); a refused
    /// entry comes back.
    #[inline]
    pub(crate) fn submit(
        self: &Arc<Self>,
        priority: i32,
        entry: Entry,
        admission: Admission,
    ) -> Result<(), (Refusal, Entry)> {
        if let Err(refusal) = self.admit(admission) {
            return Err((refusal, entry));
        }
        self.queue.push(priority, entry);
        self.after_push(priority);
        Ok(())
    }

    /// Queues a task that was waiting (for a permit): counted first, then
    /// moved to the queued state, then pushed, so a waiting worker that
    /// runs it inline or a canceller always finds it counted. Never waits
    /// for room. A refused task comes back, still waiting.
    pub(crate) fn schedule(self: &Arc<Self>, task: TaskRef) -> Result<(), (Refusal, TaskRef)> {
        if let Err(refusal) = self.admit(Admission::Overflow) {
            return Err((refusal, task));
        }
        if !task.try_schedule() {
            // Cancelled while waiting: nothing to queue after all.
            self.unqueued(Stripe::SHARED);
            return Ok(());
        }
        let priority = task.priority();
        self.queue.push(priority, Entry::Task(task));
        self.after_push(priority);
        Ok(())
    }

    /// Counts one more queued entry if it may enter.
    #[inline]
    fn admit(&self, admission: Admission) -> Result<(), Refusal> {
        let unbounded =
            self.config.queue_capacity.is_none() && !self.counts.cold.draining.load(SeqCst);
        if !unbounded {
            return self.admit_locked(admission);
        }
        if self.is_closed() {
            return Err(Refusal::Closed);
        }
        // Counted before it is visible, so a pop never drives the count
        // below zero; a push that races `close` is caught in `after_push`.
        self.counts.pushed.queued();
        Ok(())
    }

    /// The slow path: bounded queues and drains.
    fn admit_locked(&self, admission: Admission) -> Result<(), Refusal> {
        let own = self.on_own_worker();
        let mut st = self.lock();
        loop {
            if st.lifecycle != Lifecycle::Open {
                return Err(Refusal::Closed);
            }
            if !self.must_wait(&st, own, admission) {
                break;
            }
            if admission == Admission::Never {
                return Err(Refusal::Full);
            }
            // Announce, then re-check (in `wait_on`): a worker that frees
            // room either sees the announcement or is seen.
            self.counts.cold.space_sleepers.fetch_add(1, SeqCst);
            sync::handshake();
            st = deadline::wait_on(&self.space_cv, st, None, |st| {
                st.lifecycle != Lifecycle::Open || !self.must_wait(st, own, admission)
            })
            .0;
            self.counts.cold.space_sleepers.fetch_sub(1, SeqCst);
        }
        self.counts.pushed.queued();
        Ok(())
    }

    /// Whether a submission must wait for room or for a drain to end.
    fn must_wait(&self, st: &State, own: bool, admission: Admission) -> bool {
        let overflow = admission == Admission::Overflow;
        let past_capacity = overflow || (own && admission == Admission::Wait);
        let full = !past_capacity && self.is_full();
        let drained = !overflow && !own && st.draining > 0;
        full || drained
    }

    fn is_full(&self) -> bool {
        self.config
            .queue_capacity
            .is_some_and(|cap| self.queued() >= cap)
    }

    /// After a push: wake a blocked worker for an entry off the main lane
    /// (priority-0 entries wake one by themselves), start a worker if none
    /// will take it, and settle a push that raced `close`.
    fn after_push(self: &Arc<Self>, priority: i32) {
        sync::handshake();
        if priority != 0 {
            self.wake_one_for_entry();
        }
        if self.counts.cold.can_grow.load(SeqCst) && self.queued() > self.counts.idle.load(SeqCst) {
            self.grow();
        }
        if self.is_closed() {
            self.after_late_push();
        }
    }
}
