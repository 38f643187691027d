//! Regression: deferred launches (`#[limiter(.., blocking = false)]`) whose
//! pool was joined or shut down meanwhile must be rejected without nesting
//! one stack level per deferred task.
//!
//! Defect: the rejection was recursive:
//!
//! `Permit::drop` -> the limiter's release -> the deferred launch closure ->
//! dispatch -> enqueue refused -> reject -> abort the claimed task -> the
//! cell's `complete` -> drops the permit it was just given -> release ->
//! next launch -> ...
//!
//! Release looped for launches that handed the permit back (cancelled ones),
//! but a rejected launch did not hand it back: it dropped it, re-entering
//! release. N deferred tasks => N nested frames on whichever thread dropped
//! the permit (often a pool worker with a 2 MiB stack).

mod common;
use common::*;

use pymt::{Limiter, Pool, Task, TaskState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

static L: Limiter = Limiter::new(1);

#[pymt::limiter(L, blocking = false)]
#[pymt::threaded(pool_name = "regress-deferred-reject")]
fn job(i: usize) -> usize {
    i
}

/// Takes the limiter's only permit, defers `n` calls behind it and joins
/// their pool, so that each deferred launch will be refused.
fn setup(n: usize) -> (pymt::Permit, Vec<Task<usize>>) {
    let held = L.acquire();
    let tasks: Vec<Task<usize>> = (0..n).map(job).collect();
    assert!(tasks.iter().all(|t| t.state() == TaskState::Pending));
    let pool =
        Pool::get_pool_by_name("regress-deferred-reject").expect("pool made by the first call");
    assert!(pool.join(LONG));
    (held, tasks)
}

/// Measures the stack spread of the rejection cascade with 2 000 deferred
/// tasks: each task's on_done callback (which runs inside its completion)
/// records its stack address. The spread should not grow with the count.
#[test]
fn rejection_cascade_recurses_per_deferred_task() {
    if is_child() {
        // Only the overflow test below runs in a child.
        return;
    }
    let n = 2_000;
    let (held, tasks) = setup(n);
    let lo = Arc::new(AtomicUsize::new(usize::MAX));
    let hi = Arc::new(AtomicUsize::new(0));
    for t in &tasks {
        let (lo, hi) = (Arc::clone(&lo), Arc::clone(&hi));
        t.on_done(move |_| {
            let sp = stack_probe();
            lo.fetch_min(sp, Ordering::Relaxed);
            hi.fetch_max(sp, Ordering::Relaxed);
        });
    }
    // Release on a thread with a big stack, so the measurement survives.
    let releaser = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || drop(held))
        .unwrap();
    releaser.join().unwrap();
    let rejected = tasks
        .iter()
        .filter(|t| t.wait_timeout(LONG) && t.state() == TaskState::Rejected)
        .count();
    let spread = hi.load(Ordering::Relaxed) - lo.load(Ordering::Relaxed);
    eprintln!(
        "{rejected}/{n} rejected; stack spread across their completions: {spread} bytes (~{} bytes per task)",
        spread / n
    );
    assert_eq!(rejected, n);
    assert!(
        spread < 64 * 1024,
        "rejecting {n} deferred tasks nested {spread} bytes of stack"
    );
}

/// 100 000 deferred tasks, permit dropped on a thread with a 2 MiB stack
/// (a pool worker's default): the process must survive. Runs in a child
/// process, because a stack overflow aborts the process.
#[test]
fn rejection_cascade_overflows_a_worker_sized_stack() {
    if is_child() {
        let n = env_knob("REPRO_DEFERRED", 100_000usize);
        let (held, tasks) = setup(n);
        let releaser = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || drop(held))
            .unwrap();
        releaser.join().unwrap();
        assert!(tasks.iter().all(|t| t.wait_timeout(LONG)));
        assert!(tasks.iter().all(|t| t.state() == TaskState::Rejected));
        return;
    }
    let outcome = run_child(
        "rejection_cascade_overflows_a_worker_sized_stack",
        Duration::from_secs(60),
    );
    eprintln!("child outcome: {outcome:?}");
    assert!(
        matches!(outcome, ChildOutcome::Passed),
        "child crashed: {outcome:?}"
    );
}
