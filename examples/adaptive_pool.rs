//! Seed 002's adaptive thread pool (`atp`), in pymt.
//!
//! - A minimum of workers is always there; the pool grows under a burst
//!   (up to `max_workers`) and idle workers above the minimum exit after
//!   `idle_timeout`.
//! - `atp.async_call(target, success=.., failure=..)`: a task with a
//!   success and a failure callback (`Task::on_done`); the failure callback
//!   gets the panic message, and a failure callback that itself panics is
//!   contained.
//! - `infinite=True` + `task.stop()`: a task that runs until asked to stop
//!   (`Task::request_stop` + `pymt::stop_requested()`).
//!
//! Run with `cargo run --example adaptive_pool`.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pymt::{Pool, PoolStats, Task, TaskError};

/// Bound of every blocking wait in this example.
const TIMEOUT: Duration = Duration::from_secs(10);

const MIN_WORKERS: usize = 2;
const MAX_WORKERS: usize = 6;

fn main() {
    // `will_fail` and `catch_fail` below panic on purpose; pymt turns each
    // panic into a value. Keep the default hook's report of them short.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));

    // ```python
    // # Initialize the global thread pool
    // atp.GlobalThreadPool(min_workers = 2, stack_size = 512)
    // # Or initialize a local thread pool
    // tp = atp.ThreadPool(min_workers = 2, stack_size = 512)
    // ```
    // A registered pool is the global one: any code can find it by name.
    // atp's stack size is in KiB, pymt's in bytes.
    let global = Pool::builder()
        .name("global")
        .min_workers(MIN_WORKERS)
        .max_workers(MAX_WORKERS)
        .idle_timeout(Duration::from_millis(100))
        .stack_size(512 * 1024)
        .build()
        .expect("valid settings");
    show(
        "after build: the minimum is already running",
        &global.stats(),
    );
    assert_eq!(global.stats().workers, MIN_WORKERS);

    grow_and_shrink(&global);
    callbacks();
    infinite_task();

    // atp's `remove_all_workers`: asks running tasks to stop, then ends.
    let tp = Pool::get_pool_by_name("global").expect("registered");
    let (started, is_started) = mpsc::channel();
    let endless = tp.submit(move || {
        started.send(()).expect("main is waiting");
        while !pymt::stop_requested() {
            thread::yield_now();
        }
        "stopped by shutdown"
    });
    is_started
        .recv_timeout(TIMEOUT)
        .expect("the endless task started");
    assert!(tp.shutdown(TIMEOUT), "the endless task stopped in time");
    println!("\n== shutdown: {:?}", endless.result());
}

/// Prints a pool's counts on one line.
fn show(when: &str, stats: &PoolStats) {
    println!(
        "{when}: workers {}, active {}, queued {}, completed {}, panicked {}",
        stats.workers, stats.active, stats.queued, stats.completed, stats.panicked
    );
}

// ===== growth under load, idle workers reaped =====

fn grow_and_shrink(pool: &Pool) {
    println!("\n== a burst of {} blocking tasks", MAX_WORKERS + 2);
    let gate = Arc::new(Gate::default());
    let burst: Vec<Task<usize>> = (0..MAX_WORKERS + 2)
        .map(|i| {
            let gate = Arc::clone(&gate);
            pool.submit(move || {
                gate.pass();
                i
            })
        })
        .collect();
    // Every worker the pool may have is now busy; the rest queue.
    assert!(gate.wait_inside(MAX_WORKERS, TIMEOUT), "the pool grew");
    let stats = pool.stats();
    show("grown under load", &stats);
    assert_eq!(
        (stats.workers, stats.active, stats.queued),
        (MAX_WORKERS, MAX_WORKERS, 2)
    );

    gate.open();
    assert!(pool.wait_completion(TIMEOUT));
    let total: usize = burst
        .into_iter()
        .map(|t| t.join().expect("burst task"))
        .sum();
    show("burst done", &pool.stats());
    assert_eq!(total, (0..MAX_WORKERS + 2).sum());

    // No event says "a worker exited", so watch the counts for a while: the
    // idle workers above the minimum leave after `idle_timeout` (100 ms).
    println!("watching the idle workers leave:");
    let deadline = Instant::now() + TIMEOUT;
    let mut last = usize::MAX;
    loop {
        let stats = pool.stats();
        if stats.workers != last {
            println!("    workers: {}", stats.workers);
            last = stats.workers;
        }
        if stats.workers == MIN_WORKERS {
            break;
        }
        assert!(Instant::now() < deadline, "idle workers were not reaped");
        thread::sleep(Duration::from_millis(20));
    }
    show("after idle_timeout: back to the minimum", &pool.stats());
}

// ===== success and failure callbacks =====

/// ```python
/// task = atp.async_call(<callable>, success=<callable>, args=(1,2,3,),
///         kwargs={'a':1, 'b':2}, pool=atp.GlobalThreadPool())
/// ```
///
/// The arguments travel inside the closure. The callbacks run on the
/// thread that finishes the task, before it counts as done.
fn async_call<T, F, S, E>(pool: &Pool, target: F, success: S, failure: E) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    S: FnOnce(&T) + Send + 'static,
    E: FnOnce(&TaskError) + Send + 'static,
{
    let task = pool.submit(target);
    task.on_done(move |outcome| match outcome {
        Ok(value) => success(value),
        Err(error) => failure(error),
    });
    task
}

#[allow(clippy::ptr_arg)] // a success callback receives `&T`, and T is String
fn print_string(string: &String) {
    println!("success callback: {string}");
}

fn caps(string: &str) -> String {
    string.to_uppercase()
}

fn will_fail() -> String {
    panic!("fake error");
}

fn callbacks() {
    let pool = Pool::get_pool_by_name("global").expect("registered");

    // ```python
    // task = atp.async_call(caps, 'hello world!', success=print_string)
    // time.sleep(0.1) # 100ms
    // ```
    println!("\n== async_call(caps, 'hello world!', success=print_string)");
    let task = async_call(&pool, || caps("hello world!"), print_string, |_| {});
    // No sleep: waiting for the task also waits for its callbacks.
    assert!(task.wait_timeout(TIMEOUT));
    assert_eq!(task.result().as_deref(), Ok("HELLO WORLD!"));

    // ```python
    // def will_fail():
    //     throw RuntimeError("fake error")
    //
    // def catch_fail(error):
    //     throw error.exception, error.message, error.traceback
    //
    // task = atp.async_call(will_fail, failure=catch_fail)
    // ```
    println!("\n== async_call(will_fail, failure=catch_fail)");
    let caught = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&caught);
    let catch_fail = move |error: &TaskError| {
        *seen.lock().unwrap_or_else(PoisonError::into_inner) =
            error.panic_message().map(str::to_owned);
        println!("failure callback got: {error}");
        // Re-raising, as the Python callback does: caught and logged, never
        // hurting the task or the pool.
        panic!("catch_fail re-raised: {error}");
    };
    let task = async_call(&pool, will_fail, print_string, catch_fail);
    assert!(task.wait_timeout(TIMEOUT));
    let message = caught
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(message.as_deref(), Some("fake error"));
    println!("the task still reports: {:?}", task.error());
    let after = pool.submit(|| 40 + 2);
    println!(
        "and the pool still works: {:?}",
        after.result_timeout(TIMEOUT)
    );
    show("pool", &pool.stats());
}

// ===== an infinite task, stopped on request =====

/// ```python
/// def increase(kill, arg):
///     while not kill.is_set() and arg[-1] < 100:
///         arg.append(arg[-1] + 1)
/// ```
///
/// atp passes a kill event; a pymt body asks `pymt::stop_requested()`.
fn increase(arg: &Mutex<Vec<u32>>) {
    let mut arg = arg.lock().unwrap_or_else(PoisonError::into_inner);
    while !pymt::stop_requested() && arg.last().is_some_and(|&last| last < 100) {
        let next = arg[arg.len() - 1] + 1;
        arg.push(next);
    }
}

/// ```python
/// result = [1]
/// task = atp.async_call(increase, result, infinite=True)
/// time.sleep(0.1) # 100ms
/// task.stop()
/// assert len(result) == 100
/// ```
///
/// `infinite=True` makes atp call the target again and again until
/// stopped; here that loop is written out in the body.
fn infinite_task() {
    println!("\n== async_call(increase, result, infinite=True), then task.stop()");
    let pool = Pool::get_pool_by_name("global").expect("registered");
    let result = Arc::new(Mutex::new(vec![1_u32]));
    let (reached, has_reached) = mpsc::channel();
    let shared = Arc::clone(&result);
    let task = pool.submit(move || {
        let mut told = false;
        let mut rounds = 0_u64;
        while !pymt::stop_requested() {
            increase(&shared);
            rounds += 1;
            let len = shared.lock().unwrap_or_else(PoisonError::into_inner).len();
            if len == 100 && !told {
                told = true;
                let _ = reached.send(());
            }
            thread::yield_now();
        }
        rounds
    });
    // Instead of sleeping 100 ms and hoping: wait until the list is full.
    has_reached
        .recv_timeout(TIMEOUT)
        .expect("the list reached 100");
    println!("running: {}", task.is_running());
    task.request_stop();
    let rounds = task
        .result_timeout(TIMEOUT)
        .expect("the stopped task returns");
    assert!(rounds >= 1);
    let len = result.lock().unwrap_or_else(PoisonError::into_inner).len();
    println!("stopped; len(result) == {len}");
    assert_eq!(len, 100);
    assert!(task.is_done());
}

// ===== helpers =====

/// Bodies wait in `pass` until the gate opens (or `TIMEOUT`); the gate
/// counts who is inside, so the example can wait for "n running".
#[derive(Default)]
struct Gate {
    /// (bodies inside, open)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pass(&self) {
        let mut state = self.lock();
        state.0 += 1;
        self.changed.notify_all();
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, TIMEOUT, |s| !s.1)
            .unwrap_or_else(PoisonError::into_inner);
        state.0 -= 1;
    }

    fn wait_inside(&self, n: usize, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.0 < n)
            .unwrap_or_else(PoisonError::into_inner);
        state.0 >= n
    }

    fn open(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }
}
