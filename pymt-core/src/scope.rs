//! Scoped tasks: closures that borrow from the caller's stack, run on a
//! pool's existing workers, with handles and priorities.
//!
//! # Safety design
//!
//! A pool's queue holds `'static` trait objects, so a scoped task's cell
//! (whose closure `F` and value `T` may borrow data living for `'scope`) is
//! handed to it with its lifetime erased. That is the only `unsafe` in
//! pymt-core, and it rests on one invariant:
//!
//! > [`Pool::scope`](crate::Pool::scope) does not return (nor unwind) before
//! > every task submitted in the scope is final and its value was moved out
//! > or dropped.
//!
//! The scope keeps a handle to each of its tasks and, on the way out, waits
//! for each (running still-queued ones inline when it is a worker of the
//! same pool), then discards each value. A final task's closure is gone (run
//! or dropped at cancellation) and its value is gone (moved out by `join` or
//! dropped by the discard), so what outlives the scope — a stale queue entry
//! or a `TaskContext` — holds only the header (id, name, priority, state),
//! which borrows nothing; the claim that would touch the closure fails on a
//! final state. Handles (`ScopedTask<'scope, T>`) cannot outlive `'scope`.
//!
//! `finish` must not unwind: an unwinding scope would return while a later
//! member still runs. Everything it calls contains user panics (bodies,
//! values' and payloads' `Drop`s, see `unwind.rs`), and it runs under
//! `unwind::or_abort`, so a panic nobody foresaw aborts the process rather
//! than break the invariant, as in `std::thread::scope`.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::TaskError;
use crate::executor::Executor;
use crate::limiter::Permit;
use crate::task::cell::{Cell, Completion, Run, TaskCell};
use crate::task::header::Header;
use crate::task::launch::{self, Target};
use crate::task::state::{Start, TaskId, TaskState};
use crate::task::task_ref::TaskRef;
use crate::task::{handle, Task};
use crate::unwind;

/// Runs `f` with a scope on `target`; see [`Pool::scope`](crate::Pool::scope).
pub(crate) fn run<'env, F, R>(target: Target<'_>, f: F) -> R
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
{
    let scope = Scope {
        executor: target.executor().map(Arc::clone),
        members: Mutex::new(Vec::new()),
        scope: PhantomData,
        env: PhantomData,
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
    // Unwinding out of here would return while tasks still borrow the
    // caller's stack: abort instead, as `std::thread::scope` does.
    unwind::or_abort("Pool::scope finishing its tasks", || scope.finish());
    match outcome {
        Ok(value) => value,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// A scope in which tasks may borrow from the caller; see
/// [`Pool::scope`](crate::Pool::scope).
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let greeting = String::from("hello");
/// let n = pool.scope(|s: &pymt::Scope<'_, '_>| s.submit(|| greeting.len()).join());
/// assert_eq!(n, Ok(5));
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    /// Where the tasks run (none: a thread each).
    executor: Option<Arc<Executor>>,
    /// Every task submitted here (lifetime-erased, see the module docs).
    members: Mutex<Vec<Arc<dyn Run>>>,
    // Invariant in both lifetimes, as `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<'scope> Scope<'scope, '_> {
    /// Runs `f` on the pool at priority 0; `f` may borrow what outlives the
    /// scope.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// let words = vec!["a", "bb", "ccc"];
    /// let total = pool.scope(|s| {
    ///     let lens: Vec<_> = words.iter().map(|w| s.submit(move || w.len())).collect();
    ///     lens.into_iter().map(|t| t.join().unwrap()).sum::<usize>()
    /// });
    /// assert_eq!(total, 6);
    /// ```
    pub fn submit<F, T>(&'scope self, f: F) -> ScopedTask<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.submit_with_priority(0, f)
    }

    /// Runs `f` with a priority (higher first, FIFO among equals).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    /// let mut log = std::sync::Mutex::new(Vec::new());
    /// pool.scope(|s| {
    ///     let t = s.submit_with_priority(5, || log.lock().unwrap().push(5));
    ///     assert_eq!(t.priority(), 5);
    /// });
    /// assert_eq!(log.get_mut().unwrap().as_slice(), &[5]);
    /// ```
    pub fn submit_with_priority<F, T>(&'scope self, priority: i32, f: F) -> ScopedTask<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let header = Header::new(priority, Start::Queued, self.executor.clone());
        let cell: Arc<ScopedCell<'scope, T, F>> = Arc::new(ScopedCell {
            cell: Cell::unshared(header, (), (), f),
            scope: PhantomData,
        });
        let short: Arc<dyn TaskCell<T> + 'scope> = cell;
        // SAFETY: only the trait object's lifetime bound changes (same
        // layout). The module's invariant guarantees nothing borrowing
        // `'scope` is reached through the erased reference after the scope.
        let erased: Arc<dyn TaskCell<T> + 'static> = unsafe {
            std::mem::transmute::<Arc<dyn TaskCell<T> + 'scope>, Arc<dyn TaskCell<T> + 'static>>(
                short,
            )
        };
        let task = Task::from_cell(erased);
        let run = task.as_run();
        self.members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&run));
        launch::dispatch(TaskRef::new(run), Target::of(self.executor.as_ref()));
        ScopedTask {
            task,
            scope: PhantomData,
        }
    }

    /// Waits for every task (including ones submitted by tasks while
    /// waiting), then drops their values.
    fn finish(&self) {
        loop {
            let batch =
                std::mem::take(&mut *self.members.lock().unwrap_or_else(PoisonError::into_inner));
            if batch.is_empty() {
                return;
            }
            for member in &batch {
                if !handle::help(&**member, || TaskRef::new(Arc::clone(member))) {
                    member.wait_final();
                }
            }
            for member in &batch {
                member.discard();
            }
        }
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = self
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Scope").field("tasks", &tasks).finish()
    }
}

/// A task cell whose closure and value may borrow for `'scope`.
struct ScopedCell<'scope, T, F> {
    cell: Cell<T, F>,
    scope: PhantomData<&'scope ()>,
}

impl<T: Send, F: FnOnce() -> T + Send> Run for ScopedCell<'_, T, F> {
    fn header(&self) -> &Header {
        self.cell.header()
    }

    fn name(&self) -> Option<&str> {
        self.cell.name()
    }

    fn run_started(&self) {
        self.cell.run_started();
    }

    fn abort_claimed(&self, error: TaskError) {
        self.cell.abort_claimed(error);
    }

    fn set_permit(&self, permit: Permit) -> Option<Permit> {
        self.cell.set_permit(permit)
    }

    fn take_permit(&self) -> Option<Permit> {
        self.cell.take_permit()
    }

    fn wait_final(&self) {
        self.cell.wait_final();
    }

    fn discard(&self) {
        self.cell.discard();
    }
}

impl<'scope, T, F> TaskCell<T> for ScopedCell<'scope, T, F>
where
    T: Send + 'scope,
    F: FnOnce() -> T + Send + 'scope,
{
    fn completion(&self) -> &dyn Completion<T> {
        &self.cell
    }

    fn into_run(self: Arc<Self>) -> Arc<dyn Run> {
        let short: Arc<dyn Run + 'scope> = self;
        // SAFETY: as in `Scope::submit_with_priority`: only the lifetime
        // bound changes, and the scope outlives every use that reaches the
        // closure or the value.
        unsafe { std::mem::transmute::<Arc<dyn Run + 'scope>, Arc<dyn Run + 'static>>(short) }
    }
}

/// The handle of a task submitted in a [`Scope`]; it cannot outlive the
/// scope.
///
/// A scoped task cannot escape its scope:
///
/// ```compile_fail
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let escaped = pool.scope(|s| s.submit(|| 1));
/// ```
///
/// Two tasks cannot borrow the same data mutably:
///
/// ```compile_fail
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// let mut v = vec![1];
/// pool.scope(|s| {
///     s.submit(|| v.push(2));
///     s.submit(|| v.push(3));
/// });
/// ```
///
/// Borrowed data must outlive the scope:
///
/// ```compile_fail
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// pool.scope(|s| {
///     let local = String::from("short-lived");
///     s.submit(|| local.len());
/// });
/// ```
///
/// Dropping the handle is fine (unlike `Task`, it is not `#[must_use]`): the
/// scope waits for the task anyway, as `std::thread::scope` does.
pub struct ScopedTask<'scope, T> {
    task: Task<T>,
    scope: PhantomData<&'scope ()>,
}

impl<T> ScopedTask<'_, T> {
    /// The task's unique id.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| {
    ///     let (a, b) = (s.submit(|| ()), s.submit(|| ()));
    ///     assert_ne!(a.id(), b.id());
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// The priority it was submitted with.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| assert_eq!(s.submit_with_priority(2, || ()).priority(), 2));
    /// ```
    pub fn priority(&self) -> i32 {
        self.task.priority()
    }

    /// Where the task is in its life.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| {
    ///     let t = s.submit(|| 1);
    ///     t.wait();
    ///     assert_eq!(t.state(), pymt::TaskState::Succeeded);
    /// });
    /// ```
    pub fn state(&self) -> TaskState {
        self.task.state()
    }

    /// True once the task ended.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| {
    ///     let t = s.submit(|| 1);
    ///     t.wait();
    ///     assert!(t.is_done());
    /// });
    /// ```
    pub fn is_done(&self) -> bool {
        self.task.is_done()
    }

    /// Blocks until the task ends.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| s.submit(|| 1).wait());
    /// ```
    pub fn wait(&self) {
        self.task.wait();
    }

    /// Blocks until the task ends or `timeout` passes; true if it ended.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// pymt::Pool::new().scope(|s| assert!(s.submit(|| 1).wait_timeout(Duration::from_secs(10))));
    /// ```
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> bool {
        self.task.wait_timeout(timeout)
    }

    /// Cancels the task if it has not started.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| {
    ///     let t = s.submit(|| 1);
    ///     let _ = t.cancel(); // true only if it had not started
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }

    /// Blocks, then moves the value out.
    ///
    /// # Errors
    ///
    /// The task's failure: `Panicked`, `Cancelled`, `Rejected`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let data = [1, 2, 3];
    /// let sum = pymt::Pool::new().scope(|s| s.submit(|| data.iter().sum::<i32>()).join());
    /// assert_eq!(sum, Ok(6));
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        self.task.join()
    }
}

impl<T: Clone> ScopedTask<'_, T> {
    /// Blocks, then clones the value.
    ///
    /// # Errors
    ///
    /// The task's failure.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| assert_eq!(s.submit(|| 4).result(), Ok(4)));
    /// ```
    pub fn result(&self) -> Result<T, TaskError> {
        self.task.result()
    }

    /// As [`result`](Self::result), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout`, or the task's failure.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// pymt::Pool::new().scope(|s| {
    ///     assert_eq!(s.submit(|| 4).result_timeout(Duration::from_secs(10)), Ok(4));
    /// });
    /// ```
    pub fn result_timeout(&self, timeout: std::time::Duration) -> Result<T, TaskError> {
        self.task.result_timeout(timeout)
    }

    /// The outcome if the task ended, without blocking.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// pymt::Pool::new().scope(|s| {
    ///     let t = s.submit(|| 4);
    ///     t.wait();
    ///     assert_eq!(t.try_result(), Some(Ok(4)));
    /// });
    /// ```
    pub fn try_result(&self) -> Option<Result<T, TaskError>> {
        self.task.try_result()
    }
}

impl<T> fmt::Debug for ScopedTask<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedTask")
            .field("id", &self.id())
            .field("state", &self.state())
            .finish()
    }
}
