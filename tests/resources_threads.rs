//! Resource check: every thread pymt starts ends. The threads of the process
//! (entries of `/proc/self/task`) go back to the count they had before, after
//! `Pool::join_pools`, after dropping an unnamed pool, after idle workers time
//! out, after `shutdown`, `Worker::join`, `join_daemons` and `pymt::spawn`.
//!
//! One test function on purpose: the test harness runs each test on a thread
//! of its own, so a second test would change the count being measured.
//!
//! A worker signals its exit (the pool's `workers` count drops, which is what
//! `join` waits for) a moment before the kernel removes its thread from
//! `/proc`; [`settle`] therefore re-reads the count until it matches, within
//! an overall deadline. That retry loop is the only sleep in this file, and it
//! is not synchronisation: nothing in pymt can tell us when the kernel is done.
#![cfg(target_os = "linux")]

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pymt::{threaded, Pool, Task, TaskState, Worker};

const BOUND: Duration = Duration::from_secs(30);

/// Threads of this process right now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .count()
}

/// Names of this process's threads, for failure messages.
fn thread_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path().join("comm");
            Some(std::fs::read_to_string(path).ok()?.trim().to_owned())
        })
        .collect();
    names.sort();
    names
}

/// Waits (bounded) until the thread count equals `expected`; the threads
/// still alive are named on failure.
fn settle(expected: usize, what: &str) {
    let deadline = Instant::now() + BOUND;
    loop {
        let now = threads();
        if now == expected {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "{what}: {now} threads alive after {BOUND:?}, expected {expected}; threads: {:?}",
                thread_names()
            );
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// A gate that tasks wait on until `n` of them arrived (bounded), so a pool
/// must run `n` bodies at once: exactly `n` workers.
#[derive(Default)]
struct Meeting {
    arrived: Mutex<usize>,
    cv: Condvar,
}

impl Meeting {
    fn arrive_and_wait(&self, n: usize) -> bool {
        let mut arrived = self.arrived.lock().unwrap_or_else(PoisonError::into_inner);
        *arrived += 1;
        self.cv.notify_all();
        let (arrived, _) = self
            .cv
            .wait_timeout_while(arrived, BOUND, |a| *a < n)
            .unwrap_or_else(PoisonError::into_inner);
        *arrived >= n
    }
}

/// Submits `n` tasks that only finish together, and waits for them.
fn fill(pool: &Pool, n: usize) -> Vec<Task<bool>> {
    let meeting = Arc::new(Meeting::default());
    (0..n)
        .map(|_| {
            let meeting = Arc::clone(&meeting);
            pool.submit(move || meeting.arrive_and_wait(n))
        })
        .collect()
}

fn all_met(tasks: Vec<Task<bool>>, what: &str) {
    for task in tasks {
        assert_eq!(
            task.result_timeout(BOUND),
            Ok(true),
            "{what}: {} ended {:?}",
            task.id(),
            task.state()
        );
    }
}

static MACRO_MEETING: Mutex<Option<Arc<Meeting>>> = Mutex::new(None);

/// Meets the other calls of the current round (three at once).
#[threaded(pool_name = "res-macro", max_workers = 3)]
fn macro_job() -> bool {
    let meeting = MACRO_MEETING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .expect("a meeting is set up");
    meeting.arrive_and_wait(3)
}

fn macro_round() -> Vec<Task<bool>> {
    *MACRO_MEETING.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::default());
    (0..3).map(|_| macro_job()).collect()
}

#[threaded(daemon)]
fn daemon_job(n: u32) -> u32 {
    n + 1
}

#[test]
fn every_thread_pymt_starts_ends() {
    let baseline = threads();

    // ===== named pools, joined by join_pools =====
    let a = Pool::builder()
        .name("res-a")
        .max_workers(2)
        .build()
        .expect("fresh name");
    let b = Pool::builder()
        .name("res-b")
        .max_workers(3)
        .min_workers(1)
        .build()
        .expect("fresh name");
    let c = Pool::named("res-c");
    c.set_max_workers(2);
    // The minimum worker of "res-b" starts at build.
    settle(baseline + 1, "after building res-b with min_workers 1");
    let tasks = [fill(&a, 2), fill(&b, 3), fill(&c, 2), macro_round()];
    // 2 + 3 + 2 + 3 workers, each running one of the meeting tasks.
    settle(baseline + 10, "10 workers running meeting tasks");
    // A new thread names itself once it starts running, slightly after it
    // shows up in /proc: wait (bounded) for every pool's name to appear.
    let deadline = Instant::now() + BOUND;
    for prefix in ["res-a-", "res-b-", "res-c-", "res-macro-"] {
        while !thread_names().iter().any(|n| n.starts_with(prefix)) {
            assert!(
                Instant::now() < deadline,
                "no worker thread named {prefix}N: {:?}",
                thread_names()
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
    for (i, t) in tasks.into_iter().enumerate() {
        all_met(t, &format!("named pool batch {i}"));
    }
    assert!(Pool::join_pools(BOUND), "join_pools timed out");
    settle(baseline, "after join_pools");
    for pool in [&a, &b, &c] {
        assert_eq!(pool.stats().workers, 0, "{pool:?}");
    }

    // The attribute's pool comes back on the next call, and goes again.
    all_met(macro_round(), "macro pool after join_pools");
    assert!(Pool::get_pool_by_name("res-macro").is_some());
    assert!(Pool::join_pools(BOUND));
    settle(baseline, "after the second join_pools");

    // ===== an unnamed pool dropped with work queued =====
    let pool = Pool::builder().max_workers(3).build().expect("valid");
    let gate = pymt::Limiter::new(1);
    let held = gate.acquire();
    let blockers: Vec<Task<()>> = (0..3)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(move || drop(gate.acquire_timeout(BOUND).expect("gate opens")))
        })
        .collect();
    let queued: Vec<Task<u32>> = (0..50).map(|i| pool.submit(move || i)).collect();
    drop(pool);
    drop(held);
    for t in blockers {
        assert_eq!(t.result_timeout(BOUND), Ok(()));
    }
    for (i, t) in (0..).zip(queued) {
        assert_eq!(
            t.result_timeout(BOUND),
            Ok(i),
            "dropped pool finishes its queue"
        );
    }
    settle(baseline, "after dropping an unnamed pool");

    // ===== idle workers above the minimum time out =====
    let idle = Pool::builder()
        .max_workers(3)
        .min_workers(1)
        .idle_timeout(Duration::from_millis(20))
        .build()
        .expect("valid");
    all_met(fill(&idle, 3), "idle pool");
    settle(baseline + 1, "idle workers above min_workers 1");
    assert_eq!(idle.stats().workers, 1);
    assert!(idle.shutdown(BOUND));
    settle(baseline, "after shutdown of the idle pool");

    // ===== shutdown with running tasks =====
    let busy = Pool::builder().max_workers(2).build().expect("valid");
    let started = Arc::new(Meeting::default());
    let running: Vec<Task<()>> = (0..2)
        .map(|_| {
            let started = Arc::clone(&started);
            busy.submit(move || {
                assert!(started.arrive_and_wait(3));
                let deadline = Instant::now() + BOUND;
                while !pymt::stop_requested() && Instant::now() < deadline {
                    thread::yield_now();
                }
            })
        })
        .collect();
    let cancelled: Vec<Task<()>> = (0..10).map(|_| busy.submit(|| ())).collect();
    // Both bodies run (the third arrival is this thread) before the shutdown.
    assert!(started.arrive_and_wait(3), "the two bodies never started");
    assert!(busy.shutdown(BOUND), "running bodies see stop_requested");
    for t in running {
        assert_eq!(t.result_timeout(BOUND), Ok(()));
    }
    for t in cancelled {
        assert!(t.wait_timeout(BOUND), "{t:?}");
        // Cancelled by shutdown, or taken by a worker whose body had just
        // seen the stop request, before the queue was cancelled.
        assert!(
            matches!(t.state(), TaskState::Cancelled | TaskState::Succeeded),
            "{t:?}"
        );
    }
    settle(baseline, "after shutdown with running tasks");

    // ===== a dedicated worker, daemons, a thread per task =====
    let worker = Worker::new();
    assert_eq!(worker.submit(|| 5).result_timeout(BOUND), Ok(5));
    settle(baseline + 1, "a live Worker has one thread");
    assert!(worker.join(BOUND));
    settle(baseline, "after Worker::join");

    assert_eq!(daemon_job(1).result_timeout(BOUND), Ok(2));
    settle(baseline + 1, "a daemon function has one thread");
    assert!(pymt::join_daemons(BOUND));
    settle(baseline, "after join_daemons");

    let spawned: Vec<Task<u32>> = (0..20).map(|i| pymt::spawn(move || i * 2)).collect();
    for (i, t) in (0..).zip(spawned) {
        assert_eq!(t.result_timeout(BOUND), Ok(i * 2));
    }
    settle(baseline, "after pymt::spawn tasks");
}
