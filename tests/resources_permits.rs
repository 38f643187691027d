//! Resource check: no `Limiter` permit is ever leaked. Panicking bodies
//! under `#[limiter]` (on a plain fn, above `#[threaded]` blocking and with
//! `blocking = false`, below `#[threaded]`), `Limiter::run`, and permits
//! moved into tasks that panic, are cancelled or are rejected all give their
//! permit back: `available()` returns to `capacity()`.
//!
//! Each test has limiters of its own, so the tests may run in parallel.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use pymt::{limiter, threaded, Limiter, Pool, Task, TaskError, TaskState};

const BOUND: Duration = Duration::from_secs(30);
const DELIBERATE: &str = "permits: deliberate panic";

fn quiet_deliberate_panics() {
    common::quiet_deliberate_panics(DELIBERATE);
}

/// Panics on purpose when `fail`; else returns `n`.
fn body(n: u32, fail: bool) -> u32 {
    if fail {
        panic!("permits: deliberate panic");
    }
    n
}

/// Runs `f` on `threads` threads at once and waits for them (bounded).
fn on_threads(threads: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let (tx, rx) = mpsc::channel();
    for t in 0..threads {
        let (f, tx) = (Arc::clone(&f), tx.clone());
        thread::spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| f(t)));
            let _ = tx.send((t, outcome));
        });
    }
    drop(tx);
    for _ in 0..threads {
        match rx.recv_timeout(BOUND) {
            Ok((_, Ok(()))) => {}
            Ok((t, Err(payload))) => {
                eprintln!("calling thread {t} failed");
                panic::resume_unwind(payload)
            }
            Err(_) => panic!("a calling thread was still blocked after {BOUND:?}"),
        }
    }
}

/// A gate that task bodies wait on (bounded) until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_all();
    }

    fn pass(&self) -> bool {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (open, _) = self
            .cv
            .wait_timeout_while(open, BOUND, |open| !*open)
            .unwrap_or_else(PoisonError::into_inner);
        *open
    }
}

/// Checks a task's outcome against whether its body was told to panic.
fn check(task: Task<u32>, n: u32, fail: bool) {
    let outcome = task.result_timeout(BOUND);
    if fail {
        assert_eq!(
            outcome,
            Err(TaskError::Panicked {
                message: DELIBERATE.into()
            })
        );
    } else {
        assert_eq!(outcome, Ok(n));
    }
}

// ===== on a plain function =====

static PLAIN: Limiter = Limiter::new(2);

#[limiter(PLAIN)]
fn plain(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

#[limiter(1)]
fn literal_one(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

#[test]
fn plain_fn_panics_give_permits_back() {
    quiet_deliberate_panics();
    on_threads(4, |t| {
        for n in 0..50u32 {
            let fail = (n + t as u32) % 2 == 0;
            let outcome = panic::catch_unwind(|| plain(n, fail));
            assert_eq!(outcome.is_err(), fail, "call {n} on thread {t}");
        }
    });
    assert_eq!(PLAIN.available(), PLAIN.capacity());
    assert_eq!(PLAIN.available(), 2);

    // A literal limit's limiter is private to the function: a leaked permit
    // would show as the next call blocking forever (here: past the bound).
    on_threads(3, |t| {
        for n in 0..20u32 {
            assert!(panic::catch_unwind(|| literal_one(n, true)).is_err());
        }
        assert_eq!(literal_one(t as u32, false), t as u32);
    });
}

// ===== above #[threaded], blocking =====

static ABOVE: Limiter = Limiter::new(2);

#[limiter(ABOVE)]
#[threaded]
fn above(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

static ABOVE_POOL: Limiter = Limiter::new(3);

#[limiter(ABOVE_POOL)]
#[threaded(pool_name = "permits-above", max_workers = 2)]
fn above_pool(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

static BELOW: Limiter = Limiter::new(2);

#[threaded(pool_name = "permits-below", max_workers = 3)]
#[limiter(BELOW)]
fn below(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

static GATED: Limiter = Limiter::new(2);

#[limiter(GATED)]
#[threaded(pool_name = "permits-gated", max_workers = 1)]
fn gated(gate: Arc<Gate>, started: mpsc::Sender<()>, fail: bool) -> u32 {
    let _ = started.send(());
    assert!(gate.pass(), "gate never opened");
    body(7, fail)
}

#[test]
fn blocking_limiter_above_threaded_gives_permits_back() {
    quiet_deliberate_panics();
    on_threads(4, |t| {
        // Each caller keeps its tasks: the limiter makes later calls wait
        // until earlier tasks end, panics included.
        let mut tasks = Vec::new();
        for n in 0..40u32 {
            let fail = (n + t as u32) % 3 == 0;
            tasks.push((above(n, fail), n, fail));
            tasks.push((above_pool(n, fail), n, fail));
            tasks.push((below(n, fail), n, fail));
        }
        for (task, n, fail) in tasks {
            check(task, n, fail);
        }
    });
    for (name, limiter) in [
        ("ABOVE", &ABOVE),
        ("ABOVE_POOL", &ABOVE_POOL),
        ("BELOW", &BELOW),
    ] {
        assert_eq!(limiter.available(), limiter.capacity(), "{name}");
    }

    // A queued task that is cancelled gives its permit back at once; a
    // running one that panics, when it ends.
    let gate = Arc::new(Gate::default());
    let (started, running_now) = mpsc::channel();
    let running = gated(Arc::clone(&gate), started.clone(), true);
    // The pool has one worker: once `running` runs, `queued` stays queued.
    running_now
        .recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("{running:?} never started"));
    let queued = gated(Arc::clone(&gate), started, false);
    assert_eq!(GATED.available(), 0);
    assert!(queued.cancel(), "{queued:?}");
    assert_eq!(
        GATED.available(),
        1,
        "a cancelled queued task keeps its permit"
    );
    gate.open();
    assert!(running.result_timeout(BOUND).unwrap_err().is_panic());
    assert_eq!(GATED.available(), 2);
    assert_eq!(queued.join(), Err(TaskError::Cancelled));
}

// ===== above #[threaded], blocking = false =====

static DEFERRED: Limiter = Limiter::new(2);

#[limiter(DEFERRED, blocking = false)]
#[threaded]
fn deferred(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

static DEFERRED_POOL: Limiter = Limiter::new(2);

#[limiter(DEFERRED_POOL, blocking = false)]
#[threaded(pool, max_workers = 1)]
fn deferred_pool(n: u32, fail: bool) -> u32 {
    body(n, fail)
}

static DEFERRED_REJECTED: Limiter = Limiter::new(1);

#[limiter(DEFERRED_REJECTED, blocking = false)]
#[threaded(pool_name = "permits-rejected", max_workers = 1)]
fn deferred_rejected(gate: Arc<Gate>, started: mpsc::Sender<()>) -> u32 {
    let _ = started.send(());
    assert!(gate.pass(), "gate never opened");
    1
}

#[test]
fn nonblocking_limiter_gives_permits_back() {
    quiet_deliberate_panics();
    // Every call returns at once; most tasks wait in the limiter, where a
    // fifth of them are cancelled.
    let mut launched = Vec::new();
    for n in 0..300u32 {
        let fail = n % 3 == 0;
        let task = if n % 2 == 0 {
            deferred(n, fail)
        } else {
            deferred_pool(n, fail)
        };
        let cancelled = n % 5 == 0 && task.cancel();
        launched.push((task, n, fail, cancelled));
    }
    let mut cancelled_count = 0;
    for (task, n, fail, cancelled) in launched {
        if cancelled {
            cancelled_count += 1;
            assert_eq!(task.result_timeout(BOUND), Err(TaskError::Cancelled));
        } else {
            check(task, n, fail);
        }
    }
    assert!(
        cancelled_count > 0,
        "no task was still waiting to be cancelled"
    );
    assert_eq!(DEFERRED.available(), DEFERRED.capacity());
    assert_eq!(DEFERRED_POOL.available(), DEFERRED_POOL.capacity());

    // Tasks waiting in the limiter for a pool that is shut down meanwhile
    // are rejected when their permit comes, and pass it on.
    let gate = Arc::new(Gate::default());
    let (started, holder_runs) = mpsc::channel();
    let holder = deferred_rejected(Arc::clone(&gate), started.clone());
    holder_runs
        .recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("{holder:?} never started"));
    let waiting: Vec<Task<u32>> = (0..5)
        .map(|_| deferred_rejected(Arc::clone(&gate), started.clone()))
        .collect();
    assert_eq!(DEFERRED_REJECTED.available(), 0);
    let pool = Pool::get_pool_by_name("permits-rejected").expect("created on first call");
    // Returns at once (false: `holder` still runs) but closes the pool.
    assert!(!pool.shutdown(Duration::ZERO));
    gate.open();
    assert_eq!(holder.result_timeout(BOUND), Ok(1));
    for task in waiting {
        assert_eq!(
            task.result_timeout(BOUND),
            Err(TaskError::Rejected),
            "{task:?}"
        );
    }
    assert!(holder_runs.try_recv().is_err(), "a rejected body ran");
    assert_eq!(DEFERRED_REJECTED.available(), 1);
}

// ===== Limiter::run and permits moved into tasks =====

static RUN: Limiter = Limiter::new(3);

#[test]
fn run_and_moved_permits_give_permits_back() {
    quiet_deliberate_panics();
    on_threads(4, |t| {
        for n in 0..50u32 {
            let fail = (n + t as u32) % 2 == 1;
            let outcome = panic::catch_unwind(|| RUN.run(|| body(n, fail)));
            assert_eq!(outcome.ok(), (!fail).then_some(n));
        }
    });
    assert_eq!(RUN.available(), 3);

    let pool = Pool::builder().max_workers(2).build().expect("valid");
    // Panicking bodies holding a permit.
    let tasks: Vec<Task<u32>> = (0..30)
        .map(|n| {
            let permit = RUN.acquire();
            pool.submit(move || {
                let _permit = permit;
                body(n, n % 2 == 0)
            })
        })
        .collect();
    for (n, task) in (0..).zip(tasks) {
        check(task, n, n % 2 == 0);
    }
    assert_eq!(RUN.available(), 3);

    // Cancelled before running: the closure, and its permit, are dropped.
    let gate = Arc::new(Gate::default());
    let one = Pool::builder().max_workers(1).build().expect("valid");
    let (started, blocker_runs) = mpsc::channel();
    let blocker = {
        let gate = Arc::clone(&gate);
        one.submit(move || {
            let _ = started.send(());
            u32::from(gate.pass())
        })
    };
    // Running (not queued) before the shutdown below, so it is not cancelled.
    blocker_runs
        .recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("{blocker:?} never started"));
    let permit = RUN.acquire();
    let queued = one.submit(move || {
        let _permit = permit;
        0
    });
    assert_eq!(RUN.available(), 2);
    assert!(queued.cancel());
    assert_eq!(
        RUN.available(),
        3,
        "a cancelled task drops its closure at once"
    );

    // Rejected: the closure, and its permit, are dropped.
    let permit = RUN.acquire();
    assert!(!one.shutdown(Duration::ZERO));
    let rejected = one.submit(move || {
        let _permit = permit;
        0
    });
    assert_eq!(rejected.state(), TaskState::Rejected);
    assert_eq!(
        RUN.available(),
        3,
        "a rejected task drops its closure at once"
    );
    gate.open();
    assert_eq!(blocker.result_timeout(BOUND), Ok(1));
    assert!(pool.join(BOUND));
}
