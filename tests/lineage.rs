//! Lineage parity: what the documentation of each Python library pymt ports
//! promises, asserted against pymt (see `docs/porting-from-python.md`).
//!
//! - seed 000: a priority executor with a bounded queue, configured from the
//!   environment;
//! - seed 001: `concurrent.futures` (futures, `wait`, `as_completed`,
//!   `shutdown`);
//! - seed 002: `atp`, an adaptive pool (minimum workers, growth, idle
//!   reaping, success/failure callbacks, stoppable infinite tasks);
//! - seed 003: PyMultiTasking's README (pools, `#[threaded]` forms, named
//!   pools, callbacks, limiters, `join_pools`);
//! - seed 004: Arndt's `threadpool` (work requests with callbacks, `poll()`,
//!   `wait()`, resizing).
//!
//! Every blocking wait is bounded (a bug fails a test instead of hanging
//! it). Tests that touch the process-wide pool registry or the daemon
//! workers take turns through `serial()`.

mod common;
use common::{within, LONG};

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use pymt::{
    limiter, threaded, AsCompleted, Pool, ReturnWhen, SubmitError, Task, TaskError, TaskSet,
    TaskState, Worker,
};

static SERIAL: Mutex<()> = Mutex::new(());

/// Exclusive use of the registry and the daemon workers.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn thread_name() -> String {
    thread::current().name().unwrap_or_default().to_owned()
}

fn pool(max_workers: usize) -> Pool {
    Pool::builder()
        .max_workers(max_workers)
        .build()
        .expect("valid settings")
}

/// The next task of an `as_completed` iterator, bounded by `LONG`.
fn next_within<T: Send + 'static>(
    mut completed: AsCompleted<T>,
) -> (Option<Task<T>>, AsCompleted<T>) {
    within("as_completed's next", move || {
        let next = completed.next();
        (next, completed)
    })
}

/// For what no event announces (a worker thread exiting): checks `done`
/// until it holds, failing the test after `LONG`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {LONG:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A task on `pool` that returns `value` once released (or after
/// `LONG`, or at once if the sender is dropped).
fn gated<T: Send + 'static>(pool: &Pool, value: T) -> (Sender<()>, Task<T>) {
    let (release, released) = mpsc::channel::<()>();
    let task = pool.submit(move || {
        let _ = released.recv_timeout(LONG);
        value
    });
    (release, task)
}

/// Occupies `n` workers of `pool` until dropped; returns once all `n` run.
struct Busy {
    release: Vec<Sender<()>>,
    tasks: Vec<Task<()>>,
}

impl Busy {
    fn occupy(pool: &Pool, n: usize) -> Busy {
        let (started, is_started) = mpsc::channel();
        let mut busy = Busy {
            release: Vec::new(),
            tasks: Vec::new(),
        };
        for _ in 0..n {
            let (release, released) = mpsc::channel::<()>();
            let started = started.clone();
            busy.tasks.push(pool.submit(move || {
                let _ = started.send(());
                let _ = released.recv_timeout(LONG);
            }));
            busy.release.push(release);
        }
        for _ in 0..n {
            is_started
                .recv_timeout(LONG)
                .expect("a worker took a busy task");
        }
        busy
    }

    fn release(self) {
        drop(self.release);
        for task in &self.tasks {
            assert!(task.wait_timeout(LONG), "a busy task ended");
        }
    }
}

/// Bodies wait in `pass` until the gate opens (or `LONG`); counts who is
/// inside, and the most that ever were.
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

struct GateState {
    inside: usize,
    most: usize,
    open: bool,
}

impl Gate {
    const fn new() -> Gate {
        Gate {
            state: Mutex::new(GateState {
                inside: 0,
                most: 0,
                open: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn pass(&self) {
        let mut state = lock(&self.state);
        state.inside += 1;
        state.most = state.most.max(state.inside);
        self.changed.notify_all();
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, LONG, |s| !s.open)
            .unwrap_or_else(PoisonError::into_inner);
        state.inside -= 1;
    }

    fn wait_inside(&self, n: usize) -> bool {
        let state = lock(&self.state);
        let (state, _) = self
            .changed
            .wait_timeout_while(state, LONG, |s| s.inside < n)
            .unwrap_or_else(PoisonError::into_inner);
        state.inside >= n
    }

    fn open(&self) {
        lock(&self.state).open = true;
        self.changed.notify_all();
    }

    fn most(&self) -> usize {
        lock(&self.state).most
    }
}

// ===== seed 000: priority executor =====

/// "the tasks with higher priority will be run prior to lower ones"
#[test]
fn priority_executor_higher_priority_runs_first_fifo_among_equals() {
    let executor = pool(1);
    let busy = Busy::occupy(&executor, 1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<Task<()>> = [
        (1, 'a'),
        (100, 'b'),
        (50, 'c'),
        (100, 'd'),
        (-10, 'e'),
        (1, 'f'),
    ]
    .into_iter()
    .map(|(priority, label)| {
        let order = Arc::clone(&order);
        executor.submit_with_priority(priority, move || lock(&order).push(label))
    })
    .collect();
    busy.release();
    assert!(executor.wait_completion(LONG));
    assert!(tasks.iter().all(Task::is_done));
    assert_eq!(*lock(&order), ['b', 'd', 'c', 'a', 'f', 'e']);
    assert!(executor.join(LONG));
}

/// "the maximum number of tasks in the priority queue": a full queue
/// refuses `try_submit` and hands the closure back.
#[test]
fn priority_executor_bounded_queue_full_hands_the_closure_back() {
    let executor = Pool::builder()
        .max_workers(1)
        .queue_capacity(2)
        .build()
        .expect("valid settings");
    let busy = Busy::occupy(&executor, 1);
    let a = executor.try_submit(|| 1).expect("room for one");
    let b = executor.try_submit(|| 2).expect("room for two");
    assert_eq!(executor.stats().queued, 2);
    let refused = executor.try_submit(|| 3).expect_err("the queue is full");
    assert!(refused.is_full());
    let job = refused.into_inner();
    assert_eq!(job(), 3, "the closure came back intact");

    busy.release();
    assert_eq!(a.result_timeout(LONG), Ok(1));
    assert_eq!(b.result_timeout(LONG), Ok(2));
    let c = executor.try_submit(job).expect("room again");
    assert_eq!(c.result_timeout(LONG), Ok(3));
    assert!(executor.join(LONG));
}

/// A blocking `submit` on a full queue waits for room instead of failing.
#[test]
fn priority_executor_submit_waits_for_room_in_a_full_queue() {
    let executor = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .expect("valid settings");
    let busy = Busy::occupy(&executor, 1);
    let queued = executor.submit(|| "queued");
    let (tx, rx) = mpsc::channel();
    let submitter = {
        let executor = executor.clone();
        thread::spawn(move || {
            let task = executor.submit(|| "waited for room");
            let _ = tx.send(());
            task
        })
    };
    // While the worker is busy the queue stays full: the submission cannot
    // have gone through.
    assert!(rx.try_recv().is_err());
    busy.release();
    rx.recv_timeout(LONG).expect("submit found room");
    let waited = submitter.join().expect("submitter thread");
    assert_eq!(queued.result_timeout(LONG), Ok("queued"));
    assert_eq!(waited.result_timeout(LONG), Ok("waited for room"));
    assert!(executor.join(LONG));
}

const PYMT_VARS: [&str; 4] = [
    "PYMT_MAX_WORKERS",
    "PYMT_MIN_WORKERS",
    "PYMT_IDLE_TIMEOUT_MS",
    "PYMT_QUEUE_CAPACITY",
];

/// Set in the copy of this test binary that runs `priority_executor_env_child`.
const ENV_CHILD: &str = "PYMT_LINEAGE_ENV_CHILD";

/// "checking the configuration and adding defaults from the environment
/// variables": the settings come from `PYMT_*` variables. The environment
/// is process-wide, so each case runs in a copy of this test binary.
#[test]
fn priority_executor_configuration_from_the_environment() {
    let cases: [(&str, &[(&str, &str)]); 2] = [
        (
            "good",
            &[("PYMT_MAX_WORKERS", "3"), ("PYMT_QUEUE_CAPACITY", "2")],
        ),
        ("bad", &[("PYMT_MAX_WORKERS", "lots")]),
    ];
    for (mode, vars) in cases {
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args(["priority_executor_env_child", "--exact", "--test-threads=1"])
            .env(ENV_CHILD, mode);
        for var in PYMT_VARS {
            command.env_remove(var);
        }
        command.envs(vars.iter().copied());
        let output = within("the child test", move || command.output())
            .expect("run a copy of this test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{mode}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("1 passed"),
            "{mode}: the child ran: {stdout}"
        );
    }
}

/// The other half of `priority_executor_configuration_from_the_environment`; does
/// nothing unless that test runs it.
#[test]
fn priority_executor_env_child() {
    let Ok(mode) = std::env::var(ENV_CHILD) else {
        return;
    };
    match mode.as_str() {
        "good" => {
            // The seed's defaults (5 workers, 10 queued), then the variables.
            let executor = Pool::builder()
                .max_workers(5)
                .queue_capacity(10)
                .from_env()
                .build()
                .expect("the variables are valid");
            assert_eq!(executor.max_workers(), 3);
            let busy = Busy::occupy(&executor, 3);
            let queued: Vec<Task<()>> = (0..2)
                .map(|_| executor.try_submit(|| ()).expect("room"))
                .collect();
            assert!(executor.try_submit(|| ()).expect_err("full").is_full());
            busy.release();
            assert!(queued.iter().all(|t| t.wait_timeout(LONG)));
            assert!(executor.join(LONG));
            // A setter after `from_env` wins over the variable.
            let later = Pool::builder()
                .from_env()
                .max_workers(7)
                .build()
                .expect("valid");
            assert_eq!(later.max_workers(), 7);
        }
        "bad" => {
            let error = Pool::builder()
                .from_env()
                .build()
                .expect_err("not a number");
            assert!(error.to_string().contains("PYMT_MAX_WORKERS"), "{error}");
        }
        other => panic!("unknown mode {other}"),
    }
}

/// "call shutdown() method to clean up the threads": queued work is
/// cancelled, the running task is asked to stop, new work is refused.
#[test]
fn priority_executor_shutdown_cancels_queued_and_stops_running_cooperatively() {
    let executor = pool(1);
    let (started, is_started) = mpsc::channel();
    let running = executor.submit(move || {
        let _ = started.send(());
        let deadline = Instant::now() + LONG;
        while !pymt::stop_requested() && Instant::now() < deadline {
            thread::yield_now();
        }
        pymt::stop_requested()
    });
    is_started.recv_timeout(LONG).expect("running");
    let queued: Vec<Task<u32>> = (0..3).map(|i| executor.submit(move || i)).collect();

    assert!(executor.shutdown(LONG));
    assert_eq!(running.result(), Ok(true), "the body saw the stop request");
    for task in &queued {
        assert_eq!(task.result(), Err(TaskError::Cancelled));
    }
    assert_eq!(executor.stats().cancelled, 3);
    assert_eq!(executor.submit(|| 1).result(), Err(TaskError::Rejected));
    assert!(matches!(
        executor.try_submit(|| 1),
        Err(SubmitError::Shutdown(_))
    ));
}

// ===== seed 001: concurrent.futures =====

/// `wait(futures, return_when=FIRST_COMPLETED)`
#[test]
fn concurrent_futures_wait_first_completed() {
    let executor = pool(2);
    let (release, slow) = gated(&executor, "slow");
    let fast = executor.submit(|| "fast");
    let futures = vec![slow.clone(), fast.clone()];

    let (done, not_done) = pymt::wait(&futures, ReturnWhen::FirstCompleted, LONG);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id(), fast.id());
    assert_eq!(not_done.len(), 1);
    assert_eq!(not_done[0].id(), slow.id());

    drop(release);
    let (done, not_done) = pymt::wait(&futures, ReturnWhen::AllCompleted, LONG);
    assert_eq!((done.len(), not_done.len()), (2, 0));
    assert!(executor.join(LONG));
}

/// `wait(futures, return_when=FIRST_EXCEPTION)`: a panic is the exception;
/// without one it waits for all. Waiting on nothing returns at once.
#[test]
fn concurrent_futures_wait_first_exception_and_all_completed() {
    let executor = pool(2);
    let (release, slow) = gated(&executor, 1);
    let raising = executor.submit(|| -> i32 { panic!("bad url") });
    let futures = vec![slow.clone(), raising.clone()];

    let (done, not_done) = pymt::wait(&futures, ReturnWhen::FirstException, LONG);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id(), raising.id());
    assert_eq!(not_done[0].id(), slow.id());
    assert_eq!(
        raising
            .error()
            .and_then(|e| e.panic_message().map(str::to_owned))
            .as_deref(),
        Some("bad url")
    );

    drop(release);
    let fine = vec![slow, executor.submit(|| 2)];
    let (done, not_done) = pymt::wait(&fine, ReturnWhen::FirstException, LONG);
    assert_eq!(
        (done.len(), not_done.len()),
        (2, 0),
        "no exception: waits for all"
    );

    let none: Vec<Task<i32>> = Vec::new();
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let (done, not_done) = pymt::wait(&none, when, LONG);
        assert!(done.is_empty() && not_done.is_empty());
    }
    assert!(executor.join(LONG));
}

/// `for future in as_completed(futures)`: every future exactly once,
/// finished ones first, then in completion order.
#[test]
fn concurrent_futures_as_completed_yields_each_future_once_in_completion_order() {
    let executor = pool(3);
    let done_already = executor.submit(|| 10);
    assert!(done_already.wait_timeout(LONG));
    let (release_a, a) = gated(&executor, 1);
    let (release_b, b) = gated(&executor, 2);
    let completed = pymt::as_completed(vec![a.clone(), done_already.clone(), b.clone()]);
    assert_eq!(completed.len(), 3);

    let (first, completed) = next_within(completed);
    assert_eq!(first.expect("the finished one").id(), done_already.id());
    drop(release_b);
    assert!(b.wait_timeout(LONG));
    let (second, completed) = next_within(completed);
    assert_eq!(second.expect("b").id(), b.id());
    drop(release_a);
    assert!(a.wait_timeout(LONG));
    let (last, mut completed) = next_within(completed);
    let last = last.expect("a");
    assert_eq!(last.id(), a.id());
    assert_eq!(last.result(), Ok(1));
    assert!(completed.next().is_none());
    assert!(executor.join(LONG));
}

/// `Future.result(timeout)`, `exception()`, `cancel()`, `cancelled()`,
/// `running()`, `done()`.
#[test]
fn concurrent_futures_future_methods() {
    let executor = pool(1);
    let (started, is_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let running = executor.submit(move || {
        let _ = started.send(());
        let _ = released.recv_timeout(LONG);
        "done"
    });
    is_started.recv_timeout(LONG).expect("running");
    let queued = executor.submit(|| "never");

    assert!(running.is_running() && !running.is_done());
    assert_eq!(
        running.result_timeout(Duration::ZERO),
        Err(TaskError::Timeout),
        "result(timeout) gives up"
    );
    assert!(!running.cancel(), "a running future cannot be cancelled");
    assert_eq!(queued.state(), TaskState::Pending);
    assert!(queued.cancel());
    assert!(queued.is_cancelled() && queued.is_done() && !queued.is_running());
    assert_eq!(queued.result(), Err(TaskError::Cancelled));

    drop(release);
    assert_eq!(running.result_timeout(LONG), Ok("done"));
    assert!(running.is_done() && !running.is_running() && !running.is_cancelled());
    assert_eq!(running.error(), None, "exception() is None on success");

    let raising = executor.submit(|| -> u8 { panic!("http forbidden") });
    assert!(raising.wait_timeout(LONG));
    assert_eq!(
        raising.error(),
        Some(TaskError::Panicked {
            message: "http forbidden".into()
        })
    );
    assert!(executor.join(LONG));
}

/// `add_done_callback(fn)`: runs on the thread that completes the future,
/// or at once if it is already done; "exceptions raised in callback
/// functions will not impact the task or thread pool".
#[test]
fn concurrent_futures_done_callbacks() {
    let executor = pool(1);
    let (release, task) = gated(&executor, 5);
    let (tx, rx) = mpsc::channel();
    task.on_done(move |outcome| {
        let _ = tx.send((thread_name(), outcome.clone()));
    });
    drop(release);
    let (thread, outcome) = rx.recv_timeout(LONG).expect("the callback ran");
    assert!(
        thread.starts_with(&format!("{}-", executor.name())),
        "{thread}"
    );
    assert_eq!(outcome, Ok(5));

    // The callback above runs before the task counts as done; wait for done.
    assert!(task.wait_timeout(LONG));
    let main_thread: ThreadId = thread::current().id();
    let ran_on = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&ran_on);
    task.on_done(move |_| *lock(&seen) = Some(thread::current().id()));
    assert_eq!(
        *lock(&ran_on),
        Some(main_thread),
        "already done: ran at once, here"
    );

    let panicking = executor.submit(|| 7);
    panicking.on_done(|_| panic!("a callback that raises"));
    assert_eq!(panicking.result_timeout(LONG), Ok(7));
    assert_eq!(executor.submit(|| 8).result_timeout(LONG), Ok(8));
    assert!(executor.join(LONG));
}

/// `executor.map(fn, items)`: results in input order.
#[test]
fn concurrent_futures_map_keeps_input_order() {
    let executor = pool(4);
    let tasks = executor.map(|n: u64| (0..=n).sum::<u64>(), [300, 1, 200, 2]);
    let results: Vec<u64> = tasks
        .iter()
        .map(|t| t.result_timeout(LONG).expect("map task"))
        .collect();
    assert_eq!(results, [45150, 1, 20100, 3]);
    assert!(executor.join(LONG));
}

/// `shutdown(wait=True)` (what leaving `with ThreadPoolExecutor()` does):
/// queued work still runs, then the workers stop.
#[test]
fn concurrent_futures_join_finishes_queued_work() {
    let executor = pool(1);
    let busy = Busy::occupy(&executor, 1);
    let queued: Vec<Task<u32>> = (0..4).map(|i| executor.submit(move || i * i)).collect();
    let joiner = {
        let executor = executor.clone();
        thread::spawn(move || executor.join(LONG))
    };
    busy.release();
    assert!(joiner.join().expect("joiner thread"));
    let squares: Vec<u32> = queued.iter().map(|t| t.result().expect("ran")).collect();
    assert_eq!(squares, [0, 1, 4, 9]);
    assert_eq!(executor.stats().workers, 0);
}

/// The download example's `download_url` "returns None on error": a failed
/// download is a value (or, if it panics, a `TaskError`), never a crash,
/// and the other downloads are unaffected. A loopback server answers 404.
#[test]
fn concurrent_futures_bad_urls_are_reported_not_fatal() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    let server = thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.expect("a client");
            let mut request = [0; 512];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\n\r\n");
        }
    });
    let download = move || -> Result<Vec<u8>, String> {
        let mut stream = TcpStream::connect_timeout(&addr, LONG).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(LONG))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(b"GET /3/library/missing.html HTTP/1.0\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| e.to_string())?;
        match response.split(' ').nth(1) {
            Some("200") => Ok(response.into_bytes()),
            status => Err(format!("HTTP status {}", status.unwrap_or("?"))),
        }
    };

    let executor = pool(2);
    let as_value = executor.submit(download);
    let as_panic = executor.submit(move || download().expect("download failed"));
    let fine = executor.submit(|| "saved");
    assert_eq!(
        as_value.result_timeout(LONG),
        Ok(Err("HTTP status 404".to_owned()))
    );
    assert!(as_panic.wait_timeout(LONG));
    let error = as_panic.error().expect("panicked");
    assert_eq!(
        error.panic_message(),
        Some(r#"download failed: "HTTP status 404""#)
    );
    assert_eq!(fine.result_timeout(LONG), Ok("saved"));
    assert!(executor.join(LONG));
    within("the server", move || server.join()).expect("the server thread");
}

// ===== seed 002: adaptive pool (atp) =====

/// "a configurable minimum number of threads to be always available", "the
/// number of workers [grows] to accommodate the rate of tasks", "workers
/// that sleep for a configurable period of time ... will be terminated".
#[test]
fn adaptive_pool_minimum_growth_and_idle_reaping() {
    let tp = Pool::builder()
        .min_workers(2)
        .max_workers(5)
        .idle_timeout(Duration::from_millis(20))
        .stack_size(512 * 1024)
        .build()
        .expect("valid settings");
    assert_eq!(tp.stats().workers, 2, "the minimum starts at build");

    let gate = Arc::new(Gate::new());
    let burst: Vec<Task<usize>> = (0..7)
        .map(|i| {
            let gate = Arc::clone(&gate);
            tp.submit(move || {
                gate.pass();
                i
            })
        })
        .collect();
    assert!(gate.wait_inside(5), "the pool grew to its maximum");
    let stats = tp.stats();
    assert_eq!((stats.workers, stats.active, stats.queued), (5, 5, 2));
    gate.open();
    assert!(tp.wait_completion(LONG));
    assert_eq!(
        burst.into_iter().map(|t| t.join().unwrap()).sum::<usize>(),
        21
    );
    assert_eq!(gate.most(), 5, "never more than max_workers at once");

    eventually("idle workers reaped down to the minimum", || {
        tp.stats().workers == 2
    });
    // The minimum stays: it keeps serving.
    assert_eq!(
        tp.submit(|| "still here").result_timeout(LONG),
        Ok("still here")
    );
    assert!(tp.stats().workers >= 2);
    assert!(tp.join(LONG));
}

/// `async_call(target, success=..., failure=...)`: the success callback
/// gets the return value, the failure callback the exception.
#[test]
fn adaptive_pool_success_and_failure_callbacks() {
    let tp = pool(2);
    let (tx, rx) = mpsc::channel();
    let caps = tp.submit(|| "hello world!".to_uppercase());
    let success = tx.clone();
    caps.on_done(move |outcome| {
        if let Ok(text) = outcome {
            let _ = success.send(format!("success: {text}"));
        }
    });
    assert_eq!(
        rx.recv_timeout(LONG).as_deref(),
        Ok("success: HELLO WORLD!")
    );

    let will_fail = tp.submit(|| -> String { panic!("fake error") });
    will_fail.on_done(move |outcome| {
        if let Err(error) = outcome {
            let _ = tx.send(format!("failure: {}", error.panic_message().unwrap_or("?")));
        }
    });
    assert_eq!(rx.recv_timeout(LONG).as_deref(), Ok("failure: fake error"));
    assert!(tp.join(LONG));
}

/// "If the failure callback throws an unhandled error it will be caught and
/// logged": neither the task nor the pool suffers.
#[test]
fn adaptive_pool_a_failing_failure_callback_is_contained() {
    let tp = pool(1);
    let task = tp.submit(|| -> u32 { panic!("fake error") });
    task.on_done(|outcome| {
        let error = outcome.as_ref().expect_err("failed");
        panic!("catch_fail re-raised {error}");
    });
    assert!(task.wait_timeout(LONG));
    assert_eq!(
        task.error()
            .and_then(|e| e.panic_message().map(str::to_owned))
            .as_deref(),
        Some("fake error")
    );
    assert_eq!(tp.submit(|| 42).result_timeout(LONG), Ok(42));
    assert_eq!(tp.stats().workers, 1, "the worker survived");
    assert!(tp.join(LONG));
}

/// ```python
/// result = [1]
/// def increase(kill, arg):
///     while not kill.is_set() and arg[-1] < 100:
///         arg.append(arg[-1] + 1)
/// task = atp.async_call(increase, result, infinite=True)
/// task.stop()
/// assert len(result) == 100
/// ```
#[test]
fn adaptive_pool_infinite_task_stops_on_request_at_its_condition() {
    let tp = pool(2);
    let result = Arc::new(Mutex::new(vec![1_u32]));
    let (reached, has_reached) = mpsc::channel();
    let shared = Arc::clone(&result);
    let task = tp.submit(move || {
        let deadline = Instant::now() + LONG;
        let mut told = false;
        // infinite=True: the target runs again and again until stopped.
        while !pymt::stop_requested() && Instant::now() < deadline {
            let mut arg = lock(&shared);
            while !pymt::stop_requested() && arg[arg.len() - 1] < 100 {
                let next = arg[arg.len() - 1] + 1;
                arg.push(next);
            }
            if arg.len() == 100 && !told {
                told = true;
                let _ = reached.send(());
            }
            drop(arg);
            thread::yield_now();
        }
        pymt::stop_requested()
    });
    has_reached
        .recv_timeout(LONG)
        .expect("the list grew to 100");
    assert!(task.is_running(), "infinite: it keeps going until stopped");
    task.request_stop();
    assert_eq!(
        task.result_timeout(LONG),
        Ok(true),
        "it saw the stop request"
    );
    assert_eq!(lock(&result).len(), 100);
    assert_eq!(*lock(&result), (1..=100).collect::<Vec<u32>>());
    assert!(tp.join(LONG));
}

/// `remove_all_workers()`: "signal all running tasks to stop".
#[test]
fn adaptive_pool_shutdown_stops_infinite_tasks() {
    let tp = pool(2);
    let (started, is_started) = mpsc::channel();
    let tasks: Vec<Task<bool>> = (0..2)
        .map(|_| {
            let started = started.clone();
            tp.submit(move || {
                let _ = started.send(());
                let deadline = Instant::now() + LONG;
                while !pymt::stop_requested() && Instant::now() < deadline {
                    thread::yield_now();
                }
                pymt::stop_requested()
            })
        })
        .collect();
    for _ in 0..2 {
        is_started.recv_timeout(LONG).expect("running");
    }
    assert!(tp.shutdown(LONG));
    for task in tasks {
        assert_eq!(task.join(), Ok(true));
    }
    assert_eq!(tp.stats().workers, 0);
}

// ===== seed 003: PyMultiTasking =====

/// `task = p1.submit(test, ...)`, `task.wait(10)`, `task.results`.
#[test]
fn pymultitasking_submit_wait_results() {
    let p1 = pool(2);
    let task = p1.submit(|| format!("{:?} - {:?}", ["arg"], [("example", "kwargs")]));
    assert!(task.wait_timeout(LONG));
    assert_eq!(
        task.result().as_deref(),
        Ok(r#"["arg"] - [("example", "kwargs")]"#)
    );
    assert_eq!(task.result(), task.result(), "results stay readable");
    assert!(p1.join(LONG));
}

/// `map(fn, args)` gives one task per item; `chunksize=0` "will attempt to
/// spread given tasks out evenly across the workers".
#[test]
fn pymultitasking_map_and_even_chunks() {
    let p1 = pool(2);
    let tasks = p1.map(|(a, b): (u32, u32)| a + b, [(1, 2), (3, 4)]);
    assert_eq!(tasks.len(), 2);
    let sums: Vec<u32> = tasks
        .iter()
        .map(|t| t.result_timeout(LONG).unwrap())
        .collect();
    assert_eq!(sums, [3, 7]);

    let chunks = p1.map_chunked(|n: u32| n * 10, 1..=5, 0);
    let parts: Vec<Vec<u32>> = chunks
        .iter()
        .map(|t| t.result_timeout(LONG).unwrap())
        .collect();
    assert_eq!(parts, [vec![10, 20, 30], vec![40, 50]]);
    assert!(p1.join(LONG));
}

/// `wait_completion(10, block=True)`: true once the pool finished its
/// current work load.
#[test]
fn pymultitasking_wait_completion_and_drain() {
    let p1 = pool(2);
    let tasks = p1.map(|n: u32| n + 1, 0..6);
    assert!(p1.wait_completion(LONG));
    assert!(tasks.iter().all(Task::is_done));
    let more = p1.map(|n: u32| n * 2, 0..6);
    assert!(p1.drain(LONG));
    assert!(more.iter().all(Task::is_done));
    let stats = p1.stats();
    assert_eq!((stats.queued, stats.active, stats.completed), (0, 0, 12));
    assert_eq!(
        p1.submit(|| "accepted again").result_timeout(LONG),
        Ok("accepted again")
    );
    assert!(p1.join(LONG));
}

/// `Pool.as_completed(tasks)` "returns tasks as they complete".
#[test]
fn pymultitasking_as_completed_in_completion_order() {
    let p1 = pool(3);
    let gated: Vec<(Sender<()>, Task<usize>)> = (0..3).map(|i| gated(&p1, i)).collect();
    let tasks: Vec<Task<usize>> = gated.iter().map(|(_, t)| t.clone()).collect();
    let mut completed = Pool::as_completed(tasks.clone());
    let mut releases: Vec<Option<Sender<()>>> = gated.into_iter().map(|(r, _)| Some(r)).collect();
    for index in [2, 0, 1] {
        drop(releases[index].take());
        assert!(tasks[index].wait_timeout(LONG));
        let (next, rest) = next_within(completed);
        completed = rest;
        assert_eq!(next.expect("a completed task").result(), Ok(index));
    }
    assert!(completed.next().is_none());
    assert!(p1.join(LONG));
}

#[threaded]
fn threaded_test(args: Vec<&'static str>) -> (String, ThreadId) {
    (format!("{args:?}"), thread::current().id())
}

/// `@Threaded`: the call returns a Task at once; the body runs elsewhere.
#[test]
fn pymultitasking_threaded_returns_a_task() {
    let task: Task<(String, ThreadId)> = threaded_test(vec!["arg"]);
    let (line, ran_on) = task.result_timeout(LONG).expect("ran");
    assert_eq!(line, r#"["arg"]"#);
    assert_ne!(ran_on, thread::current().id(), "another thread");
}

#[threaded(daemon)]
fn daemon_test() -> ThreadId {
    thread::current().id()
}

/// `@Threaded(daemon=True)`: "spawns a single Worker thread and keeps it
/// alive"; joining the daemons and calling again gives a fresh one.
#[test]
fn pymultitasking_daemon_one_worker_for_every_call() {
    let _serial = serial();
    let calls: Vec<Task<ThreadId>> = (0..4).map(|_| daemon_test()).collect();
    let ids: Vec<ThreadId> = calls
        .iter()
        .map(|t| t.result_timeout(LONG).expect("daemon call"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one worker: {ids:?}");
    assert_ne!(ids[0], thread::current().id());

    assert!(pymt::join_daemons(LONG));
    let fresh = daemon_test().result_timeout(LONG).expect("fresh daemon");
    assert_ne!(fresh, ids[0], "a fresh worker after join_daemons");
    assert!(pymt::join_daemons(LONG));
}

#[threaded(pool)]
fn private_pool_test() -> String {
    thread_name()
}

/// `@Threaded(pool=True)` + `Pool.join_pools(timeout=60)`.
#[test]
fn pymultitasking_threaded_pool_is_registered_and_joined() {
    let _serial = serial();
    let thread = private_pool_test().result_timeout(LONG).expect("ran");
    let pool = Pool::pools()
        .into_iter()
        .find(|p| p.name().ends_with("private_pool_test"))
        .expect("the function's pool is registered");
    assert!(
        thread.starts_with(pool.name()),
        "{thread} vs {}",
        pool.name()
    );
    assert!(Pool::join_pools(LONG));
    assert!(pool.is_closed());
}

#[threaded(pool_name = "lineage-mypool")]
fn test_dec_pool_by_name_one() -> String {
    thread_name()
}

#[threaded(pool_name = "lineage-mypool")]
fn test_dec_pool_by_name_two() -> String {
    thread_name()
}

/// `@Threaded(pool_name=...)` on two functions: one pool, found with
/// `get_pool_by_name`, waited on for both.
#[test]
fn pymultitasking_pool_name_shared_by_two_functions() {
    let _serial = serial();
    assert!(Pool::get_pool_by_name("lineage-mypool").is_none());
    let tasks_one: Vec<Task<String>> = (0..4).map(|_| test_dec_pool_by_name_one()).collect();
    let tasks_two: Vec<Task<String>> = (0..4).map(|_| test_dec_pool_by_name_two()).collect();
    let pool = Pool::get_pool_by_name("lineage-mypool").expect("created by the first call");
    assert!(pool.drain(LONG));
    for task in tasks_one.iter().chain(&tasks_two) {
        let thread = task.result().expect("ran");
        assert!(thread.starts_with("lineage-mypool-"), "{thread}");
    }
    assert_eq!(pool.stats().completed, 8, "one pool ran both functions");
    assert!(Pool::join_pools(LONG));
    assert!(Pool::get_pool_by_name("lineage-mypool").is_none());
}

static CALLBACK_SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[allow(clippy::ptr_arg)] // `callback = f` takes `fn(&R)`, and R is String
fn callback_test(result: &String) {
    lock(&CALLBACK_SEEN).push(result.clone());
}

#[threaded(callback = callback_test)]
fn test_with_callback(arg: &'static str) -> String {
    arg.to_uppercase()
}

/// `@Threaded(callback_func=callback_test)`: the callback receives the
/// return value (before the task counts as done).
#[test]
fn pymultitasking_callback_receives_the_result() {
    let task = test_with_callback("arg");
    assert_eq!(task.result_timeout(LONG).as_deref(), Ok("ARG"));
    assert!(lock(&CALLBACK_SEEN).contains(&"ARG".to_owned()));
}

static STORE_VALUES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static STORE_INSIDE: AtomicUsize = AtomicUsize::new(0);
static STORE_MOST: AtomicUsize = AtomicUsize::new(0);

#[limiter(1)]
fn store_callback(value: &u32) {
    let inside = STORE_INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    STORE_MOST.fetch_max(inside, Ordering::SeqCst);
    thread::yield_now();
    lock(&STORE_VALUES).push(*value);
    STORE_INSIDE.fetch_sub(1, Ordering::SeqCst);
}

#[threaded(callback = store_callback, pool_name = "lineage-combined", max_workers = 2)]
fn test_combined(n: u32) -> u32 {
    n * 3 % 11
}

/// The README's combined example: a `@Limiter(1)` callback, a named pool
/// with `maxWorkers=2`, `pool.join()` ending it, then the stored values.
#[test]
fn pymultitasking_combined_limiter_callback_named_pool() {
    let _serial = serial();
    let tasks: Vec<Task<u32>> = (0..6).map(test_combined).collect();
    let pool = Pool::get_pool_by_name("lineage-combined").expect("created by the first call");
    assert_eq!(pool.max_workers(), 2);
    assert!(pool.join(LONG), "join ends the pool after its work");
    assert!(Pool::get_pool_by_name("lineage-combined").is_none());

    let mut returned: Vec<u32> = tasks.into_iter().map(|t| t.join().expect("ran")).collect();
    let mut stored = lock(&STORE_VALUES).clone();
    returned.sort_unstable();
    stored.sort_unstable();
    assert_eq!(stored, returned, "every return value reached the callback");
    assert_eq!(
        STORE_MOST.load(Ordering::SeqCst),
        1,
        "one callback at a time"
    );
}

static LIMITED_INSIDE: AtomicUsize = AtomicUsize::new(0);
static LIMITED_MOST: AtomicUsize = AtomicUsize::new(0);

#[limiter(1)]
fn limited(n: u32) -> u32 {
    let inside = LIMITED_INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    LIMITED_MOST.fetch_max(inside, Ordering::SeqCst);
    thread::yield_now();
    LIMITED_INSIDE.fetch_sub(1, Ordering::SeqCst);
    n
}

/// `@Limiter(1)`: "the 'test' function can only be executed one at a time".
#[test]
fn pymultitasking_limiter_one_at_a_time() {
    let sum: u32 = within("eight limited callers", || {
        thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|n| s.spawn(move || limited(n))).collect();
            handles.into_iter().map(|h| h.join().expect("caller")).sum()
        })
    });
    assert_eq!(sum, 28);
    assert_eq!(LIMITED_MOST.load(Ordering::SeqCst), 1);
}

static NON_BLOCKING_GATE: Gate = Gate::new();

#[limiter(2, blocking = false)]
#[threaded]
fn non_blocking(n: u32) -> u32 {
    NON_BLOCKING_GATE.pass();
    n
}

/// `@Limiter(2, blocking=False)` over `@Threaded`: the four calls return
/// at once, two bodies run, two tasks wait (in the limiter, not on a
/// thread).
#[test]
fn pymultitasking_limiter_non_blocking() {
    let tasks: Vec<Task<u32>> = (0..4).map(non_blocking).collect();
    assert!(NON_BLOCKING_GATE.wait_inside(2), "two bodies run");
    let waiting = tasks
        .iter()
        .filter(|t| t.state() == TaskState::Pending)
        .count();
    assert_eq!(waiting, 2, "the other two wait for a permit");
    NON_BLOCKING_GATE.open();
    let completed = Pool::as_completed(tasks.clone());
    let results: Vec<u32> = within("as_completed", move || {
        completed
            .map(|t| t.result_timeout(LONG).expect("ran"))
            .collect()
    });
    assert_eq!(results.len(), 4);
    assert_eq!(results.iter().sum::<u32>(), 6);
    assert_eq!(NON_BLOCKING_GATE.most(), 2, "never more than two at once");
}

/// `Pool.join_pools(timeout)`: "find all Pools and run 'join' on them".
#[test]
fn pymultitasking_join_pools_joins_every_registered_pool() {
    let _serial = serial();
    let a = Pool::named("lineage-a");
    let b = Pool::builder()
        .name("lineage-b")
        .max_workers(1)
        .build()
        .expect("valid settings");
    let ta = a.submit(|| "a");
    let tb = b.submit(|| "b");
    assert!(Pool::join_pools(LONG));
    assert!(a.is_closed() && b.is_closed());
    assert!(Pool::get_pool_by_name("lineage-a").is_none());
    assert!(Pool::get_pool_by_name("lineage-b").is_none());
    assert_eq!((ta.join(), tb.join()), (Ok("a"), Ok("b")));
    assert_eq!(a.submit(|| "late").join(), Err(TaskError::Rejected));
}

/// ThreadWorker: one thread with its own queue; a failing task does not
/// kill it; after it stops, work is refused.
#[test]
fn pymultitasking_worker_survives_panics() {
    let worker = Worker::builder().name("lineage-worker").build();
    let failing = worker.submit(|| -> u8 { panic!("uncaught exception") });
    assert!(failing.wait_timeout(LONG));
    assert!(failing.error().is_some_and(|e| e.is_panic()));
    let after = worker.submit(thread_name);
    assert_eq!(after.result_timeout(LONG).as_deref(), Ok("lineage-worker"));
    assert!(worker.is_alive());
    assert!(worker.join(LONG));
    assert_eq!(worker.submit(|| 1).join(), Err(TaskError::Rejected));
}

// ===== seed 004: threadpool =====

/// `makeRequests(callable, args_list, callback, exc_callback)` then
/// `wait()`: every request's callback ran, with its result or exception.
#[test]
fn threadpool_work_requests_requests_with_callbacks_then_wait() {
    let main = pool(3);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut requests = TaskSet::new();
    for request_id in 0..10_u32 {
        let task = main.submit(move || {
            assert!(request_id < 7, "Something extraordinary happened!");
            request_id * 2
        });
        let seen = Arc::clone(&seen);
        task.on_done(move |outcome| {
            let line = match outcome {
                Ok(result) => format!("#{request_id}: {result}"),
                Err(error) => format!("#{request_id}: {}", error.panic_message().unwrap_or("?")),
            };
            lock(&seen).push(line);
        });
        requests.push(task);
    }
    let results = within("wait()", move || requests.join_all());
    assert_eq!(results.len(), 10);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 3);
    let mut seen = lock(&seen).clone();
    seen.sort();
    assert_eq!(seen.len(), 10, "every callback ran before wait() returned");
    assert!(seen.contains(&"#3: 6".to_owned()));
    assert!(seen.contains(&"#8: Something extraordinary happened!".to_owned()));
    assert!(main.join(LONG));
}

/// `poll()` hands over what has arrived without blocking; `wait()` blocks;
/// results come in completion order.
#[test]
fn threadpool_work_requests_poll_and_wait_in_completion_order() {
    let main = pool(3);
    let mut releases = Vec::new();
    let mut handles = Vec::new();
    let mut requests = TaskSet::new();
    for i in 0..3 {
        let (release, task) = gated(&main, i);
        releases.push(Some(release));
        handles.push(task.clone());
        requests.push(task);
    }
    assert_eq!(requests.try_join_next(), None, "nothing finished yet");
    assert_eq!(requests.len(), 3);

    drop(releases[1].take());
    assert!(handles[1].wait_timeout(LONG));
    // A finished task reaches its set a moment after its own waiters wake
    // (pymt publishes the result, then notifies sets), so poll() may need
    // a second look.
    let mut polled = None;
    eventually("poll() hands over the finished request", || {
        polled = requests.try_join_next();
        polled.is_some()
    });
    assert_eq!(polled, Some(Ok(1)));
    assert_eq!(requests.try_join_next(), None);

    drop(releases[2].take());
    assert_eq!(requests.join_next_timeout(LONG), Some(Ok(2)));
    drop(releases[0].take());
    assert_eq!(requests.join_next_timeout(LONG), Some(Ok(0)));
    assert_eq!(requests.join_next_timeout(LONG), None, "NoResultsPending");
    assert!(requests.is_empty());
    assert!(main.join(LONG));
}

/// `wait()` as `join_all`: every result, in completion order. One worker
/// runs the requests one after the other (in priority order), which fixes
/// the completion order.
#[test]
fn threadpool_work_requests_join_all_in_completion_order() {
    let main = pool(1);
    let busy = Busy::occupy(&main, 1);
    let requests: TaskSet<u32> = [(0, 5), (1, 1), (2, 10)]
        .into_iter()
        .map(|(value, priority)| main.submit_with_priority(priority, move || value))
        .collect();
    busy.release();
    let results = within("join_all", move || requests.join_all());
    assert_eq!(results, [Ok(2), Ok(0), Ok(1)]);
    assert!(main.join(LONG));
}

/// "You can increase or decrease the pool size at any time, superfluous
/// threads will just exit when they finish their current task."
#[test]
fn threadpool_work_requests_resize_while_working() {
    let main = pool(1);
    let gate = Arc::new(Gate::new());
    let requests: Vec<Task<u32>> = (0..3)
        .map(|i| {
            let gate = Arc::clone(&gate);
            main.submit(move || {
                gate.pass();
                i
            })
        })
        .collect();
    assert!(gate.wait_inside(1));
    let stats = main.stats();
    assert_eq!((stats.workers, stats.queued), (1, 2));

    // createWorkers(2)
    main.set_max_workers(3);
    assert_eq!(main.max_workers(), 3);
    assert!(gate.wait_inside(3), "new workers took the queued requests");
    assert_eq!(main.stats().workers, 3);

    // dismissWorkers(2): the busy ones exit after their current task.
    main.set_max_workers(1);
    gate.open();
    let sum: u32 = requests
        .iter()
        .map(|t| t.result_timeout(LONG).expect("ran"))
        .sum();
    assert_eq!(sum, 3);
    eventually("superfluous workers exit", || main.stats().workers == 1);
    assert_eq!(
        main.submit(|| "one worker left").result_timeout(LONG),
        Ok("one worker left")
    );
    assert!(main.join(LONG));
}
