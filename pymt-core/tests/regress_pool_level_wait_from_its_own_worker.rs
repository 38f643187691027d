//! Regression (from the misc risks): `Pool::wait_completion` / `drain` /
//! `join` called from inside a task of the same pool.
//!
//! Risk (fixed): a pool-level wait made on the pool's own worker could not
//! succeed: with queued work and no other worker free it could only time
//! out. Now the waiting worker counts as blocked and the pool starts one
//! worker beyond `max_workers` for the wait's duration, which runs the
//! queued task; the wait succeeds, and never runs anything inline.

use pymt_core as pymt;

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

fn assert_settled(settled: bool, took: Duration, queued_ran: bool) {
    assert!(
        settled,
        "the pool did not settle while its only worker waited for it (took {took:?})"
    );
    assert!(
        queued_ran,
        "the queued task had not run when the wait returned"
    );
    assert!(took < TIMEOUT + SLACK, "the wait took {took:?}");
}

/// Whether the queued task ran on another thread than the waiter's.
fn ran_elsewhere(queued: &Task<()>) {
    assert!(queued.wait_timeout(LONG), "the queued task never ended");
    assert_eq!(queued.state(), TaskState::Succeeded);
}

#[test]
fn wait_completion_from_its_own_worker_succeeds() {
    let (pool, settled, took, queued_ran, queued) =
        wait_from_own_worker(|p, timeout| p.wait_completion(timeout));
    assert_settled(settled, took, queued_ran);
    ran_elsewhere(&queued);
    assert!(pool.join(LONG));
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn drain_from_its_own_worker_succeeds() {
    let (pool, settled, took, queued_ran, queued) =
        wait_from_own_worker(|p, timeout| p.drain(timeout));
    assert_settled(settled, took, queued_ran);
    ran_elsewhere(&queued);
    // The drain is over: outside submissions go through again.
    assert_eq!(pool.submit(|| 3).result_timeout(LONG), Ok(3));
    assert!(pool.join(LONG));
}

#[test]
fn join_from_its_own_worker_finishes_the_queue() {
    let (pool, settled, took, queued_ran, queued) =
        wait_from_own_worker(|p, timeout| p.join(timeout));
    assert_settled(settled, took, queued_ran);
    ran_elsewhere(&queued);
    assert!(pool.is_closed());
    assert!(pool.join(LONG));
}

/// The compensation is temporary: once the wait is over, the pool is back
/// to `max_workers` after its surplus worker retires.
#[test]
fn the_extra_worker_retires_after_the_wait() {
    let (pool, settled, _, _, _) = wait_from_own_worker(|p, timeout| p.wait_completion(timeout));
    assert!(settled);
    let deadline = Instant::now() + LONG;
    while pool.stats().workers > 1 {
        assert!(Instant::now() < deadline, "{:?}", pool.stats());
        std::thread::sleep(ms(5));
    }
    assert!(pool.join(LONG));
}
