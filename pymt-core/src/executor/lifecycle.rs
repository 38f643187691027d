//! Whether an executor takes work, and how it stops: `join`, `shutdown`,
//! the last handle's `detach`, and the waits on counts (`wait_completion`,
//! `drain`).
//!
//! A closed executor whose last worker has left empties its queue, stale
//! entries included: a queued task holds its executor (`Header::executor`),
//! so an entry left behind would keep the executor alive through its own
//! queue, a reference cycle.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Duration;

use super::counts::Stripe;
use super::queue::Entry;
use super::{Executor, State};
use crate::deadline;
use crate::error::TaskError;
use crate::sync::{self, Instant, MutexGuard};
use crate::unwind;

/// Whether the executor takes new work, and what happens to queued work.
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

impl Executor {
    /// Waits on `state_cv` until `done(st)` or the deadline; true if done.
    fn wait_state<'a>(
        &'a self,
        st: MutexGuard<'a, State>,
        deadline: Option<Instant>,
        mut done: impl FnMut(&State) -> bool,
    ) -> (MutexGuard<'a, State>, bool) {
        // Announce, then check (in `wait_on`): see the module docs of
        // `executor` for the handshake.
        self.counts.cold.state_sleepers.fetch_add(1, SeqCst);
        sync::handshake();
        let out = deadline::wait_on(&self.state_cv, st, deadline, |st| done(st));
        self.counts.cold.state_sleepers.fetch_sub(1, SeqCst);
        out
    }

    /// Nothing queued, and nothing running but `own` bodies.
    fn settled(&self, own: usize) -> bool {
        let now = self.occupancy();
        now.queued == 0 && now.active <= own
    }

    /// Runs a pool-level wait; on one of our own workers it counts as
    /// blocked, so another worker can run what it waits for (see
    /// `population.rs`).
    fn blocking<R>(self: &Arc<Self>, wait: impl FnOnce() -> R) -> R {
        if self.on_own_worker() {
            self.while_blocked(wait)
        } else {
            wait()
        }
    }

    pub(crate) fn wait_completion(self: &Arc<Self>, timeout: Duration) -> bool {
        let deadline = deadline::after(timeout);
        let own = self.own_active();
        self.blocking(|| {
            let st = self.lock();
            self.wait_state(st, deadline, |_| self.settled(own)).1
        })
    }

    pub(crate) fn drain(self: &Arc<Self>, timeout: Duration) -> bool {
        let deadline = deadline::after(timeout);
        let own = self.own_active();
        let mut st = self.lock();
        st.draining += 1;
        self.counts.cold.draining.store(true, SeqCst);
        drop(st);
        let done = self.blocking(|| {
            let st = self.lock();
            self.wait_state(st, deadline, |_| self.settled(own)).1
        });
        let mut st = self.lock();
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

    /// After `close`: an executor without workers either starts one to
    /// finish its queue (a join or detach with work left) or empties it
    /// now (nothing live left, or a shutdown).
    fn after_close(self: &Arc<Self>, mut st: MutexGuard<'_, State>) {
        if st.workers > 0 {
            return;
        }
        let finish = st.lifecycle != Lifecycle::ShuttingDown && self.queued() > 0;
        if finish {
            st.workers += 1;
            st.starting += 1;
            self.sync_mirrors(&st);
            drop(st);
            return self.spawn_worker();
        }
        drop(st);
        self.end_orphans();
    }

    /// Ends what is queued in a closed executor that has no worker left:
    /// cancelled by a shutdown, rejected otherwise (nobody will run it).
    pub(super) fn end_orphans(&self) {
        let error = match self.lifecycle() {
            Lifecycle::ShuttingDown => TaskError::Cancelled,
            _ => TaskError::Rejected,
        };
        self.end_queued(&error);
    }

    /// Empties the queue: live entries end with `error`, stale ones and
    /// tokens are dropped. Called without the lock: a dropped entry runs
    /// user code (a closure's or a value's `Drop`).
    ///
    /// Every entry taken is uncounted (and a cancellation counted) before
    /// any of them ends: their callbacks and `Drop`s, run here, may wait on
    /// the pool (a `shutdown` from a cancelled task's callback), and must
    /// not find the pool waiting for them.
    pub(super) fn end_queued(&self, error: &TaskError) {
        let mut tokens = 0;
        let mut ending = Vec::new();
        for entry in self.queue.take_all() {
            let live = match &entry {
                Entry::Wake => {
                    tokens += 1;
                    continue;
                }
                Entry::Task(task) => task.try_claim(),
                Entry::Job(_) => true,
            };
            if live {
                if *error == TaskError::Cancelled {
                    self.totals.cancelled.fetch_add(1, Relaxed);
                }
                self.unqueued(Stripe::SHARED);
            }
            ending.push((live, entry));
        }
        for (live, entry) in ending {
            if let (true, Entry::Task(task)) = (live, &entry) {
                task.abort_claimed(error.clone());
            }
            unwind::drop_contained("dropping a queued entry", entry);
        }
        // Tokens drained on the way are replaced: blocked workers may need
        // them to see the lifecycle.
        self.counts.tokens.fetch_sub(tokens, SeqCst);
        let workers = self.lock().workers;
        self.wake_workers(workers);
    }

    /// A push landed after the executor closed. Live workers take it (a
    /// join finishes the queue) or cancel it (a shutdown); with no worker
    /// left it is rejected here, or it would wait forever.
    pub(super) fn after_late_push(&self) {
        let error = {
            let st = self.lock();
            match st.lifecycle {
                Lifecycle::Open => return,
                Lifecycle::ShuttingDown => TaskError::Cancelled,
                Lifecycle::Joining | Lifecycle::Detached if st.workers == 0 => TaskError::Rejected,
                Lifecycle::Joining | Lifecycle::Detached => {
                    return self.wake_workers(st.workers);
                }
            }
        };
        self.end_queued(&error);
    }

    /// Finish queued and running tasks, stop the workers; on timeout cancel
    /// what is still queued and return false.
    pub(crate) fn join(self: &Arc<Self>, timeout: Duration) -> bool {
        let deadline = deadline::after(timeout);
        let (own_workers, own_active) = (self.own_workers(), self.own_active());
        let mut st = self.lock();
        self.close(&mut st, Lifecycle::Joining);
        self.after_close(st);
        let done = self.blocking(|| {
            let st = self.lock();
            self.wait_state(st, deadline, |st| {
                self.settled(own_active) && st.workers <= own_workers
            })
            .1
        });
        if !done {
            self.end_queued(&TaskError::Cancelled);
        }
        done
    }

    /// Stop accepting, cancel the queue, handle running tasks as `running`
    /// says, and wait up to `timeout` for the workers to exit.
    pub(crate) fn shutdown(self: &Arc<Self>, timeout: Duration, running: RunningTasks) -> bool {
        let deadline = deadline::after(timeout);
        let (own_workers, own_active) = (self.own_workers(), self.own_active());
        if running == RunningTasks::RequestStop {
            self.counts.cold.stop_all.store(true, SeqCst);
        }
        {
            let mut st = self.lock();
            self.close(&mut st, Lifecycle::ShuttingDown);
        }
        self.end_queued(&TaskError::Cancelled);
        let st = self.lock();
        // Queued entries too: the last worker out may still be ending
        // late pushes (see `end_orphans`) when it leaves the count.
        self.wait_state(st, deadline, |st| {
            let now = self.occupancy();
            now.active <= own_active && now.queued == 0 && st.workers <= own_workers
        })
        .1
    }

    /// The last handle of an unnamed pool is gone: let the queue finish and
    /// the workers exit, without blocking.
    pub(crate) fn detach(self: &Arc<Self>) {
        let mut st = self.lock();
        self.close(&mut st, Lifecycle::Detached);
        self.after_close(st);
    }

    pub(crate) fn lifecycle(&self) -> Lifecycle {
        self.lock().lifecycle
    }
}
