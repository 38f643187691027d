//! Helpers shared by the integration tests: bounded waits, gates, watchdogs.
//!
//! Every helper that blocks is bounded by [`LONG`], so a runtime bug fails
//! the test instead of hanging it.
#![allow(dead_code)]

use pymt_core as pymt;

mod support;
pub(crate) use support::*;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// A pool of exactly `workers` workers, started up front.
pub(crate) fn fixed_pool(workers: usize) -> pymt::Pool {
    pymt::Pool::builder()
        .min_workers(workers)
        .max_workers(workers)
        .build()
        .unwrap()
}

/// Joins a task, failing the test if it does not end within [`LONG`].
#[track_caller]
pub(crate) fn join<T>(task: pymt::Task<T>) -> Result<T, pymt::TaskError> {
    assert!(
        task.wait_timeout(LONG),
        "task {task} did not end within {LONG:?}"
    );
    task.join()
}

/// Polls `condition` until it holds, failing the test after [`LONG`]. For
/// states that no event announces (worker counts after reaping, ...).
#[track_caller]
pub(crate) fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    wait_for_at_most(what, LONG, &mut condition);
}

/// As [`wait_for`], with an explicit bound.
#[track_caller]
pub(crate) fn wait_for_at_most(what: &str, bound: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + bound;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {bound:?} waiting for {what}"
        );
        thread::sleep(ms(2));
    }
}

/// A one-shot gate: tasks block in [`Gate::wait`] until [`Gate::open`].
/// Waiting is bounded by [`LONG`]; `wait` returns false if the gate never
/// opened.
#[derive(Clone, Default)]
pub(crate) struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub(crate) fn new() -> Self {
        Gate::default()
    }

    pub(crate) fn open(&self) {
        let (open, cond) = &*self.0;
        *open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cond.notify_all();
    }

    pub(crate) fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until opened (true) or [`LONG`] passes (false).
    pub(crate) fn wait(&self) -> bool {
        let (open, cond) = &*self.0;
        let guard = open.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = cond
            .wait_timeout_while(guard, LONG, |open| !*open)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// Opens the gate when dropped, so a failing assertion does not leave
/// tasks blocked for [`LONG`].
pub(crate) struct OpenOnDrop(pub(crate) Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// "started" notifications from tasks to the test thread.
pub(crate) struct Started {
    tx: Sender<()>,
    rx: Receiver<()>,
}

impl Started {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Started { tx, rx }
    }

    pub(crate) fn sender(&self) -> Sender<()> {
        self.tx.clone()
    }

    /// Waits for `n` notifications, failing the test after [`LONG`].
    #[track_caller]
    pub(crate) fn wait(&self, n: usize) {
        for i in 0..n {
            assert!(
                self.rx.recv_timeout(LONG).is_ok(),
                "only {i} of {n} tasks started within {LONG:?}"
            );
        }
    }

    /// True if no notification arrives within `timeout`.
    pub(crate) fn none_within(&self, timeout: Duration) -> bool {
        self.rx.recv_timeout(timeout).is_err()
    }
}

/// Occupies one worker of `pool` with a task that blocks until the returned
/// gate opens; returns once that task is running. The task returns whether
/// the gate opened in time.
#[track_caller]
pub(crate) fn occupy(pool: &pymt::Pool) -> (Gate, pymt::Task<bool>) {
    let gate = Gate::new();
    let started = Started::new();
    let (g, tx) = (gate.clone(), started.sender());
    let task = pool.submit(move || {
        tx.send(()).unwrap();
        g.wait()
    });
    started.wait(1);
    (gate, task)
}

/// As [`occupy`], for a dedicated worker.
#[track_caller]
pub(crate) fn occupy_worker(worker: &pymt::Worker) -> (Gate, pymt::Task<bool>) {
    let gate = Gate::new();
    let started = Started::new();
    let (g, tx) = (gate.clone(), started.sender());
    let task = worker.submit(move || {
        tx.send(()).unwrap();
        g.wait()
    });
    started.wait(1);
    (gate, task)
}

/// A shared, ordered log of events (execution order and the like).
#[derive(Clone, Default)]
pub(crate) struct Record<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Record<T> {
    pub(crate) fn new() -> Self {
        Record(Arc::new(Mutex::new(Vec::new())))
    }

    pub(crate) fn push(&self, value: T) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(value);
    }

    pub(crate) fn get(&self) -> Vec<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The kernel id of the calling thread (Linux), so another thread can see
/// when this one blocks.
pub(crate) fn os_thread_id() -> Option<u32> {
    std::fs::read_link("/proc/thread-self")
        .ok()?
        .file_name()?
        .to_str()?
        .parse()
        .ok()
}

/// Waits until the thread `tid` (from [`os_thread_id`]) is asleep in the
/// kernel, i.e. blocked in the call it was about to make. Used where the
/// runtime offers no event for "this thread is now waiting" (a thread queued
/// in a limiter, a submission blocked by `drain`). Without `/proc`, falls
/// back to giving the thread a moment.
#[track_caller]
pub(crate) fn wait_until_blocked(tid: Option<u32>) {
    let Some(tid) = tid else {
        thread::sleep(ms(200));
        return;
    };
    let path = format!("/proc/self/task/{tid}/stat");
    wait_for("a thread to block", || {
        match std::fs::read_to_string(&path) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('S')),
            // The thread already exited: it is not going to block.
            Err(_) => true,
        }
    });
}

/// Starts a thread that reports its kernel id, then runs `f`; returns once
/// that thread is blocked (see [`wait_until_blocked`]).
#[track_caller]
pub(crate) fn spawn_blocked<R, F>(name: &str, f: F) -> thread::JoinHandle<R>
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            tx.send(os_thread_id()).unwrap();
            f()
        })
        .expect("spawn a test thread");
    let tid = rx.recv_timeout(LONG).expect("the thread started");
    wait_until_blocked(tid);
    handle
}

/// Joins a std thread, failing the test if it does not finish within
/// [`LONG`].
#[track_caller]
pub(crate) fn join_thread<R: Send + 'static>(handle: thread::JoinHandle<R>) -> R {
    let deadline = Instant::now() + LONG;
    while !handle.is_finished() {
        assert!(Instant::now() < deadline, "a test thread did not finish");
        thread::sleep(ms(2));
    }
    match handle.join() {
        Ok(value) => value,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Minimal executor for `impl Future for Task`: polls on this thread,
/// parking between wake-ups; fails the test after [`LONG`].
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    let deadline = Instant::now() + LONG;
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        let now = Instant::now();
        assert!(now < deadline, "future not ready within {LONG:?}");
        thread::park_timeout(deadline - now);
    }
}

/// How many threads of this process have a name starting with `prefix`
/// (Linux; `None` elsewhere). Kernel thread names are cut at 15 bytes.
pub(crate) fn live_threads(prefix: &str) -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_to_string(entry.path().join("comm")).ok())
            .filter(|comm| comm.trim_end_matches('\n').starts_with(prefix))
            .count(),
    )
}

/// Waits until exactly `n` threads named `<prefix>...` are alive (no-op
/// without `/proc`).
#[track_caller]
pub(crate) fn wait_for_threads(prefix: &str, n: usize) {
    if live_threads(prefix).is_none() {
        return;
    }
    wait_for(&format!("{n} threads named {prefix}*"), || {
        live_threads(prefix) == Some(n)
    });
}
