//! `Task<T>`: the public handle to one unit of work.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::cell::{Run, TaskCell};
use super::header::Header;
use super::listener::Listener;
use super::state::{TaskId, TaskState};
use super::task_ref::TaskRef;
use crate::error::TaskError;
use crate::executor::Executor;
use crate::sync::Instant;
use crate::wait::signal::Signal;

/// A cheap, cloneable handle to one unit of work running elsewhere.
///
/// Dropping a handle detaches it: the task still runs. Blocking methods come
/// as `wait` / `wait_timeout`, `join`, `result` / `result_timeout` /
/// `try_result`; a `Task` is also a [`Future`].
///
/// Waiting never deadlocks a pool. When a task running on a pool's worker
/// waits without a timeout on a task still queued in that same pool, it
/// runs that task itself instead of sleeping. A timed wait never runs
/// anything inline (it returns by its deadline): while it waits, the pool
/// may start one worker beyond `max_workers` to run the awaited task.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let task = pool.submit(|| 6 * 7);
/// assert_eq!(task.join(), Ok(42));
/// ```
#[must_use = "a Task detaches when dropped; join it or keep it to read the result"]
pub struct Task<T> {
    cell: Arc<dyn TaskCell<T>>,
}

impl<T> Task<T> {
    pub(crate) fn from_cell(cell: Arc<dyn TaskCell<T>>) -> Self {
        Task { cell }
    }

    /// The task's unique id.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| ());
    /// assert_eq!(t.id(), t.clone().id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.cell.header().id
    }

    /// The name given at submission, if any.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::TaskBuilder::new().name("fetch").spawn(|| ());
    /// assert_eq!(t.name(), Some("fetch"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.cell.name()
    }

    /// The priority given at submission (higher runs first; default 0).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// assert_eq!(pool.submit_with_priority(-3, || ()).priority(), -3);
    /// ```
    pub fn priority(&self) -> i32 {
        self.cell.header().priority
    }

    /// Where the task is in its life, without blocking.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// assert_eq!(t.state(), pymt::TaskState::Succeeded);
    /// ```
    pub fn state(&self) -> TaskState {
        self.cell.header().state.public()
    }

    /// True once the task ended in any final state.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// assert!(t.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.cell.header().state.is_final()
    }

    /// True while the body runs.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// assert!(!t.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.cell.header().state.is_running()
    }

    /// True if the task was cancelled before it ran.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// assert!(!t.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.state() == TaskState::Cancelled
    }

    /// Blocks until the task ends.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// assert!(t.is_done());
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Blocks until the task ends or `timeout` passes; true if it ended.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let t = pymt::spawn(|| 1);
    /// assert!(t.wait_timeout(Duration::from_secs(10)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(crate::deadline::after(timeout))
    }

    /// Helping inline is for untimed waits only: an inline run cannot be
    /// cut short, so a timed wait that helped could overrun its timeout (or
    /// deadlock, running a task that needs what the waiter holds). A timed
    /// wait lets the pool start a worker for the task instead.
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let completion = self.cell.completion();
        if deadline.is_none() {
            self.help();
            return completion.wait(None);
        }
        if completion.wait(Some(Instant::now())) {
            return true;
        }
        match pending_here(self.cell.header()) {
            Some(executor) => executor.while_blocked(|| completion.wait(deadline)),
            None => completion.wait(deadline),
        }
    }

    /// Blocks, then moves the value out.
    ///
    /// Afterwards `join`, `result` or `.await` on any clone gives
    /// [`TaskError::Taken`]; a failure stays readable by every clone.
    ///
    /// # Errors
    ///
    /// The task's failure: `Panicked`, `Cancelled`, `Rejected`, or `Taken`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| String::from("hi"));
    /// let other = t.clone();
    /// assert_eq!(t.join().unwrap(), "hi");
    /// assert_eq!(other.join(), Err(pymt::TaskError::Taken));
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        self.wait();
        self.take_final()
    }

    fn take_final(&self) -> Result<T, TaskError> {
        self.cell
            .completion()
            .take()
            .unwrap_or(Err(TaskError::Timeout))
    }

    /// Blocks until done; the failure, if any.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| -> () { panic!("no") });
    /// assert!(t.error().unwrap().is_panic());
    /// ```
    pub fn error(&self) -> Option<TaskError> {
        self.wait();
        self.cell
            .completion()
            .read(None, |result| match result {
                // `Taken` means another handle moved a value out: no failure.
                Ok(_) | Err(TaskError::Taken) => None,
                Err(error) => Some(error.clone()),
            })
            .flatten()
    }

    /// Cancels a pending task: it becomes `Cancelled` and never runs. False
    /// once it is running or done.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    /// let gate = pymt::Limiter::new(1);
    /// let held = gate.acquire();
    /// let g = gate.clone();
    /// let blocker = pool.submit(move || drop(g.acquire()));
    /// let queued = pool.submit(|| 1);
    /// assert!(queued.cancel());
    /// drop(held);
    /// assert_eq!(queued.join(), Err(pymt::TaskError::Cancelled));
    /// assert!(blocker.wait_timeout(Duration::from_secs(10)));
    /// ```
    pub fn cancel(&self) -> bool {
        let header = self.cell.header();
        let Some(claimed) = header.state.try_claim_pending() else {
            return false;
        };
        if let Some(executor) = &header.executor {
            executor.cancelled(claimed);
        }
        self.cell.abort_claimed(TaskError::Cancelled);
        true
    }

    /// Asks the task to stop: cancels it if pending; a running body sees
    /// [`stop_requested()`](crate::stop_requested) return true.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let (started, rx) = std::sync::mpsc::channel();
    /// let t = pymt::spawn(move || {
    ///     started.send(()).unwrap();
    ///     while !pymt::stop_requested() { std::thread::yield_now() }
    /// });
    /// rx.recv().unwrap(); // running now: the stop is cooperative
    /// t.request_stop();
    /// assert!(t.join().is_ok());
    /// ```
    pub fn request_stop(&self) {
        self.cell.header().request_stop();
        self.cancel();
    }

    /// Runs `f` once with the outcome: on the thread that finishes the task,
    /// or right away on this thread if it already ended. A panic in `f` is
    /// caught and logged; it never hurts the task or the pool.
    ///
    /// `f` must not wait on this same task (it is handed the result instead);
    /// doing so panics inside `f`, which is contained. It may register more
    /// callbacks on it; they run after `f`, on the same thread.
    ///
    /// On a task that already ended, `f` runs without the task's lock, but
    /// borrowing its value (`T` need not be `Sync`): meanwhile, readers on
    /// other threads that need the value (`join`, `result`, `error`,
    /// `.await`) wait for `f` to return, and [`try_result`](Self::try_result)
    /// returns `None`; a callback another thread registers meanwhile runs
    /// right after `f`, on `f`'s thread, and its `on_done` returns at once.
    /// So `f` must not wait for a thread that reads this task's value;
    /// everything else (`state`, `is_done`, `cancel`, other callbacks,
    /// dropping handles) goes on unhindered.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let t = pymt::spawn(|| 5);
    /// t.on_done(move |r| tx.send(*r.as_ref().unwrap()).unwrap());
    /// assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)), Ok(5));
    /// ```
    #[track_caller]
    pub fn on_done<F>(&self, f: F)
    where
        F: FnOnce(&Result<T, TaskError>) + Send + 'static,
    {
        self.cell
            .completion()
            .listen(Listener::Callback(Box::new(f)));
    }

    pub(crate) fn listen(&self, listener: Listener<T>) {
        self.cell.completion().listen(listener);
    }

    pub(crate) fn notify_on_done(&self, signal: &Arc<Signal>, index: usize) {
        self.listen(Listener::Signal(Arc::clone(signal), index));
    }

    pub(crate) fn stop_notifying(&self, signal: &Arc<Signal>) {
        self.cell.completion().unlisten(signal);
    }

    /// The queue-side view of this task.
    pub(crate) fn as_run(&self) -> Arc<dyn Run> {
        Arc::clone(&self.cell).into_run()
    }

    /// The executor to compensate for during a timed wait (see
    /// [`pending_here`]).
    pub(crate) fn pending_here(&self) -> Option<&Arc<Executor>> {
        pending_here(self.cell.header())
    }

    pub(crate) fn is_panicked(&self) -> bool {
        self.state() == TaskState::Panicked
    }

    /// If this thread is a worker of the pool holding this still-queued
    /// task, runs it here (so waiting never deadlocks the pool).
    pub(crate) fn help(&self) -> bool {
        help(&*self.cell, || {
            TaskRef::new(Arc::clone(&self.cell).into_run())
        })
    }
}

impl<T: Clone> Task<T> {
    /// Blocks, then clones the value.
    ///
    /// # Errors
    ///
    /// The task's failure (`Panicked`, `Cancelled`, `Rejected`, `Taken`).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 3);
    /// assert_eq!(t.result(), Ok(3));
    /// assert_eq!(t.result(), Ok(3));
    /// ```
    pub fn result(&self) -> Result<T, TaskError> {
        self.wait();
        self.read_final(None)
    }

    /// As [`result`](Self::result), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// `TaskError::Timeout` if the task did not end in time, else its failure.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let t = pymt::spawn(|| 3);
    /// assert_eq!(t.result_timeout(Duration::from_secs(10)), Ok(3));
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<T, TaskError> {
        let deadline = crate::deadline::after(timeout);
        if self.wait_until(deadline) {
            self.read_final(deadline)
        } else {
            Err(TaskError::Timeout)
        }
    }

    /// The outcome if the task ended, without blocking.
    ///
    /// `None` until the task ended, and also for the moment an
    /// [`on_done`](Self::on_done) callback registered after the end runs on
    /// another thread: the callback borrows the value (`T` need not be
    /// `Sync`), and this never waits for it.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 3);
    /// t.wait();
    /// assert_eq!(t.try_result(), Some(Ok(3)));
    /// ```
    pub fn try_result(&self) -> Option<Result<T, TaskError>> {
        if !self.is_done() {
            return None;
        }
        self.cell
            .completion()
            .read(Some(Instant::now()), |outcome| {
                outcome.cloned().map_err(Clone::clone)
            })
    }

    fn read_final(&self, deadline: Option<Instant>) -> Result<T, TaskError> {
        self.cell
            .completion()
            .read(deadline, |outcome| outcome.cloned().map_err(Clone::clone))
            .unwrap_or(Err(TaskError::Timeout))
    }
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        self.cell.header().add_handle();
        Task {
            cell: Arc::clone(&self.cell),
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if self.cell.header().drop_handle() {
            self.cell.completion().last_handle_dropped();
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("priority", &self.priority())
            .field("state", &self.state())
            .finish()
    }
}

impl<T> fmt::Display for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} '{name}'", self.id()),
            None => write!(f, "{}", self.id()),
        }
    }
}

/// Awaiting a task moves its value out, like [`Task::join`]. Dropping the
/// future only drops this handle: the task keeps running.
///
/// ```
/// # use pymt_core as pymt;
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct W(std::thread::Thread);
/// #     impl Wake for W { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(std::sync::Arc::new(W(std::thread::current())));
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) { return v; }
/// #         std::thread::park();
/// #     }
/// # }
/// let value = block_on(async { pymt::spawn(|| 21 * 2).await });
/// assert_eq!(value, Ok(42));
/// ```
impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.cell.completion().poll_take(cx.waker()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

/// The executor this thread works for, if the task with `header` belongs
/// to it and has not ended: a timed wait on it makes this worker
/// unavailable, and compensates (see `Executor::while_blocked`). Queued or
/// running makes no difference: a running task may itself be waiting on
/// one still queued.
pub(crate) fn pending_here(header: &Header) -> Option<&Arc<Executor>> {
    header
        .executor
        .as_ref()
        .filter(|executor| !header.state.is_final() && executor.is_current_worker())
}

/// If this thread is a worker of the executor holding the still-queued
/// task `run`, runs it here; `task_ref` makes the owned reference the run
/// needs, only once that is likely to succeed.
pub(crate) fn help(run: &dyn Run, task_ref: impl FnOnce() -> TaskRef) -> bool {
    let header = run.header();
    match &header.executor {
        Some(executor) if header.state.is_queued() && executor.is_current_worker() => {
            executor.run_inline(task_ref())
        }
        _ => false,
    }
}
