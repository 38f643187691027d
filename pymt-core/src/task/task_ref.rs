//! [`TaskRef`]: all an executor sees of a task. It can try to start it, run
//! it, or abort it, and never reads the state word itself: the task module
//! owns the state machine, as tokio's task core does, and executors are
//! known to tasks only through the `Executor` hooks they call back.

use std::sync::Arc;

use super::cell::Run;
use super::context;
use crate::error::TaskError;

/// A reference to a task held by a queue (or a launcher about to queue it).
pub(crate) struct TaskRef(Arc<dyn Run>);

impl TaskRef {
    pub(crate) fn new(run: Arc<dyn Run>) -> Self {
        TaskRef(run)
    }

    #[cfg(test)]
    pub(crate) fn id(&self) -> super::state::TaskId {
        self.0.header().id
    }

    /// A queued task of `priority` that returns `()`, for queue tests.
    #[cfg(test)]
    pub(crate) fn for_test(priority: i32) -> Self {
        use super::cell::Cell;
        use super::header::Header;
        use super::state::Start;
        TaskRef(Cell::new(Header::new(priority, Start::Queued, None), || ()))
    }

    pub(crate) fn priority(&self) -> i32 {
        self.0.header().priority
    }

    /// Claims a queued task to run it on this thread; false for a stale
    /// entry (cancelled, or already run by a waiting worker).
    pub(crate) fn try_start(&self) -> bool {
        self.0.header().state.try_start()
    }

    /// Moves a waiting task into the queued state (a deferred launch);
    /// false if it was cancelled meanwhile.
    pub(crate) fn try_schedule(&self) -> bool {
        self.0.header().state.try_schedule()
    }

    /// Runs a task this thread started, with its context installed. The
    /// last reference may be ours: dropping it drops an unread result,
    /// whose `Drop` may panic, and that must not reach the caller.
    pub(crate) fn run(self) {
        context::run_started(self.0);
    }

    /// Claims a pending task and ends it with `error`, dropping its closure
    /// unrun; false if someone else claimed it first.
    pub(crate) fn try_abort(&self, error: TaskError) -> bool {
        if !self.try_claim() {
            return false;
        }
        self.abort_claimed(error);
        true
    }

    /// Claims a pending task to end it without running it (then
    /// `abort_claimed`); false if someone else claimed it first. An
    /// executor uncounts a queued task in between, so the task's callbacks
    /// already see it gone from the queue.
    pub(crate) fn try_claim(&self) -> bool {
        self.0.header().state.try_claim_pending().is_some()
    }

    /// Ends a task this thread claimed with `try_claim`.
    pub(crate) fn abort_claimed(&self, error: TaskError) {
        self.0.abort_claimed(error);
    }

    /// Takes back a permit given to the task (a launch that failed), so
    /// the limiter's release loop passes it on.
    pub(crate) fn take_permit(&self) -> Option<crate::limiter::Permit> {
        self.0.take_permit()
    }

    pub(crate) fn describe(&self) -> String {
        self.0.describe()
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.0.name()
    }

    pub(crate) fn clone_ref(&self) -> TaskRef {
        TaskRef(Arc::clone(&self.0))
    }
}
