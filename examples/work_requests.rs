//! Seed 004, Christopher Arndt's `threadpool`: work requests with
//! callbacks, `poll()` and `wait()`, and a pool resized while it works.
//!
//! ```python
//! main = ThreadPool(poolsize)
//! requests = makeRequests(some_callable, list_of_args, callback)
//! [main.putRequest(req) for req in requests]
//! main.wait()
//! ```
//!
//! - A work request is a task; its callback is `Task::on_done`, which gets
//!   the result or the panic (threadpool's `exc_callback`) and runs on the
//!   worker thread that finished the request.
//! - `poll()` and `wait()` collect results in the main thread: a `TaskSet`
//!   hands them out in completion order, `try_join_next` without blocking,
//!   `join_next` / `join_all` blocking.
//! - `createWorkers(n)` / `dismissWorkers(n)` are `set_max_workers`.
//!
//! Run with `cargo run --example work_requests`.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pymt::{Pool, Task, TaskBuilder, TaskError, TaskSet};

/// Bound of every blocking wait in this example.
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    // Some requests fail on purpose ("just to show off, we throw an
    // exception once in a while"); pymt turns each panic into a value.
    // Keep the default hook's report of them short.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));

    callbacks_and_wait();
    poll_and_resize();
}

/// ```python
/// def do_something(data):
///     time.sleep(random.randint(1,5))
///     result = round(random.random() * data, 5)
///     # just to show off, we throw an exception once in a while
///     if result > 5:
///         raise RuntimeError("Something extraordinary happened!")
///     return result
/// ```
///
/// Deterministic here: no sleep, no randomness.
fn do_something(data: u32) -> f64 {
    let result = f64::from(data) * 0.75;
    if result > 5.0 {
        panic!("Something extraordinary happened!");
    }
    result
}

/// ```python
/// def makeRequests(callable_, args_list, callback=None, exc_callback=_handle_thread_exception):
/// ```
///
/// One named task per argument, each with a callback that receives its
/// request number and outcome. The tasks go into a `TaskSet`, which plays
/// the part of threadpool's result queue.
fn make_requests<A, R, F, C>(pool: &Pool, callable: F, args_list: Vec<A>, callback: C) -> TaskSet<R>
where
    A: Send + 'static,
    R: Send + 'static,
    F: Fn(A) -> R + Send + Sync + 'static,
    C: Fn(usize, &Result<R, TaskError>) + Send + Sync + 'static,
{
    let callable = Arc::new(callable);
    let callback = Arc::new(callback);
    let mut requests = TaskSet::new();
    for (request_id, args) in args_list.into_iter().enumerate() {
        let callable = Arc::clone(&callable);
        let task = TaskBuilder::new()
            .name(format!("request #{request_id}"))
            .submit(pool, move || callable(args));
        let callback = Arc::clone(&callback);
        task.on_done(move |outcome| callback(request_id, outcome));
        requests.push(task);
    }
    requests
}

/// ```python
/// # this will be called each time a result is available
/// def print_result(request, result):
///     print("**** Result from request #%s: %r" % (request.requestID, result))
///
/// # this will be called when an exception occurs within a thread
/// def handle_exception(request, exc_info):
///     print("**** Exception occured in request #%s: %s" % (request.requestID, exc_info))
/// ```
fn print_result(request_id: usize, outcome: &Result<f64, TaskError>) {
    match outcome {
        Ok(result) => println!("**** Result from request #{request_id}: {result}"),
        Err(error) => println!("**** Exception occured in request #{request_id}: {error}"),
    }
}

/// The basic usage: callbacks report each result as it comes in, `wait()`
/// blocks until every request is done.
fn callbacks_and_wait() {
    println!("== makeRequests + callbacks, then wait()");
    let main = Pool::builder()
        .name("threadpool")
        .max_workers(3)
        .build()
        .expect("valid settings");
    let data: Vec<u32> = (1..=10).collect();
    let requests = make_requests(&main, do_something, data, print_result);
    // main.wait(): every result, in completion order. The callbacks have run
    // by the time a request counts as done.
    let results = requests.join_all();
    let failed = results.iter().filter(|r| r.is_err()).count();
    println!(
        "wait(): {} results, {failed} of them exceptions",
        results.len()
    );
    assert_eq!((results.len(), failed), (10, 4));
    assert!(main.join(TIMEOUT));
}

/// The module's longer demo: poll for results while the main thread does
/// something else, add workers after a while, dismiss some later.
fn poll_and_resize() {
    println!("\n== poll() while the pool works; createWorkers / dismissWorkers");
    let main = Pool::builder()
        .name("threadpool-demo")
        .max_workers(2)
        .build()
        .expect("valid settings");
    // Each request blocks on the gate first, standing in for the seed's
    // `time.sleep(random.randint(1,5))`, so the example can watch the pool.
    let gate = Arc::new(Gate::default());
    let mut requests = TaskSet::new();
    let mut first = None;
    for data in 1..=6 {
        let gate = Arc::clone(&gate);
        let task: Task<f64> = main.submit(move || {
            gate.pass();
            do_something(data)
        });
        first.get_or_insert_with(|| task.clone());
        requests.push(task);
    }

    // poll(): nothing has finished yet, and it does not block.
    assert!(gate.wait_inside(2, TIMEOUT), "both workers took a request");
    println!(
        "poll(): {:?} (nothing finished yet)",
        requests.try_join_next()
    );
    assert!(requests.try_join_next().is_none());
    show(&main);

    println!("**** Adding 2 more worker threads...");
    main.set_max_workers(4);
    assert!(
        gate.wait_inside(4, TIMEOUT),
        "the new workers took queued requests"
    );
    show(&main);
    assert_eq!(main.stats().workers, 4);

    gate.open();
    // Give the requests a moment (here: until the first one is done), then
    // poll() hands over whatever has arrived, without blocking.
    let first = first.expect("six requests");
    assert!(first.wait_timeout(TIMEOUT));
    let mut collected = 0;
    while let Some(result) = requests.try_join_next() {
        collected += 1;
        println!("poll(): {result:?}");
    }
    println!("Main thread working... ({collected} results so far)");

    // wait(): block for the rest, in completion order.
    while let Some(result) = requests.join_next_timeout(TIMEOUT) {
        assert_ne!(result, Err(TaskError::Timeout), "requests finish");
        println!("wait(): {result:?}");
    }
    println!("**** No pending results.");

    println!("**** Dismissing 2 worker threads...");
    main.set_max_workers(2);
    // Idle surplus workers retire promptly, but no event says so: watch.
    let deadline = Instant::now() + TIMEOUT;
    while main.stats().workers > 2 {
        assert!(Instant::now() < deadline, "surplus workers retired");
        thread::sleep(Duration::from_millis(10));
    }
    show(&main);
    assert!(main.join(TIMEOUT));
}

fn show(pool: &Pool) {
    let stats = pool.stats();
    println!(
        "(worker threads: {}, busy: {}, queued: {})",
        stats.workers, stats.active, stats.queued
    );
}

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
