//! What every task carries besides its result type and its options:
//! identity, the state word, the stop flag, the handle count, and the
//! executor it belongs to. (The name is an option: `options.rs`.)

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::state::{AtomicState, Start, TaskId};
use crate::executor::Executor;
use crate::sync::{AtomicBool, AtomicU32, Condvar};

pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) priority: i32,
    pub(crate) state: AtomicState,
    stop: AtomicBool,
    /// Live `Task<T>` handles; when it drops to zero an unread panic is logged.
    /// 32 bits: overflowing it takes 2^32 live handles (64 GiB of them).
    handles: AtomicU32,
    /// Where threads blocked on the outcome sleep. It belongs with the slot
    /// but lives here, in what would otherwise be the header's padding.
    pub(crate) cond: Condvar,
    /// The pool or worker the task belongs to (none for a thread per task).
    pub(crate) executor: Option<Arc<Executor>>,
}

impl Header {
    pub(crate) fn new(priority: i32, start: Start, executor: Option<Arc<Executor>>) -> Self {
        Header {
            id: TaskId::next(),
            priority,
            state: AtomicState::new(start),
            stop: AtomicBool::new(false),
            handles: AtomicU32::new(1),
            cond: Condvar::new(),
            executor,
        }
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// True if this task or its pool was asked to stop.
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
            || self
                .executor
                .as_ref()
                .is_some_and(|executor| executor.stop_requested())
    }

    pub(crate) fn add_handle(&self) {
        if self.handles.fetch_add(1, Ordering::Relaxed) == u32::MAX {
            // Wrapped: the count would lie about the last handle. Like `Arc`
            // on overflow, stop rather than go on with a broken count.
            std::process::abort();
        }
    }

    /// Returns true when the last handle went away.
    pub(crate) fn drop_handle(&self) -> bool {
        self.handles.fetch_sub(1, Ordering::AcqRel) == 1
    }

    pub(crate) fn has_handles(&self) -> bool {
        self.handles.load(Ordering::Acquire) > 0
    }

    /// "task#3 'name' in pool 'p'", for log lines (the name is the task's
    /// option: `Run::describe` passes it).
    pub(crate) fn describe(&self, name: Option<&str>) -> String {
        let mut text = self.id.to_string();
        if let Some(name) = name {
            text.push_str(&format!(" '{name}'"));
        }
        match &self.executor {
            Some(executor) => text.push_str(&format!(" in pool '{}'", executor.name())),
            None => text.push_str(" on its own thread"),
        }
        text
    }
}
