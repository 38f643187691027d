//! `Worker`: one dedicated thread with its own priority queue.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::executor::config::{Compensation, Config, ThreadNaming};
use crate::executor::{Executor, Lifecycle, RunningTasks};
use crate::task::launch::{self, Spec, Target};
use crate::task::Task;

/// One dedicated thread with its own priority queue, alive once built.
///
/// A panicking task never kills the worker; a submission after
/// [`stop`](Worker::stop) or [`join`](Worker::join) is `Rejected`. Dropping
/// the worker lets its queue finish, then the thread exits.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// # use std::time::Duration;
/// let worker = pymt::Worker::builder().name("io").build();
/// let t = worker.submit(|| std::thread::current().name().map(str::to_owned));
/// assert_eq!(t.join().unwrap().as_deref(), Some("io"));
/// assert!(worker.join(Duration::from_secs(10)));
/// ```
pub struct Worker {
    name: Option<String>,
    executor: Arc<Executor>,
}

/// Settings for a [`Worker`]; see [`Worker::builder`].
///
/// ```
/// # use pymt_core as pymt;
/// let w = pymt::WorkerBuilder::default().stack_size(256 * 1024).build();
/// assert!(w.is_alive());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until .build()"]
pub struct WorkerBuilder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl WorkerBuilder {
    /// Names the worker and its thread.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Worker::builder().name("w").build().name(), Some("w"));
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Stack size of the thread, in bytes.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let w = pymt::Worker::builder().stack_size(1 << 20).build();
    /// assert_eq!(w.submit(|| 1).join(), Ok(1));
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the thread.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::Worker::builder().build().is_alive());
    /// ```
    pub fn build(self) -> Worker {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let thread_name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("pymt-worker-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let executor = Executor::new(Config {
            name: thread_name,
            min_workers: 1,
            max_workers: 1,
            idle_timeout: None,
            stack_size: self.stack_size,
            queue_capacity: None,
            thread_naming: ThreadNaming::Exact,
            compensation: Compensation::Never,
        });
        Worker {
            name: self.name,
            executor,
        }
    }
}

impl Worker {
    /// A worker with default settings.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Worker::new().submit(|| 3).join(), Ok(3));
    /// ```
    pub fn new() -> Worker {
        WorkerBuilder::default().build()
    }

    /// A builder for a configured worker.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let w = pymt::Worker::builder().name("x").build();
    /// assert_eq!(w.name(), Some("x"));
    /// ```
    pub fn builder() -> WorkerBuilder {
        WorkerBuilder::default()
    }

    /// Queues `f` at priority 0.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Worker::new().submit(|| "hi").join(), Ok("hi"));
    /// ```
    pub fn submit<T, F>(&self, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.submit_with_priority(0, f)
    }

    /// Queues `f` with a priority (higher first, FIFO among equals).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Worker::new().submit_with_priority(2, || 1).priority(), 2);
    /// ```
    pub fn submit_with_priority<T, F>(&self, priority: i32, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        launch::launch(Spec::new(priority), self.target(), f)
    }

    /// Runs `f` on the worker at priority 0 without a handle; see
    /// [`Pool::execute`](crate::Pool::execute).
    ///
    /// # Errors
    ///
    /// [`SubmitError::Shutdown`](crate::SubmitError::Shutdown) after
    /// `stop` or `join`, handing the closure back.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let worker = pymt::Worker::new();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// worker.execute(move || tx.send("ran").unwrap()).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok("ran"));
    /// ```
    pub fn execute<F>(&self, f: F) -> Result<(), crate::SubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        crate::pool::execute_on(&self.executor, f)
    }

    pub(crate) fn target(&self) -> Target<'_> {
        Target::Executor(&self.executor)
    }

    /// Returns at once: the running task finishes, queued ones are
    /// cancelled, and the thread exits.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let w = pymt::Worker::new();
    /// w.stop();
    /// assert!(!w.is_alive());
    /// assert_eq!(w.submit(|| 1).join(), Err(pymt::TaskError::Rejected));
    /// ```
    pub fn stop(&self) {
        self.executor
            .shutdown(Duration::ZERO, RunningTasks::LetFinish);
    }

    /// Finishes everything queued, then the thread exits; false if that
    /// took longer than `timeout` (what was still queued is cancelled).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let w = pymt::Worker::new();
    /// let t = w.submit(|| 1);
    /// assert!(w.join(Duration::from_secs(10)));
    /// assert_eq!(t.join(), Ok(1));
    /// ```
    pub fn join(&self, timeout: Duration) -> bool {
        self.executor.join(timeout)
    }

    /// True while the worker accepts work and its thread runs.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::Worker::new().is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        self.executor.lifecycle() == Lifecycle::Open && self.executor.has_workers()
    }

    /// Not yet stopped or joined: one atomic load, for per-call checks.
    #[inline]
    pub(crate) fn accepts_work(&self) -> bool {
        !self.executor.is_closed()
    }

    /// The name given to the builder, if any.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Worker::new().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl Default for Worker {
    fn default() -> Self {
        Worker::new()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.executor.detach();
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("alive", &self.is_alive())
            .finish()
    }
}
