//! `TaskSet`: a collection of tasks joined in completion order.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::signal::Signal;
use crate::error::TaskError;
use crate::sync::Instant;
use crate::task::Task;

/// Tasks joined in completion order (like tokio's `JoinSet` or threadpool's
/// `poll()`).
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let mut set = pymt::TaskSet::new();
/// for i in 0..3 {
///     set.push(pool.submit(move || i * 10));
/// }
/// let mut results: Vec<i32> = set.join_all().into_iter().map(Result::unwrap).collect();
/// results.sort();
/// assert_eq!(results, [0, 10, 20]);
/// ```
pub struct TaskSet<T> {
    slots: Vec<Option<Task<T>>>,
    free: Vec<usize>,
    signal: Arc<Signal>,
    len: usize,
}

impl<T> TaskSet<T> {
    /// An empty set.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let set: pymt::TaskSet<()> = pymt::TaskSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        TaskSet {
            slots: Vec::new(),
            free: Vec::new(),
            signal: Arc::new(Signal::default()),
            len: 0,
        }
    }

    /// Adds a task.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let mut set = pymt::TaskSet::new();
    /// set.push(pymt::spawn(|| 1));
    /// assert_eq!(set.len(), 1);
    /// ```
    pub fn push(&mut self, task: Task<T>) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        task.notify_on_done(&self.signal, index);
        self.slots[index] = Some(task);
        self.len += 1;
    }

    /// Tasks in the set (not yet joined).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::TaskSet::<u8>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the set holds no task.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::TaskSet::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn take(&mut self, index: usize) -> Result<T, TaskError> {
        self.len -= 1;
        self.free.push(index);
        match self.slots[index].take() {
            Some(task) => task.join(),
            None => unreachable!("each index is notified once per task"),
        }
    }

    /// Blocks for the next task to end and returns its outcome; `None` when
    /// the set is empty.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let mut set = pymt::TaskSet::new();
    /// set.push(pymt::spawn(|| 7));
    /// assert_eq!(set.join_next(), Some(Ok(7)));
    /// assert_eq!(set.join_next(), None);
    /// ```
    pub fn join_next(&mut self) -> Option<Result<T, TaskError>> {
        self.join_next_until(None)
    }

    /// As [`join_next`](Self::join_next), giving up after `timeout`
    /// (`Some(Err(TaskError::Timeout))`; the tasks stay in the set).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let mut set = pymt::TaskSet::new();
    /// set.push(pymt::spawn(|| 7));
    /// assert_eq!(set.join_next_timeout(Duration::from_secs(10)), Some(Ok(7)));
    /// ```
    pub fn join_next_timeout(&mut self, timeout: Duration) -> Option<Result<T, TaskError>> {
        self.join_next_until(crate::deadline::after(timeout))
    }

    fn join_next_until(&mut self, deadline: Option<Instant>) -> Option<Result<T, TaskError>> {
        if self.is_empty() {
            return None;
        }
        loop {
            if let Some(index) = self.signal.try_next() {
                return Some(self.take(index));
            }
            if deadline.is_none() && self.slots.iter().flatten().any(Task::help) {
                continue;
            }
            return match super::next_completion(&self.signal, self.slots.iter().flatten(), deadline)
            {
                Some(index) => Some(self.take(index)),
                None => Some(Err(TaskError::Timeout)),
            };
        }
    }

    /// Polls for the next task to end (the building block of
    /// [`join_next_async`](Self::join_next_async)); `Ready(None)` when empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, TaskError>>> {
        if self.is_empty() {
            return Poll::Ready(None);
        }
        match self.signal.poll_next(cx) {
            Poll::Ready(index) => Poll::Ready(Some(self.take(index))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits, without blocking the thread, for the next task to end: for
    /// async code. `None` when the set is empty. Cancel-safe: dropping the
    /// future loses no outcome.
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
    /// let mut set: pymt::TaskSet<u32> = (1..=3).map(|i| pymt::spawn(move || i)).collect();
    /// let total = block_on(async {
    ///     let mut total = 0;
    ///     while let Some(result) = set.join_next_async().await {
    ///         total += result.unwrap();
    ///     }
    ///     total
    /// });
    /// assert_eq!(total, 6);
    /// ```
    pub async fn join_next_async(&mut self) -> Option<Result<T, TaskError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The outcome of a task that already ended, without blocking; `None`
    /// when nothing has finished.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let mut set = pymt::TaskSet::new();
    /// let t = pymt::spawn(|| 1);
    /// t.wait();
    /// set.push(t);
    /// assert_eq!(set.try_join_next(), Some(Ok(1)));
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, TaskError>> {
        let index = self.signal.try_next()?;
        Some(self.take(index))
    }

    /// Joins every task, in completion order.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let set: pymt::TaskSet<i32> = (0..3).map(|i| pymt::spawn(move || i)).collect();
    /// assert_eq!(set.join_all().len(), 3);
    /// ```
    pub fn join_all(mut self) -> Vec<Result<T, TaskError>> {
        std::iter::from_fn(|| self.join_next()).collect()
    }

    /// Joins every task that ends within `timeout`, in completion order; the
    /// ones still unfinished at the deadline stay in the set (like Python's
    /// `wait(fs, timeout)`, whose `not_done` they are). A task's own failure
    /// is one of the results; running out of time is not an error, only a
    /// shorter vector.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let mut set = pymt::TaskSet::new();
    /// let quick = pymt::spawn(|| 1);
    /// quick.wait();
    /// set.push(quick);
    /// set.push(pymt::spawn(move || gate.recv().map_or(0, |()| 2)));
    /// let first = set.join_all_timeout(Duration::from_millis(50));
    /// assert_eq!(first, vec![Ok(1)]);
    /// assert_eq!(set.len(), 1);
    /// release.send(()).unwrap();
    /// assert_eq!(set.join_all_timeout(Duration::from_secs(10)), vec![Ok(2)]);
    /// ```
    pub fn join_all_timeout(&mut self, timeout: Duration) -> Vec<Result<T, TaskError>> {
        let deadline = crate::deadline::after(timeout);
        let mut done = Vec::new();
        while !self.is_empty() {
            if let Some(index) = self.signal.try_next() {
                done.push(self.take(index));
                continue;
            }
            if deadline.is_none() && self.slots.iter().flatten().any(Task::help) {
                continue;
            }
            match super::next_completion(&self.signal, self.slots.iter().flatten(), deadline) {
                Some(index) => done.push(self.take(index)),
                None => break,
            }
        }
        done
    }

    /// Cancels every pending task; they stay in the set and come out as
    /// `Err(Cancelled)`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let mut set = pymt::TaskSet::new();
    /// set.push(pymt::spawn(|| 1));
    /// set.cancel_all();
    /// assert_eq!(set.len(), 1);
    /// let _ = set.join_next(); // Ok(1) or Err(Cancelled), depending on timing
    /// ```
    pub fn cancel_all(&mut self) {
        for task in self.slots.iter().flatten() {
            task.cancel();
        }
    }
}

impl<T> Default for TaskSet<T> {
    fn default() -> Self {
        TaskSet::new()
    }
}

impl<T> Extend<Task<T>> for TaskSet<T> {
    fn extend<I: IntoIterator<Item = Task<T>>>(&mut self, tasks: I) {
        for task in tasks {
            self.push(task);
        }
    }
}

impl<T> FromIterator<Task<T>> for TaskSet<T> {
    fn from_iter<I: IntoIterator<Item = Task<T>>>(tasks: I) -> Self {
        let mut set = TaskSet::new();
        set.extend(tasks);
        set
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len).finish()
    }
}
