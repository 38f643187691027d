//! `Pool`: worker threads fed by one priority queue, and the registry of
//! named pools.

pub(crate) mod builder;
pub(crate) mod registry;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use self::builder::PoolBuilder;
use crate::error::{BuildError, SubmitError};
use crate::executor::queue::{Entry, Job};
use crate::executor::{Admission, Executor, Refusal, RunningTasks};
use crate::scope::Scope;
use crate::task::launch::{self, Spec, Target};
use crate::task::options::Options;
use crate::task::Task;
use crate::wait::AsCompleted;

/// A cloneable handle to a set of worker threads fed by one priority queue.
///
/// Higher priority runs first; equal priorities run in submission order.
/// Workers start on demand up to `max_workers` and exit after
/// `idle_timeout` (above `min_workers`). Dropping the last handle of an
/// unnamed pool lets queued work finish and the threads exit, without
/// blocking; named pools live in a process-wide registry until joined.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
/// let tasks = pool.map(|x: u64| x * x, 1..=4);
/// let squares: Vec<u64> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
#[derive(Clone)]
pub struct Pool {
    handle: Arc<Handle>,
}

/// Owned by every `Pool` clone; its drop (the last handle's) detaches.
struct Handle {
    executor: Arc<Executor>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.executor.detach();
    }
}

/// Counts describing a pool at one moment; see [`Pool::stats`].
///
/// ```
/// # use pymt_core as pymt;
/// let pool = pymt::Pool::new();
/// pool.submit(|| ()).join().unwrap();
/// let stats = pool.stats();
/// assert_eq!(stats.completed, 1);
/// assert_eq!(stats.queued, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Worker threads alive (or starting).
    pub workers: usize,
    /// Bodies running now.
    pub active: usize,
    /// Tasks waiting in the queue.
    pub queued: usize,
    /// Bodies that returned.
    pub completed: usize,
    /// Bodies that panicked.
    pub panicked: usize,
    /// Tasks cancelled before they ran.
    pub cancelled: usize,
}

impl Pool {
    /// A pool with default settings (unnamed, unregistered).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// assert_eq!(pool.submit(|| 2 + 2).join(), Ok(4));
    /// ```
    pub fn new() -> Pool {
        match PoolBuilder::new().build() {
            Ok(pool) => pool,
            Err(error) => unreachable!("default pool settings are valid: {error}"),
        }
    }

    /// A builder for a configured pool.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    /// assert_eq!(pool.max_workers(), 1);
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    pub(crate) fn start(executor: Arc<Executor>) -> Pool {
        Pool {
            handle: Arc::new(Handle { executor }),
        }
    }

    fn executor(&self) -> &Arc<Executor> {
        &self.handle.executor
    }

    pub(crate) fn same_pool(&self, other: &Pool) -> bool {
        Arc::ptr_eq(self.executor(), other.executor())
    }

    #[inline]
    pub(crate) fn target(&self) -> Target<'_> {
        Target::Executor(self.executor())
    }

    /// True once the pool stopped accepting work (joined, shut down).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::new();
    /// assert!(!pool.is_closed());
    /// pool.join(Duration::from_secs(10));
    /// assert!(pool.is_closed());
    /// ```
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.executor().is_closed()
    }

    /// Runs `f` on the pool at priority 0. Blocks while a bounded queue is
    /// full; after shutdown the task comes back already `Err(Rejected)`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// assert_eq!(pool.submit(|| "done").join(), Ok("done"));
    /// ```
    pub fn submit<T, F>(&self, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.submit_with_priority(0, f)
    }

    /// Runs `f` with a priority: higher runs first, equal ones in
    /// submission order.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// let t = pool.submit_with_priority(100, || 1);
    /// assert_eq!(t.priority(), 100);
    /// assert_eq!(t.join(), Ok(1));
    /// ```
    pub fn submit_with_priority<T, F>(&self, priority: i32, f: F) -> Task<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        launch::launch(Spec::new(priority), self.target(), f)
    }

    /// Queues `f` without ever blocking.
    ///
    /// # Errors
    ///
    /// [`SubmitError::Full`] when a bounded queue is full,
    /// [`SubmitError::Shutdown`] once the pool no longer accepts work; both
    /// hand the closure back.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// let task = pool.try_submit(|| 5).expect("unbounded queue");
    /// assert_eq!(task.join(), Ok(5));
    /// ```
    pub fn try_submit<T, F>(&self, f: F) -> Result<Task<T>, SubmitError<F>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.try_submit_with_priority(0, f)
    }

    /// [`try_submit`](Self::try_submit) with a priority.
    ///
    /// # Errors
    ///
    /// As [`try_submit`](Self::try_submit).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// assert_eq!(pool.try_submit_with_priority(3, || 5).unwrap().priority(), 3);
    /// ```
    pub fn try_submit_with_priority<T, F>(
        &self,
        priority: i32,
        f: F,
    ) -> Result<Task<T>, SubmitError<F>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.try_submit_spec(Spec::new(priority), f)
    }

    pub(crate) fn try_submit_spec<T, F, O>(
        &self,
        spec: Spec<T, O>,
        f: F,
    ) -> Result<Task<T>, SubmitError<F>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
        O: Options<T> + 'static,
    {
        launch::try_submit(spec, self.executor(), f)
    }

    /// Runs `f` on the pool at priority 0 without a handle: fire and forget,
    /// as `threadpool` and `rusty_pool` spell it. No task is created, so
    /// nothing is allocated beyond the boxed closure; use
    /// [`wait_completion`](Self::wait_completion) or [`join`](Self::join) to
    /// know when jobs are done.
    ///
    /// Inside `f`, [`stop_requested`](crate::stop_requested) reports a
    /// shutdown of the pool and [`current_task`](crate::current_task) is
    /// `None`. A panic in `f` is caught, counted in
    /// [`PoolStats::panicked`] and logged (nobody else could read it); a job
    /// still queued at shutdown is dropped and counted as cancelled. Blocks
    /// while a bounded queue is full.
    ///
    /// # Errors
    ///
    /// [`SubmitError::Shutdown`] once the pool no longer accepts work,
    /// handing the closure back.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::sync::atomic::{AtomicUsize, Ordering};
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::new();
    /// let hits = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let hits = Arc::clone(&hits);
    ///     pool.execute(move || {
    ///         hits.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .expect("pool is open");
    /// }
    /// assert!(pool.wait_completion(Duration::from_secs(10)));
    /// assert_eq!(hits.load(Ordering::Relaxed), 10);
    ///
    /// pool.join(Duration::from_secs(10));
    /// let refused = pool.execute(|| ()).unwrap_err();
    /// assert!(matches!(refused, pymt::SubmitError::Shutdown(_)));
    /// ```
    pub fn execute<F>(&self, f: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        execute_on(self.executor(), f)
    }

    /// One task per item, in input order.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// let lens: Vec<usize> = pool
    ///     .map(|s: &str| s.len(), ["a", "bb", "ccc"])
    ///     .into_iter()
    ///     .map(|t| t.join().unwrap())
    ///     .collect();
    /// assert_eq!(lens, [1, 2, 3]);
    /// ```
    pub fn map<I, R, F, It>(&self, f: F, items: It) -> Vec<Task<R>>
    where
        It: IntoIterator<Item = I>,
        I: Send + 'static,
        R: Send + 'static,
        F: Fn(I) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        items
            .into_iter()
            .map(|item| {
                let f = Arc::clone(&f);
                self.submit(move || f(item))
            })
            .collect()
    }

    /// One task per chunk of `chunk` items; `chunk == 0` spreads the items
    /// evenly: `ceil(len / max_workers)` per chunk.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    /// let chunks = pool.map_chunked(|x: u32| x + 1, vec![1, 2, 3, 4, 5], 0);
    /// assert_eq!(chunks.len(), 2);
    /// let all: Vec<u32> = chunks.into_iter().flat_map(|t| t.join().unwrap()).collect();
    /// assert_eq!(all, [2, 3, 4, 5, 6]);
    /// ```
    pub fn map_chunked<I, R, F, It>(&self, f: F, items: It, chunk: usize) -> Vec<Task<Vec<R>>>
    where
        It: IntoIterator<Item = I>,
        I: Send + 'static,
        R: Send + 'static,
        F: Fn(I) -> R + Send + Sync + 'static,
    {
        let items: Vec<I> = items.into_iter().collect();
        let chunk = if chunk == 0 {
            items.len().div_ceil(self.max_workers()).max(1)
        } else {
            chunk
        };
        let f = Arc::new(f);
        let mut tasks = Vec::with_capacity(items.len().div_ceil(chunk));
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let part: Vec<I> = items.by_ref().take(chunk).collect();
            let f = Arc::clone(&f);
            tasks.push(self.submit(move || part.into_iter().map(|item| f(item)).collect()));
        }
        tasks
    }

    /// Waits until nothing is queued or running; true if that happened
    /// within `timeout`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::new();
    /// let _t = pool.submit(|| ());
    /// assert!(pool.wait_completion(Duration::from_secs(10)));
    /// assert_eq!(pool.stats().queued, 0);
    /// ```
    pub fn wait_completion(&self, timeout: Duration) -> bool {
        self.executor().wait_completion(timeout)
    }

    /// As [`wait_completion`](Self::wait_completion), but submissions from
    /// outside the pool wait until it returns (PyMultiTasking's
    /// `block=True`). Submissions made by the pool's own tasks go through,
    /// since they are part of the work being drained.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::new();
    /// let _t = pool.submit(|| ());
    /// assert!(pool.drain(Duration::from_secs(10)));
    /// ```
    pub fn drain(&self, timeout: Duration) -> bool {
        self.executor().drain(timeout)
    }

    /// Stops accepting work, finishes queued and running tasks, stops the
    /// workers and leaves the registry. On timeout, cancels what is still
    /// queued and returns false.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::new();
    /// let t = pool.submit(|| 1);
    /// assert!(pool.join(Duration::from_secs(10)));
    /// assert_eq!(t.join(), Ok(1));
    /// assert_eq!(pool.submit(|| 2).join(), Err(pymt::TaskError::Rejected));
    /// ```
    pub fn join(&self, timeout: Duration) -> bool {
        registry::remove(self);
        self.executor().join(timeout)
    }

    /// Stops accepting work, cancels queued tasks, asks running ones to stop
    /// (they see [`stop_requested()`](crate::stop_requested)) and stops the
    /// workers; false if a running task outlived `timeout`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::new();
    /// let t = pool.submit(|| while !pymt::stop_requested() { std::thread::yield_now() });
    /// assert!(pool.shutdown(Duration::from_secs(10)));
    /// assert!(t.is_done());
    /// ```
    pub fn shutdown(&self, timeout: Duration) -> bool {
        registry::remove(self);
        self.executor().shutdown(timeout, RunningTasks::RequestStop)
    }

    /// Resizes the pool (values below 1 count as 1; `min_workers` is lowered
    /// to fit). Shrinking retires surplus idle workers at once and busy ones
    /// after their task; growing starts workers for tasks already queued.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// pool.set_max_workers(3);
    /// assert_eq!(pool.max_workers(), 3);
    /// ```
    pub fn set_max_workers(&self, max: usize) {
        self.executor().set_max_workers(max);
    }

    /// The current maximum number of workers.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Pool::builder().max_workers(5).build().unwrap().max_workers(), 5);
    /// ```
    pub fn max_workers(&self) -> usize {
        self.executor().max_workers()
    }

    /// Workers kept alive even when idle.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Pool::builder().min_workers(1).build().unwrap().min_workers(), 1);
    /// ```
    pub fn min_workers(&self) -> usize {
        self.executor().min_workers()
    }

    /// The bound of the queue, if any.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Pool::builder().queue_capacity(8).build().unwrap().queue_capacity(), Some(8));
    /// assert_eq!(pymt::Pool::new().queue_capacity(), None);
    /// ```
    pub fn queue_capacity(&self) -> Option<usize> {
        self.executor().queue_capacity()
    }

    /// The pool's name (an automatic `pymt-pool-N` if none was given).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::Pool::new().name().starts_with("pymt-pool-"));
    /// ```
    pub fn name(&self) -> &str {
        self.executor().name()
    }

    /// Counts of workers and tasks right now.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Pool::new().stats().workers, 0);
    /// ```
    pub fn stats(&self) -> PoolStats {
        let s = self.executor().snapshot();
        PoolStats {
            workers: s.workers,
            active: s.active,
            queued: s.queued,
            completed: s.completed,
            panicked: s.panicked,
            cancelled: s.cancelled,
        }
    }

    /// Yields tasks in completion order (already finished ones first),
    /// woken by each completion (no polling). Same as
    /// [`as_completed`](crate::as_completed).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::new();
    /// let tasks = pool.map(|x: u32| x, 0..3);
    /// let mut seen: Vec<u32> = pymt::Pool::as_completed(tasks).map(|t| t.join().unwrap()).collect();
    /// seen.sort();
    /// assert_eq!(seen, [0, 1, 2]);
    /// ```
    pub fn as_completed<T>(tasks: Vec<Task<T>>) -> AsCompleted<T> {
        AsCompleted::new(tasks)
    }

    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's
    /// stack (like `std::thread::scope`, but on this pool's workers, with
    /// priorities and handles). Returns only after every task submitted in
    /// the scope has ended. A panicking task does not escape: its handle
    /// holds the panic. A panic in `f` itself is re-raised after the wait.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    /// let mut numbers = vec![1, 2, 3, 4];
    /// let (left, right) = numbers.split_at_mut(2);
    /// pool.scope(|s| {
    ///     s.submit(|| left.iter_mut().for_each(|x| *x *= 10));
    ///     let panicky = s.submit(|| -> () { panic!("contained") });
    ///     s.submit(|| right.iter_mut().for_each(|x| *x += 1));
    ///     assert!(panicky.join().unwrap_err().is_panic());
    /// });
    /// assert_eq!(numbers, [10, 20, 4, 5]);
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        crate::scope::run(self.target(), f)
    }

    // ===== registry =====

    /// The registered pool `name`, created with default settings (and the
    /// `PYMT_*` variables) if absent. A bad variable is logged and ignored
    /// here; use [`Pool::builder`] to see it as an error.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let a = pymt::Pool::named("doc-named");
    /// let b = pymt::Pool::named("doc-named");
    /// assert_eq!(a.name(), b.name());
    /// assert!(a.join(Duration::from_secs(10)));
    /// ```
    pub fn named(name: &str) -> Pool {
        Pool::named_with(name, None)
    }

    /// `named`, with a maximum applied only if the pool is created here.
    pub(crate) fn named_with(name: &str, max_workers: Option<usize>) -> Pool {
        let mut ignored = None;
        let pool = registry::get_or_create(name, || {
            let (pool, error) = Pool::configured(name, max_workers);
            ignored = error;
            pool
        });
        report_ignored(name, ignored);
        pool
    }

    /// A new pool registered under `name`, or under `name#2`, `name#3`, ..
    /// when that is taken: the private pool of one `#[threaded(pool)]`
    /// function, which shares its name with no other function's (two
    /// methods `A::run` and `B::run` in one module get `module::run` and
    /// `module::run#2`, in the order of their first calls).
    pub(crate) fn private_with(name: &str, max_workers: Option<usize>) -> Pool {
        let mut ignored = None;
        let pool = registry::register_unique(name, |unique| {
            let (pool, error) = Pool::configured(unique, max_workers);
            ignored = error;
            pool
        });
        report_ignored(pool.name(), ignored);
        pool
    }

    /// An unregistered pool `name`, configured from the environment (see
    /// [`PoolBuilder::from_env`]) and `max_workers`; a bad environment is
    /// ignored, and the error returned for the caller to report once the
    /// registry's lock is released (a logger is user code).
    fn configured(name: &str, max_workers: Option<usize>) -> (Pool, Option<BuildError>) {
        let configured = |env: Env| {
            let mut builder = PoolBuilder::new();
            if env == Env::Read {
                builder = builder.from_env();
            }
            if let Some(max) = max_workers {
                builder = builder.max_workers(max);
            }
            builder.unregistered(name)
        };
        match configured(Env::Read) {
            Ok(pool) => (pool, None),
            Err(error) => match configured(Env::Ignored) {
                Ok(pool) => (pool, Some(error)),
                Err(error) => unreachable!("default pool settings are valid: {error}"),
            },
        }
    }

    /// The registered pool `name`, if any (look-up only).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::Pool::get_pool_by_name("no-such-pool").is_none());
    /// ```
    pub fn get_pool_by_name(name: &str) -> Option<Pool> {
        registry::get(name)
    }

    /// Every registered, live pool.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let p = pymt::Pool::named("doc-pools");
    /// assert!(pymt::Pool::pools().iter().any(|q| q.name() == "doc-pools"));
    /// p.join(Duration::from_secs(10));
    /// ```
    pub fn pools() -> Vec<Pool> {
        registry::all()
    }

    /// Joins every registered pool (each leaves the registry); true if all
    /// finished within `timeout`. Safe to call from several threads at once.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let t = pymt::Pool::named("doc-join-pools").submit(|| 1);
    /// assert!(pymt::Pool::join_pools(Duration::from_secs(10)));
    /// assert_eq!(t.join(), Ok(1));
    /// assert!(pymt::Pool::get_pool_by_name("doc-join-pools").is_none());
    /// ```
    pub fn join_pools(timeout: Duration) -> bool {
        let deadline = crate::deadline::after(timeout);
        let mut all_done = true;
        for pool in registry::all() {
            all_done &= pool.join(crate::deadline::left(deadline));
        }
        all_done
    }
}

/// Whether a pool made by name reads the `PYMT_*` variables.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Env {
    Read,
    /// After a bad variable was reported: the defaults instead.
    Ignored,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name())
            .field("stats", &self.stats())
            .finish()
    }
}

/// `execute` for pools and dedicated workers.
/// Reports environment settings a registered pool ignored.
fn report_ignored(name: &str, ignored: Option<BuildError>) {
    if let Some(error) = ignored {
        report_error!("pymt: pool '{name}': {error}; using default settings");
    }
}

pub(crate) fn execute_on<F>(executor: &Arc<Executor>, f: F) -> Result<(), SubmitError<F>>
where
    F: FnOnce() + Send + 'static,
{
    let entry = Entry::Job(Job::new(f));
    let (refusal, entry) = match executor.submit(0, entry, Admission::Wait) {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    let f = match entry {
        Entry::Job(job) => job.into_inner::<F>(),
        Entry::Task(_) | Entry::Wake => None,
    };
    let Some(f) = f else {
        unreachable!("a refused entry is the one submitted")
    };
    Err(match refusal {
        Refusal::Full => SubmitError::Full(f),
        Refusal::Closed => SubmitError::Shutdown(f),
    })
}
