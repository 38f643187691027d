//! Waiting on many tasks: `wait`, `as_completed`, `TaskSet`.
//!
//! Every form registers one shared [`Signal`](signal::Signal) on each task;
//! finishing tasks push their index, so waiting is woken by completions
//! (no polling). A worker waiting here without a timeout first runs,
//! inline, tasks still queued in its own pool; a timed wait never does (it
//! returns by its deadline).

pub(crate) mod signal;
mod task_set;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use self::signal::Signal;
use crate::error::TaskError;
use crate::sync::Instant;
use crate::task::Task;

pub use self::task_set::TaskSet;

/// When [`wait`] returns (`concurrent.futures` semantics).
///
/// ```
/// # use pymt_core as pymt;
/// assert_ne!(pymt::ReturnWhen::FirstCompleted, pymt::ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task ends.
    FirstCompleted,
    /// As soon as any task panics, or when all have ended. Cancellations
    /// are not exceptions.
    FirstException,
    /// When every task has ended.
    AllCompleted,
}

/// Waits on `tasks` until `when` is met or `timeout` passes; returns
/// `(done, pending)` (clones of the handles, each in input order).
/// Waiting on no task returns at once in every mode.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// # use std::time::Duration;
/// let pool = pymt::Pool::new();
/// let tasks = vec![pool.submit(|| 1), pool.submit(|| 2)];
/// let (done, pending) = pymt::wait(&tasks, pymt::ReturnWhen::AllCompleted, Duration::from_secs(10));
/// assert_eq!((done.len(), pending.len()), (2, 0));
/// ```
pub fn wait<T>(
    tasks: &[Task<T>],
    when: ReturnWhen,
    timeout: Duration,
) -> (Vec<Task<T>>, Vec<Task<T>>) {
    let deadline = crate::deadline::after(timeout);
    let signal = Arc::new(Signal::default());
    for (index, task) in tasks.iter().enumerate() {
        task.notify_on_done(&signal, index);
    }
    let mut ended = 0;
    let mut panicked = false;
    loop {
        while let Some(index) = signal.try_next() {
            ended += 1;
            panicked |= ended_panicked(&tasks[index]);
        }
        let satisfied = match when {
            ReturnWhen::AllCompleted => ended == tasks.len(),
            ReturnWhen::FirstCompleted => ended > 0 || tasks.is_empty(),
            ReturnWhen::FirstException => ended == tasks.len() || panicked,
        };
        if satisfied {
            break;
        }
        if deadline.is_none() && help_one(tasks) {
            continue;
        }
        match next_completion(&signal, tasks.iter(), deadline) {
            Some(index) => {
                ended += 1;
                panicked |= ended_panicked(&tasks[index]);
            }
            None => break,
        }
    }
    for task in tasks {
        task.stop_notifying(&signal);
    }
    tasks.iter().cloned().partition(Task::is_done)
}

/// The next index `signal` yields by `deadline`. A timed wait on a worker
/// never runs tasks inline: if one of `tasks` is pending in this worker's
/// pool, the pool may start a worker for it meanwhile.
pub(crate) fn next_completion<'a, T: 'a>(
    signal: &Signal,
    mut tasks: impl Iterator<Item = &'a Task<T>>,
    deadline: Option<Instant>,
) -> Option<usize> {
    if deadline.is_some() {
        if let Some(executor) = tasks.find_map(Task::pending_here) {
            return executor.while_blocked(|| signal.next(deadline));
        }
    }
    signal.next(deadline)
}

/// Whether a task whose end was signalled panicked. The signal comes just
/// before the result is published, so wait for it (a moment at most).
fn ended_panicked<T>(task: &Task<T>) -> bool {
    task.wait();
    task.is_panicked()
}

/// Runs one task of `tasks` inline if this thread is a worker of the pool
/// where it is still queued.
fn help_one<T>(tasks: &[Task<T>]) -> bool {
    tasks.iter().any(Task::help)
}

/// Yields `tasks` in completion order (those already finished first),
/// blocking between completions; same as [`Pool::as_completed`](crate::Pool::as_completed).
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let tasks = vec![pymt::spawn(|| 1), pymt::spawn(|| 2)];
/// let total: i32 = pymt::as_completed(tasks).map(|t| t.join().unwrap()).sum();
/// assert_eq!(total, 3);
/// ```
pub fn as_completed<T>(tasks: Vec<Task<T>>) -> AsCompleted<T> {
    AsCompleted::new(tasks)
}

/// Iterator returned by [`as_completed`] and [`Pool::as_completed`](crate::Pool::as_completed):
/// tasks in completion order, each already final when yielded.
///
/// ```
/// # use pymt_core as pymt;
/// let tasks = vec![pymt::spawn(|| 1), pymt::spawn(|| 2)];
/// let mut it = pymt::as_completed(tasks);
/// assert_eq!(it.len(), 2);
/// let first = it.next().unwrap();
/// assert!(first.is_done());
/// assert_eq!(it.len(), 1);
/// ```
pub struct AsCompleted<T> {
    tasks: Vec<Option<Task<T>>>,
    signal: Arc<Signal>,
    remaining: usize,
}

impl<T> AsCompleted<T> {
    pub(crate) fn new(tasks: Vec<Task<T>>) -> Self {
        let signal = Arc::new(Signal::default());
        for (index, task) in tasks.iter().enumerate() {
            task.notify_on_done(&signal, index);
        }
        AsCompleted {
            remaining: tasks.len(),
            tasks: tasks.into_iter().map(Some).collect(),
            signal,
        }
    }
}

impl<T> AsCompleted<T> {
    /// The next task to end, waiting at most `timeout`: `None` once every
    /// task was yielded, `Some(Err(TaskError::Timeout))` if none ended in
    /// time (the tasks stay in the iterator), as
    /// [`TaskSet::join_next_timeout`] does. A timed wait never runs a task
    /// inline.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let slow = pymt::spawn(move || rx.recv_timeout(Duration::from_secs(10)).is_ok());
    /// let mut it = pymt::as_completed(vec![slow]);
    /// assert!(matches!(it.next_timeout(Duration::from_millis(10)), Some(Err(pymt::TaskError::Timeout))));
    /// tx.send(()).unwrap();
    /// let done = it.next_timeout(Duration::from_secs(10)).unwrap().unwrap();
    /// assert_eq!(done.join(), Ok(true));
    /// assert!(it.next_timeout(Duration::from_secs(10)).is_none());
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<Task<T>, TaskError>> {
        self.next_until(crate::deadline::after(timeout))
    }

    /// A task that already ended, without blocking; `None` when none has
    /// (or every task was yielded).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// let mut it = pymt::as_completed(vec![t]);
    /// assert_eq!(it.try_next().map(|t| t.join()), Some(Ok(1)));
    /// assert!(it.try_next().is_none());
    /// ```
    pub fn try_next(&mut self) -> Option<Task<T>> {
        self.next_until(Some(Instant::now()))?.ok()
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<Task<T>, TaskError>> {
        if self.remaining == 0 {
            return None;
        }
        let index = loop {
            if let Some(index) = self.signal.try_next() {
                break index;
            }
            if deadline.is_none() && self.tasks.iter().flatten().any(Task::help) {
                continue;
            }
            match next_completion(&self.signal, self.tasks.iter().flatten(), deadline) {
                Some(index) => break index,
                None => return Some(Err(TaskError::Timeout)),
            }
        };
        self.remaining -= 1;
        let task = self.tasks[index].take()?;
        // Signalled just before publication: yield it once it is final.
        task.wait();
        Some(Ok(task))
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Task<T>;

    fn next(&mut self) -> Option<Task<T>> {
        // Without a deadline the wait ends with a task, never a timeout.
        self.next_until(None)?.ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for AsCompleted<T> {}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        for task in self.tasks.iter().flatten() {
            task.stop_notifying(&self.signal);
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining)
            .finish()
    }
}
