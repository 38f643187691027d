//! What a running task knows about itself: `current_task()`,
//! `stop_requested()`, `time_left()` to come; and how many bodies this
//! thread runs (more than one when a waiting worker runs tasks inline).
//! Which executor the thread works for is `executor::current`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::Arc;

use super::cell::Run;
use super::header::Header;
use super::state::TaskId;
use crate::sync::thread_local;

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Run>>> = const { RefCell::new(None) };
    /// Task bodies running on this thread (more than one when run inline).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// `execute` jobs running on this thread (more than one when run inline).
    static JOBS: Cell<usize> = const { Cell::new(0) };
}

/// The running task, as seen from inside its body.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let task = pool.submit_with_priority(7, || {
///     let me = pymt::current_task().expect("inside a task");
///     (me.priority(), me.stop_requested())
/// });
/// assert_eq!(task.join().unwrap(), (7, false));
/// ```
#[derive(Clone)]
pub struct TaskContext {
    task: Arc<dyn Run>,
}

impl TaskContext {
    /// The running task's id (equal to its handle's `id()`).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let task = pymt::spawn(|| pymt::current_task().unwrap().id());
    /// assert_eq!(task.id(), task.result().unwrap());
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.header().id
    }

    /// The name given at submission, if any.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::TaskBuilder::new().name("job").spawn(|| {
    ///     pymt::current_task().unwrap().name().map(str::to_owned)
    /// });
    /// assert_eq!(t.join().unwrap().as_deref(), Some("job"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.task.name()
    }

    /// The priority given at submission (0 by default).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::spawn(|| pymt::current_task().unwrap().priority()).join(), Ok(0));
    /// ```
    pub fn priority(&self) -> i32 {
        self.task.header().priority
    }

    /// True once [`Task::request_stop`](crate::Task::request_stop) was called
    /// on this task or its pool is shutting down.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(!pymt::spawn(|| pymt::current_task().unwrap().stop_requested()).join().unwrap());
    /// ```
    pub fn stop_requested(&self) -> bool {
        self.task.header().stop_requested()
    }
}

impl fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskContext")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("priority", &self.priority())
            .finish()
    }
}

/// The task running on this thread, or `None` outside a task.
///
/// A task that a waiting worker runs inline sees its own context.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// assert!(pymt::current_task().is_none());
/// assert!(pymt::spawn(|| pymt::current_task().is_some()).join().unwrap());
/// ```
pub fn current_task() -> Option<TaskContext> {
    CURRENT.with(|current| {
        current.borrow().as_ref().map(|task| TaskContext {
            task: Arc::clone(task),
        })
    })
}

/// True if the running task was asked to stop (false outside a task).
///
/// Long-running bodies poll this to end cooperatively; pymt never kills a
/// thread.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// # use std::time::Duration;
/// let (started, rx) = std::sync::mpsc::channel();
/// let task = pymt::spawn(move || {
///     started.send(()).unwrap();
///     let mut rounds = 0u64;
///     while !pymt::stop_requested() {
///         rounds += 1;
///         std::thread::yield_now();
///     }
///     rounds
/// });
/// rx.recv().unwrap();
/// task.request_stop();
/// assert!(task.result_timeout(Duration::from_secs(10)).is_ok());
/// ```
pub fn stop_requested() -> bool {
    let task = CURRENT.with(|current| {
        current
            .borrow()
            .as_ref()
            .map(|task| task.header().stop_requested())
    });
    match task {
        Some(requested) => requested,
        None if JOBS.with(Cell::get) > 0 => crate::executor::current::stop_requested(),
        None => false,
    }
}

/// Runs a started task with its context installed (restoring the outer
/// one, so inline runs nest).
///
/// The task is dropped before this thread stops counting the body: if ours
/// is the last reference, the value's `Drop` runs here, still as part of
/// the body (a pool-level wait in it must not wait for this worker).
pub(crate) fn run_started(task: Arc<dyn Run>) {
    #[cfg(feature = "tracing")]
    let _span = {
        let header = task.header();
        tracing::info_span!(
            "pymt.task",
            id = header.id.as_u64(),
            name = task.name(),
            priority = header.priority,
            pool = header.executor.as_ref().map(|executor| executor.name()),
        )
        .entered()
    };
    let previous = CURRENT.with(|current| current.replace(Some(Arc::clone(&task))));
    DEPTH.with(|d| d.set(d.get() + 1));
    task.run_started();
    let ours = CURRENT.with(|current| current.replace(previous));
    crate::unwind::drop_contained("dropping a finished task", (ours, task));
    DEPTH.with(|d| d.set(d.get() - 1));
}

/// Runs an `execute` job body on a worker's loop: it counts as a body
/// running on this thread (a job waiting on its own pool must not wait for
/// itself), with no task context (jobs never run inline inside a task).
pub(crate) fn run_job<R>(body: impl FnOnce() -> R) -> R {
    DEPTH.with(|d| d.set(d.get() + 1));
    JOBS.with(|j| j.set(j.get() + 1));
    let out = body();
    JOBS.with(|j| j.set(j.get() - 1));
    DEPTH.with(|d| d.set(d.get() - 1));
    out
}

/// How many task bodies this thread is running right now.
pub(crate) fn depth() -> usize {
    DEPTH.with(Cell::get)
}

/// True if the task with `header` is the innermost body running on this
/// thread (outer bodies of an inline nest are not tracked).
pub(crate) fn is_running(header: &Header) -> bool {
    CURRENT.with(|current| {
        current
            .borrow()
            .as_ref()
            .is_some_and(|task| std::ptr::eq(task.header(), header))
    })
}
