//! Seed 000's priority thread-pool executor (`ThreadRipper` /
//! `PriorityThreadPoolExecutor`), in pymt.
//!
//! - `ThreadRipper(config)` reads `max_workers` and the queue's `maxsize`
//!   from the command line or the environment (`BT_PRIORITY_MAX_WORKERS`,
//!   `BT_PRIORITY_MAXSIZE`); pymt's `Pool::builder().from_env()` reads
//!   `PYMT_MAX_WORKERS`, `PYMT_MIN_WORKERS`, `PYMT_IDLE_TIMEOUT_MS` and
//!   `PYMT_QUEUE_CAPACITY`. The example runs copies of itself with those
//!   variables set, so it never changes its own environment.
//! - Higher priorities run first, as in the seed.
//! - The queue is bounded: `submit` waits for room, `try_submit` never
//!   waits and hands the closure back when the queue is full.
//! - `shutdown()` cleans up.
//!
//! Run with `cargo run --example priority_executor`.

use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use pymt::{Pool, SubmitError, Task, TaskError};

/// Bound of every blocking wait in this example.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The variables `PoolBuilder::from_env` reads.
const VARS: [&str; 4] = [
    "PYMT_MAX_WORKERS",
    "PYMT_MIN_WORKERS",
    "PYMT_IDLE_TIMEOUT_MS",
    "PYMT_QUEUE_CAPACITY",
];

/// Set (to anything) in the copies of this program that `configuration`
/// starts; they print what they read and exit.
const CHILD: &str = "PRIORITY_EXECUTOR_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    configuration();
    priorities();
    bounded_queue();
    shutdown();
}

// ===== ThreadRipper: configuration =====

/// `ThreadRipper(config, max_workers, maxsize)`: explicit settings, with the
/// environment filling in (or overriding) them.
fn configuration() {
    println!("== configuration from the environment");
    let seen: Vec<String> = VARS
        .iter()
        .filter_map(|var| std::env::var(var).ok().map(|v| format!("{var}={v}")))
        .collect();
    if seen.is_empty() {
        println!("no PYMT_* variable is set in this process");
    } else {
        println!("set in this process: {}", seen.join(" "));
    }

    run_child("defaults only", &[]);
    run_child(
        "PYMT_MAX_WORKERS=3 PYMT_QUEUE_CAPACITY=2",
        &[("PYMT_MAX_WORKERS", "3"), ("PYMT_QUEUE_CAPACITY", "2")],
    );
    run_child("PYMT_QUEUE_CAPACITY=ten", &[("PYMT_QUEUE_CAPACITY", "ten")]);
}

/// Runs this example again with exactly `vars` among the `PYMT_*`
/// variables, and prints what it reports.
fn run_child(label: &str, vars: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("path of this example");
    let mut command = Command::new(exe);
    command.env(CHILD, "1");
    for var in VARS {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied());
    let output = command.output().expect("run a copy of this example");
    assert!(output.status.success(), "the child failed: {output:?}");
    println!("with {label}:");
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        println!("    {line}");
    }
}

/// What a copy started by `run_child` does: build the way a user would, and
/// report what the pool became.
fn child() {
    // The seed's defaults: 5 workers, a queue of 10. The variables, read
    // after them, win.
    let built = Pool::builder()
        .max_workers(5)
        .queue_capacity(10)
        .from_env()
        .build();
    match built {
        Ok(pool) => {
            println!(
                "max_workers = {}, queue capacity = {}",
                pool.max_workers(),
                measure_capacity(&pool)
            );
            assert!(pool.join(TIMEOUT));
        }
        Err(error) => println!("build error: {error}"),
    }
    // A setter called after `from_env` overrides the variable (a variable
    // that does not parse stays an error: it was asked for).
    match Pool::builder().from_env().max_workers(8).build() {
        Ok(pool) => {
            println!(
                "from_env().max_workers(8): max_workers = {}",
                pool.max_workers()
            );
            assert!(pool.join(TIMEOUT));
        }
        Err(error) => println!("from_env().max_workers(8): build error: {error}"),
    }
}

/// Counts how many tasks fit in the queue while every worker is busy.
fn measure_capacity(pool: &Pool) -> usize {
    let busy = Busy::occupy(pool, pool.max_workers());
    let mut queued = Vec::new();
    let capacity = loop {
        match pool.try_submit(|| ()) {
            Ok(task) => queued.push(task),
            Err(SubmitError::Full(_)) => break queued.len(),
            Err(error) => panic!("unexpected refusal: {error:?}"),
        }
        assert!(queued.len() <= 1000, "the queue should be bounded");
    };
    busy.release();
    capacity
}

// ===== PriorityThreadPoolExecutor: priorities =====

/// `executor.submit(fn, *args, priority=p)`: higher priorities first.
fn priorities() {
    println!("\n== priorities: higher runs first, FIFO among equals");
    let executor = Pool::builder()
        .name("priority")
        .max_workers(1)
        .queue_capacity(10)
        .build()
        .expect("valid settings");
    // Keep the one worker busy so that every submission queues and the
    // queue decides the order.
    let busy = Busy::occupy(&executor, 1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<Task<()>> = [
        (1, "low"),
        (100, "urgent"),
        (50, "normal"),
        (100, "urgent too"),
        (-10, "whenever"),
    ]
    .into_iter()
    .map(|(priority, job)| {
        let order = Arc::clone(&order);
        executor.submit_with_priority(priority, move || {
            order
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(job);
        })
    })
    .collect();
    busy.release();
    assert!(executor.wait_completion(TIMEOUT));
    assert!(tasks.iter().all(Task::is_done));
    let order = order.lock().unwrap_or_else(PoisonError::into_inner).clone();
    println!("ran in order: {order:?}");
    assert_eq!(order, ["urgent", "urgent too", "normal", "low", "whenever"]);
    assert!(executor.join(TIMEOUT));
}

// ===== bounded queue =====

fn bounded_queue() {
    println!("\n== a bounded queue (queue_capacity = 2)");
    let executor = Pool::builder()
        .max_workers(1)
        .queue_capacity(2)
        .build()
        .expect("valid settings");
    let busy = Busy::occupy(&executor, 1);
    let first = executor.submit(|| "first");
    let second = executor.try_submit(|| "second").expect("room for a second");
    println!("queued: {}", executor.stats().queued);

    // The seed's `put(..., block=False)` raises `queue.Full`; `try_submit`
    // returns the closure instead, so nothing is lost.
    let third = match executor.try_submit(|| "third") {
        Err(refused) if refused.is_full() => {
            println!("try_submit: {refused}; the closure comes back");
            refused.into_inner()
        }
        other => panic!("expected Full, got {other:?}"),
    };

    // `submit` waits for room: this thread blocks until the busy worker is
    // released and takes `first` off the queue.
    let (tx, rx) = mpsc::channel();
    let submitter = {
        let executor = executor.clone();
        thread::spawn(move || {
            let task = executor.submit(third);
            tx.send(()).expect("main is waiting");
            task
        })
    };
    busy.release();
    rx.recv_timeout(TIMEOUT).expect("submit got room");
    let third = submitter.join().expect("submitter thread");
    for task in [first, second, third] {
        println!("{:?}", task.result_timeout(TIMEOUT));
    }
    assert!(executor.join(TIMEOUT));
}

// ===== shutdown =====

/// `executor.shutdown()`: stop accepting, cancel what is queued, ask the
/// running task to stop (pymt never kills a thread: the body checks
/// `pymt::stop_requested()`), and wait for the workers.
fn shutdown() {
    println!("\n== shutdown");
    let executor = Pool::builder()
        .max_workers(1)
        .queue_capacity(10)
        .build()
        .expect("valid settings");
    let (started, is_started) = mpsc::channel();
    let long_job = executor.submit(move || {
        started.send(()).expect("main is waiting");
        let mut rounds = 0_u64;
        while !pymt::stop_requested() {
            rounds += 1;
            thread::yield_now();
        }
        rounds > 0
    });
    is_started
        .recv_timeout(TIMEOUT)
        .expect("the long job started");
    let queued: Vec<Task<u32>> = (0..3).map(|i| executor.submit(move || i)).collect();

    assert!(
        executor.shutdown(TIMEOUT),
        "the running job stopped in time"
    );
    println!("running job stopped cooperatively: {:?}", long_job.result());
    for task in &queued {
        assert_eq!(task.result(), Err(TaskError::Cancelled));
    }
    println!("{} queued jobs cancelled", queued.len());
    println!(
        "submit after shutdown: {:?}",
        executor.submit(|| 1).result()
    );
    match executor.try_submit(|| 1) {
        Err(SubmitError::Shutdown(_)) => println!("try_submit after shutdown: Shutdown"),
        other => panic!("expected Shutdown, got {other:?}"),
    }
}

// ===== helpers =====

/// Tasks holding every worker of a pool until released (or `TIMEOUT`).
struct Busy {
    release: Vec<mpsc::Sender<()>>,
    tasks: Vec<Task<()>>,
}

impl Busy {
    /// Submits `n` tasks and returns once all of them are running.
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
                started.send(()).expect("occupy is waiting");
                let _ = released.recv_timeout(TIMEOUT);
            }));
            busy.release.push(release);
        }
        for _ in 0..n {
            is_started
                .recv_timeout(TIMEOUT)
                .expect("a worker took a busy task");
        }
        busy
    }

    fn release(self) {
        for release in &self.release {
            let _ = release.send(());
        }
        for task in &self.tasks {
            assert!(task.wait_timeout(TIMEOUT), "a busy task ended");
        }
    }
}
