//! Regression: a deferred task must not be claimed between becoming
//! `QUEUED` and being counted in its pool's queued count.
//!
//! Defect: a deferred launch set the task `QUEUED` before dispatch counted
//! it in the pool's packed queued/active word. In that window:
//!   * a worker of the pool waiting on it claimed it (inline help) and
//!     counted it as started, decrementing a queued count that never
//!     included it; or
//!   * `cancel()` claimed it from `QUEUED` and counted it as unqueued.
//!
//! If the pool was open, the later increment repaired the count (a transient
//! 4294967295). If the pool had closed meanwhile, enqueue refused *before*
//! counting, the rejection's claim failed (already claimed), and the count
//! stayed at 2^32-1 for good: `join` never settled, `wait_completion` was
//! always false, idle workers never retired, `stats().queued` read
//! 4294967295, and the task that the closed pool refused ran anyway, inline.
//! (In a debug build the `cancel()` path's decrement panics on overflow.)
//!
//! Stress: N deferred tasks on a pool that is then joined; the permit is
//! released so the tasks are launched (and refused) one after another, each
//! slowed by an on_done callback, while a task still running on the pool
//! keeps helping the task at the launch frontier (or, in the second test, a
//! plain thread keeps cancelling it).
//!
//! Race tests: each runs rounds until `REPRO_ROUNDS` rounds (default 200)
//! or `REPRO_SECS` seconds (default 3) have passed, whichever comes first;
//! raise both for longer local runs.

mod common;
use common::*;

use pymt::{Limiter, Pool, ReturnWhen, Task};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deferred tasks per round.
const TASKS: usize = 2_000;

/// (rounds, time budget) of one race test.
fn budget() -> (usize, Duration) {
    (
        env_knob("REPRO_ROUNDS", 200usize),
        Duration::from_secs(env_knob("REPRO_SECS", 3u64)),
    )
}

static L: Limiter = Limiter::new(1);
static FRONTIER: AtomicUsize = AtomicUsize::new(0);
static RAN: AtomicUsize = AtomicUsize::new(0);
const NAME: &str = "regress-deferred-window";

#[pymt::limiter(L, blocking = false)]
#[pymt::threaded(pool_name = "regress-deferred-window")]
fn job(i: usize) -> usize {
    RAN.fetch_add(1, Ordering::SeqCst);
    i
}

/// How D waits on the frontier task.
#[derive(Clone, Copy, Debug)]
enum Help {
    /// `pymt::wait` with a zero timeout, in a tight loop: many looks per
    /// launch. (Timed waits made on a worker no longer run the awaited task
    /// inline, so with that behaviour this round only checks the refusal by
    /// the closed pool.)
    TimedZero,
    /// An untimed `wait`: one look per call; untimed waits keep helping.
    Untimed,
}

fn help_frontier(t: &Task<usize>, how: Help) {
    match how {
        Help::TimedZero => {
            let _ = pymt::wait(
                std::slice::from_ref(t),
                ReturnWhen::FirstCompleted,
                Duration::ZERO,
            );
        }
        // Ends when `t` does (the releaser launches, and the closed pool
        // refuses, every deferred task); a hang fails the bounded wait on D.
        Help::Untimed => t.wait(),
    }
}

/// One round; returns (bodies that ran although their pool refused them,
/// join result, queued count after).
fn round(n: usize, how: Help) -> (usize, bool, usize) {
    // A big stack: the refusals may still nest (see
    // regress_deferred_reject_recursion.rs); this test is about the window.
    let pool = Pool::builder()
        .name(NAME)
        .max_workers(2)
        .stack_size(256 << 20)
        .build()
        .unwrap();
    FRONTIER.store(0, Ordering::SeqCst);
    RAN.store(0, Ordering::SeqCst);
    let held = L.acquire_timeout(LONG).expect("the permit is free");
    let tasks: Arc<Vec<Task<usize>>> = Arc::new((0..n).map(job).collect());
    for (i, t) in tasks.iter().enumerate() {
        t.on_done(move |_| {
            FRONTIER.store(i + 1, Ordering::SeqCst);
            spin_ns(2_000);
        });
    }
    // D: runs on the pool (so its waits help), following the frontier.
    let ts = Arc::clone(&tasks);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let d = pool.submit(move || {
        ready_tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let f = FRONTIER.load(Ordering::SeqCst);
            if f >= ts.len() || Instant::now() > deadline {
                break;
            }
            help_frontier(&ts[f], how);
        }
    });
    ready_rx.recv_timeout(LONG).unwrap();
    // Close the pool (join waits for D), then release the permit.
    let p = pool.clone();
    let joiner = std::thread::spawn(move || p.join(Duration::from_secs(3)));
    let start = Instant::now();
    while !pool.is_closed() {
        assert!(start.elapsed() < LONG, "join never closed the pool");
        std::thread::yield_now();
    }
    let releaser = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || drop(held))
        .unwrap();
    releaser.join().unwrap();
    assert!(d.wait_timeout(Duration::from_secs(30)), "D never ended");
    let joined = joiner.join().unwrap();
    for t in tasks.iter() {
        assert!(t.wait_timeout(LONG), "a deferred task never ended");
    }
    let queued = pool.stats().queued;
    (RAN.load(Ordering::SeqCst), joined, queued)
}

#[test]
fn deferred_task_claimed_between_queued_state_and_queue_count() {
    let (rounds, secs) = budget();
    let start = Instant::now();
    let mut hit = None;
    let mut done = 0;
    // At least one round of each kind.
    while done < rounds.max(2) && (done < 2 || start.elapsed() < secs) {
        let how = if done % 2 == 0 {
            Help::TimedZero
        } else {
            Help::Untimed
        };
        let (ran, joined, queued) = round(TASKS, how);
        if ran > 0 || queued != 0 || !joined {
            eprintln!(
                "round {done} ({how:?}): {ran} refused bodies ran anyway; join -> {joined}; \
                 stats().queued = {queued}"
            );
            hit = Some((done, ran, joined, queued));
            break;
        }
        done += 1;
    }
    eprintln!("{done} clean round(s) in {:?}", start.elapsed());
    assert_eq!(
        hit, None,
        "a task refused by its closed pool ran inline and left the pool's queued count corrupted \
         (round, bodies run, joined, queued)"
    );
}

static L2: Limiter = Limiter::new(1);
static FRONTIER2: AtomicUsize = AtomicUsize::new(0);
const NAME2: &str = "regress-deferred-window-cancel";

#[pymt::limiter(L2, blocking = false)]
#[pymt::threaded(pool_name = "regress-deferred-window-cancel")]
fn job2(i: usize) -> usize {
    i
}

/// The same window hit by `cancel()` from an ordinary (non-worker) thread:
/// it claims the task from `QUEUED` and counts as unqueued an entry that was
/// never counted. Returns (cancelled, whether `cancel()` never panicked,
/// queued count after).
fn cancel_round(n: usize, seed: u64) -> (usize, bool, usize) {
    let pool = Pool::builder().name(NAME2).max_workers(2).build().unwrap();
    FRONTIER2.store(0, Ordering::SeqCst);
    let held = L2.acquire_timeout(LONG).expect("the permit is free");
    let tasks: Arc<Vec<Task<usize>>> = Arc::new((0..n).map(job2).collect());
    for (i, t) in tasks.iter().enumerate() {
        t.on_done(move |_| {
            FRONTIER2.fetch_max(i + 1, Ordering::SeqCst);
            spin_ns(1_000);
        });
    }
    assert!(pool.join(LONG));
    let ts = Arc::clone(&tasks);
    // A big stack: a cancelled launch can reject the rest of the backlog on
    // the cancelling thread (see regress_deferred_reject_recursion.rs).
    let canceller = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            let mut rng = Rng::new(seed);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let f = FRONTIER2.load(Ordering::SeqCst);
                if f >= ts.len() || Instant::now() > deadline {
                    break;
                }
                spin_ns(rng.below(1_500));
                ts[f].cancel();
            }
        })
        .unwrap();
    let releaser = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || drop(held))
        .unwrap();
    releaser.join().unwrap();
    let canceller_ok = canceller.join().is_ok();
    if !canceller_ok {
        // The cascade stopped halfway: some tasks will never end, and one of
        // them holds the permit. Leak them rather than wait on them or set
        // off the rest of the rejection cascade on this thread's stack.
        let queued = pool.stats().queued;
        std::mem::forget(tasks);
        return (0, false, queued);
    }
    let mut cancelled = 0;
    for t in tasks.iter() {
        assert!(t.wait_timeout(LONG), "a deferred task never ended");
        if t.is_cancelled() {
            cancelled += 1;
        }
    }
    (cancelled, true, pool.stats().queued)
}

#[test]
fn deferred_task_cancelled_between_queued_state_and_queue_count() {
    let (rounds, secs) = budget();
    let start = Instant::now();
    let mut hit = None;
    let mut done = 0;
    while done < rounds.max(1) && (done == 0 || start.elapsed() < secs) {
        let (cancelled, cancel_ok, queued) = cancel_round(TASKS, 0x5DEE_CE66D ^ done as u64);
        if !cancel_ok || queued != 0 {
            eprintln!(
                "cancel round {done}: {cancelled} cancelled; cancel() panicked: {}; \
                 stats().queued = {queued}",
                !cancel_ok
            );
            hit = Some((done, cancel_ok, queued));
            break;
        }
        done += 1;
    }
    eprintln!("{done} clean round(s) in {:?}", start.elapsed());
    assert_eq!(
        hit, None,
        "cancel() in the launch window left the pool's queued count corrupted \
         (round, cancel() returned normally, queued)"
    );
}
