//! The one thread-local that says which executor's worker this thread is.

use std::cell::RefCell;
use std::sync::Arc;

use super::Executor;
use crate::sync::thread_local;

thread_local! {
    static WORKER: RefCell<Option<Arc<Executor>>> = const { RefCell::new(None) };
}

/// Marks this thread as a worker of `executor` (`None` when it exits).
pub(super) fn set(executor: Option<Arc<Executor>>) {
    let previous = WORKER.with(|worker| worker.replace(executor));
    drop(previous);
}

/// True if this thread is a worker of `executor`.
pub(crate) fn is(executor: &Executor) -> bool {
    WORKER
        .try_with(|worker| {
            worker
                .borrow()
                .as_deref()
                .is_some_and(|mine| std::ptr::eq(mine, executor))
        })
        .unwrap_or(false)
}

/// Whether this thread's executor is shutting down (for handle-less jobs,
/// which have no task to ask).
pub(crate) fn stop_requested() -> bool {
    WORKER
        .try_with(|worker| {
            worker
                .borrow()
                .as_ref()
                .is_some_and(|executor| executor.stop_requested())
        })
        .unwrap_or(false)
}
