//! Regression (from the misc risks): `Pool::wait_completion` / `drain` /
//! `join` called from inside a task of the same pool.
//!
//! Decided and documented, not a defect: a pool-level wait made on the
//! pool's own worker cannot run queued tasks (it does not help), so with
//! queued work and no other worker free it returns false at its timeout
//! rather than hanging (with `Duration::MAX` it would hang). The queued
//! task then runs once the outer task returns (`join`, at its timeout,
//! cancels what is still queued, as documented).

mod common;
use common::*;

use pymt::{Pool, Task, TaskState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(300);
/// Lateness allowed past the timeout (a noisy debug CI machine).
const SLACK: Duration = Duration::from_millis(2_000);

/// On a one-worker pool, a task queues another and then makes the
/// pool-level wait `wait`; returns (the pool, the wait's result, its
/// duration, whether the queued task's body had run by then, the queued
/// task).
fn wait_from_own_worker(
    wait: fn(&Pool, Duration) -> bool,
) -> (Pool, bool, Duration, bool, Task<()>) {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let p = pool.clone();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let outer = pool.submit(move || {
        let queued = p.submit(move || r.store(true, Ordering::SeqCst));
        let start = Instant::now();
        let settled = wait(&p, TIMEOUT);
        let took = start.elapsed();
        (settled, took, ran.load(Ordering::SeqCst), queued)
    });
    let (settled, took, queued_ran, queued) = outer
        .result_timeout(TIMEOUT + SLACK + LONG)
        .expect("the outer task ended");
    eprintln!("settled {settled} after {took:?}; queued task ran meanwhile: {queued_ran}");
    (pool, settled, took, queued_ran, queued)
}

fn assert_timed_out(settled: bool, took: Duration, queued_ran: bool) {
    assert!(
        !settled,
        "the pool cannot settle while its only worker waits for it"
    );
    assert!(!queued_ran, "a pool-level wait ran a queued task inline");
    assert!(
        took >= TIMEOUT && took < TIMEOUT + SLACK,
        "the wait returned after {took:?} (timeout {TIMEOUT:?})"
    );
}

#[test]
fn wait_completion_from_its_own_worker_times_out() {
    let (pool, settled, took, queued_ran, queued) =
        wait_from_own_worker(|p, timeout| p.wait_completion(timeout));
    assert_timed_out(settled, took, queued_ran);
    assert!(
        queued.wait_timeout(LONG),
        "the queued task never ran after the outer task returned"
    );
    assert_eq!(queued.state(), TaskState::Succeeded);
    assert!(pool.join(LONG));
}

#[test]
fn drain_from_its_own_worker_times_out() {
    let (pool, settled, took, queued_ran, queued) =
        wait_from_own_worker(|p, timeout| p.drain(timeout));
    assert_timed_out(settled, took, queued_ran);
    assert!(
        queued.wait_timeout(LONG),
        "the queued task never ran after the outer task returned"
    );
    assert_eq!(queued.state(), TaskState::Succeeded);
    // The drain is over: outside submissions go through again.
    assert_eq!(pool.submit(|| 3).result_timeout(LONG), Ok(3));
    assert!(pool.join(LONG));
}

#[test]
fn join_from_its_own_worker_times_out() {
    let (pool, settled, took, queued_ran, queued) =
        wait_from_own_worker(|p, timeout| p.join(timeout));
    assert_timed_out(settled, took, queued_ran);
    // `join` cancels what is still queued when it times out.
    assert!(queued.wait_timeout(LONG), "the queued task never ended");
    assert_eq!(queued.state(), TaskState::Cancelled);
    assert!(pool.is_closed());
    assert!(pool.join(LONG));
}
