//! Tasks: the handle, its shared state, and the ways to start one.
//!
//! | module | job |
//! |---|---|
//! | `state.rs` | the state word and its named transitions (only this module writes it) |
//! | `header.rs` | what every task carries besides its result type |
//! | `options.rs` | what a task is given at launch (name, hooks, room for a permit), inline in its cell |
//! | `stage.rs`, `locked.rs` | the closure, then the outcome, the permit and the rare extras, under the task's lock |
//! | `cell.rs` | the one allocation per task, and the views queues and handles have of it |
//! | `completion.rs` | how a task ends: the completion protocol, phase by phase |
//! | `waiting.rs` | how a thread waits for an outcome |
//! | `task_ref.rs` | all an executor sees of a task |
//! | `handle.rs` | `Task<T>` |
//! | `launch.rs` | creating a task and handing it to a thread, a queue or a limiter |
//! | `context.rs` | what a running body knows about itself |
//! | `listener.rs` | what a finishing task notifies |

pub(crate) mod cell;
mod completion;
pub(crate) mod context;
pub(crate) mod handle;
pub(crate) mod header;
pub(crate) mod launch;
pub(crate) mod listener;
mod locked;
pub(crate) mod options;
mod stage;
pub(crate) mod state;
pub(crate) mod task_ref;
pub(crate) mod waiting;

use std::borrow::Cow;

pub use self::handle::Task;
use self::launch::{Spec, Target};
use crate::error::SubmitError;
use crate::pool::Pool;
use crate::worker::Worker;

/// Runs `f` on a new thread and returns its handle (what a bare
/// `#[threaded]` does).
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let task = pymt::spawn(|| "hello from another thread");
/// assert_eq!(task.join(), Ok("hello from another thread"));
/// ```
pub fn spawn<T, F>(f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    launch::launch(Spec::new(0), Target::Thread, f)
}

/// Starts a task with a name and a priority, on a new thread, a pool or a
/// worker.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let task = pymt::TaskBuilder::new().name("report").priority(5).submit(&pool, || 1);
/// assert_eq!((task.name(), task.priority()), (Some("report"), 5));
/// assert_eq!(task.join(), Ok(1));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until a task is started"]
pub struct TaskBuilder {
    name: Option<Cow<'static, str>>,
    priority: i32,
}

impl TaskBuilder {
    /// Unnamed, priority 0.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::TaskBuilder::new().spawn(|| 2).join(), Ok(2));
    /// ```
    pub fn new() -> Self {
        TaskBuilder::default()
    }

    /// Names the task (and its thread, when spawned on one).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::TaskBuilder::new().name(format!("job-{}", 1)).spawn(|| ());
    /// assert_eq!(t.name(), Some("job-1"));
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the priority (higher runs first; default 0).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::TaskBuilder::new().priority(-1).spawn(|| ()).priority(), -1);
    /// ```
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The task's spec: the name is kept inline in its cell (no allocation
    /// beside it).
    fn spec<T>(self) -> Spec<T, Option<Cow<'static, str>>> {
        Spec {
            priority: self.priority,
            options: self.name,
            permit: (),
        }
    }

    /// Runs `f` on a new thread.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::TaskBuilder::new().spawn(|| 3).join(), Ok(3));
    /// ```
    pub fn spawn<T, F>(self, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        launch::launch(self.spec(), Target::Thread, f)
    }

    /// Queues `f` on `pool` (blocking while a bounded queue is full).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// assert_eq!(pymt::TaskBuilder::new().submit(&pool, || 3).join(), Ok(3));
    /// ```
    pub fn submit<T, F>(self, pool: &Pool, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        launch::launch(self.spec(), pool.target(), f)
    }

    /// Queues `f` on `pool` without blocking.
    ///
    /// # Errors
    ///
    /// As [`Pool::try_submit`].
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// assert!(pymt::TaskBuilder::new().try_submit(&pool, || 3).is_ok());
    /// ```
    pub fn try_submit<T, F>(self, pool: &Pool, f: F) -> Result<Task<T>, SubmitError<F>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        pool.try_submit_spec(self.spec(), f)
    }

    /// Queues `f` on a dedicated `worker`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let worker = pymt::Worker::new();
    /// assert_eq!(pymt::TaskBuilder::new().submit_to_worker(&worker, || 3).join(), Ok(3));
    /// ```
    pub fn submit_to_worker<T, F>(self, worker: &Worker, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        launch::launch(self.spec(), worker.target(), f)
    }
}
