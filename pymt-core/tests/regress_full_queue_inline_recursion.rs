//! Regression: a worker submitting to its own pool's full bounded queue must
//! not run queued entries inline on its stack.
//!
//! Defect: the bounded-queue submission path made room in a full queue, when
//! the submitter was a worker of that pool, by running the *next queued
//! entry* inline on the submitter's stack. An entry run that way could
//! itself submit into the full queue and recurse again, so the stack depth
//! grew with the amount of work, not with the user's own nesting: a chain of
//! tasks that never wait on anything overflowed the worker stack.
//!
//! Shape: S(n) submits S(n-1), then a leaf. With capacity 1 and one worker,
//! S(n)'s second submit finds the queue full (S(n-1) is in it), pops S(n-1)
//! and runs it inline; S(n-1) does the same, and so on.
//!
//! Decided behaviour: a worker submitting to its own pool's full bounded
//! queue with `submit` neither blocks nor runs anything inline: the entry is
//! queued past the capacity. `try_submit` still reports the queue full.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, SubmitError, TaskState};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

fn spawner(pool: Pool, n: usize, max_depth: Arc<AtomicUsize>, ran: Arc<AtomicUsize>) {
    let depth = DEPTH.with(|d| {
        d.set(d.get() + 1);
        d.get()
    });
    max_depth.fetch_max(depth, Ordering::Relaxed);
    ran.fetch_add(1, Ordering::Relaxed);
    if n > 0 {
        let (p, m, r) = (pool.clone(), Arc::clone(&max_depth), Arc::clone(&ran));
        drop(pool.submit(move || spawner(p, n - 1, m, r)));
        let r = Arc::clone(&ran);
        drop(pool.submit(move || {
            r.fetch_add(1, Ordering::Relaxed);
        }));
    }
    DEPTH.with(|d| d.set(d.get() - 1));
}

/// Runs the chain S(n) on a one-worker pool with capacity 1; returns (max
/// nesting depth, bodies run, settled and joined).
fn run_chain(n: usize, stack: Option<usize>) -> (usize, usize, bool) {
    let mut b = Pool::builder().max_workers(1).queue_capacity(1);
    if let Some(s) = stack {
        b = b.stack_size(s);
    }
    let pool = b.build().unwrap();
    let max_depth = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let (p, m, r) = (pool.clone(), Arc::clone(&max_depth), Arc::clone(&ran));
    drop(pool.submit(move || spawner(p, n, m, r)));
    let settled = pool.wait_completion(LONG) && pool.join(LONG);
    (
        max_depth.load(Ordering::Relaxed),
        ran.load(Ordering::Relaxed),
        settled,
    )
}

/// Measures the nesting depth reached by tasks that never wait: it should
/// stay small (a handful), whatever the chain length.
#[test]
fn full_queue_inline_depth_grows_with_work() {
    let n = 2_000;
    // Big stack so the measurement itself does not crash.
    let (depth, ran, settled) = run_chain(n, Some(512 << 20));
    eprintln!(
        "chain of {n}: {ran} bodies ran, max nesting depth on one thread = {depth}, settled = {settled}"
    );
    assert!(settled, "pool did not settle");
    assert_eq!(ran, 2 * n + 1);
    assert!(
        depth <= 8,
        "tasks that never wait were nested {depth} deep on one worker stack (chain length {n})"
    );
}

/// The same chain, long, on a default worker stack: the process should not
/// die. Runs in a child process because a stack overflow aborts.
#[test]
fn full_queue_inline_recursion_overflows_stack() {
    if is_child() {
        let n = env_knob("REPRO_CHAIN", 10_000usize);
        let (depth, ran, settled) = run_chain(n, None);
        eprintln!("child: depth {depth}, ran {ran}, settled {settled}");
        assert!(settled);
        assert_eq!(ran, 2 * n + 1);
        return;
    }
    for n in ["1000", "10000"] {
        let outcome = run_child_with(
            "full_queue_inline_recursion_overflows_stack",
            &[("REPRO_CHAIN", n)],
            Duration::from_secs(60),
        );
        eprintln!("chain {n}: {outcome:?}");
        assert!(
            matches!(outcome, ChildOutcome::Passed),
            "chain {n}: child crashed: {outcome:?}"
        );
    }
}

/// The decided behaviour, directly: a worker's `submit` into its own pool's
/// full bounded queue returns at once, runs nothing inline, and queues the
/// entry past the capacity; `try_submit` from the same worker still gets
/// `SubmitError::Full`. Both queued tasks complete once the worker is free.
#[test]
fn worker_submit_to_its_own_full_queue_queues_past_capacity() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let (p, r) = (pool.clone(), Arc::clone(&ran));
    let outer = pool.submit(move || {
        let me = std::thread::current().id();
        let r1 = Arc::clone(&r);
        let first = p.submit(move || {
            r1.fetch_add(1, Ordering::SeqCst);
            std::thread::current().id()
        });
        // The queue (capacity 1) is now full, and this is its only worker.
        let r2 = Arc::clone(&r);
        let start = Instant::now();
        let second = p.submit(move || {
            r2.fetch_add(1, Ordering::SeqCst);
            std::thread::current().id()
        });
        let submit_took = start.elapsed();
        let ran_inline = r.load(Ordering::SeqCst);
        let queued = p.stats().queued;
        let try_full = matches!(p.try_submit(|| 0u8), Err(SubmitError::Full(_)));
        (me, first, second, submit_took, ran_inline, queued, try_full)
    });
    let (me, first, second, submit_took, ran_inline, queued, try_full) = outer
        .result_timeout(LONG)
        .expect("the outer task ended (its submit did not block)");
    eprintln!(
        "submit took {submit_took:?}; bodies run inside it: {ran_inline}; queued after: {queued}; \
         try_submit full: {try_full}"
    );
    assert!(
        submit_took < ms(1_000),
        "submit into the full queue blocked for {submit_took:?}"
    );
    assert_eq!(
        ran_inline, 0,
        "submit into the full queue ran a queued task inline"
    );
    assert_eq!(queued, 2, "the entry was not queued past the capacity (1)");
    assert!(
        try_full,
        "try_submit from the worker did not report SubmitError::Full"
    );
    let first_thread = first.result_timeout(LONG).expect("first queued task ended");
    let second_thread = second
        .result_timeout(LONG)
        .expect("second queued task ended");
    assert_eq!(first.state(), TaskState::Succeeded);
    assert_eq!(second.state(), TaskState::Succeeded);
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    // One worker: both ran on it, after the outer task.
    assert_eq!((first_thread, second_thread), (me, me));
    assert!(pool.join(LONG));
    assert_eq!(pool.stats().queued, 0);
}
