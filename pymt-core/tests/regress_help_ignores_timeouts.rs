//! Regression: a timed wait made on a worker (`wait_timeout`,
//! `result_timeout`, `pymt::wait` with a finite timeout,
//! `TaskSet::join_next_timeout`) never runs the awaited task inline; it
//! returns by its deadline.
//!
//! Defect: the "help by running the queued task inline" path ignored the
//! caller's timeout. `Task::wait_timeout` helped before looking at the
//! deadline, `pymt::wait` helped in its loop without checking the deadline,
//! and `TaskSet`'s timed join did the same. A timed wait from a worker then
//! lasted as long as the task it ran inline, or (`pymt::wait` AllCompleted)
//! as long as all of them. Worse, a timed wait that was the caller's way out
//! of a lock-order problem became a permanent deadlock: the inline task
//! blocked on a lock its own thread held.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Limiter, Pool, ReturnWhen, TaskSet};
use std::time::{Duration, Instant};

fn one_worker() -> Pool {
    Pool::builder().max_workers(1).build().unwrap()
}

#[test]
fn wait_timeout_from_a_worker_overruns_by_the_inline_task() {
    let pool = one_worker();
    let p = pool.clone();
    let t = pool.submit(move || {
        let u = p.submit(|| std::thread::sleep(ms(1_000)));
        let start = Instant::now();
        let done = u.wait_timeout(ms(50));
        (done, start.elapsed())
    });
    let (done, took) = t.result_timeout(LONG).unwrap();
    eprintln!("wait_timeout(50ms) returned {done} after {took:?}");
    assert!(took < ms(500), "wait_timeout(50ms) took {took:?}");
    assert!(!done, "the 1 s task cannot have ended within 50 ms");
    assert!(pool.join(LONG));
}

#[test]
fn result_timeout_from_a_worker_overruns() {
    let pool = one_worker();
    let p = pool.clone();
    let t = pool.submit(move || {
        let u = p.submit(|| {
            std::thread::sleep(ms(1_000));
            7
        });
        let start = Instant::now();
        let r = u.result_timeout(ms(50));
        (r, start.elapsed())
    });
    let (r, took) = t.result_timeout(LONG).unwrap();
    eprintln!("result_timeout(50ms) returned {r:?} after {took:?}");
    assert!(took < ms(500), "result_timeout(50ms) took {took:?}");
    assert_eq!(r, Err(pymt::TaskError::Timeout));
    assert!(pool.join(LONG));
}

#[test]
fn pymt_wait_all_completed_from_a_worker_runs_every_queued_task_past_the_deadline() {
    let pool = one_worker();
    let p = pool.clone();
    let t = pool.submit(move || {
        let tasks: Vec<_> = (0..5)
            .map(|_| p.submit(|| std::thread::sleep(ms(200))))
            .collect();
        let start = Instant::now();
        let (done, pending) = pymt::wait(&tasks, ReturnWhen::AllCompleted, ms(50));
        (done.len(), pending.len(), start.elapsed())
    });
    let (done, pending, took) = t.result_timeout(LONG).unwrap();
    eprintln!("wait(AllCompleted, 50ms): done {done}, pending {pending}, took {took:?}");
    assert!(took < ms(450), "wait(.., 50ms) took {took:?}");
    assert_eq!((done, pending), (0, 5));
    assert!(pool.join(LONG));
}

#[test]
fn task_set_join_next_timeout_from_a_worker_overruns() {
    let pool = one_worker();
    let p = pool.clone();
    let t = pool.submit(move || {
        let mut set = TaskSet::new();
        set.push(p.submit(|| std::thread::sleep(ms(1_000))));
        let start = Instant::now();
        let r = set.join_next_timeout(ms(50));
        (r.map(|r| r.is_ok()), start.elapsed())
    });
    let (r, took) = t.result_timeout(LONG).unwrap();
    eprintln!("join_next_timeout(50ms) returned {r:?} after {took:?}");
    assert!(took < ms(500), "join_next_timeout(50ms) took {took:?}");
    assert!(pool.join(LONG));
}

/// A timed wait used to break a lock cycle: the waiter holds a permit, the
/// awaited task needs it. Off a worker (or without inline help) the wait
/// times out, the waiter lets go, and both finish. On a worker the awaited
/// task ran inline, on the thread holding the permit: it could never get it.
#[test]
fn timed_wait_under_a_permit_turns_into_a_deadlock() {
    static L: Limiter = Limiter::new(1);
    let pool = one_worker();
    let p = pool.clone();
    let t = pool.submit(move || {
        let held = L.acquire_timeout(LONG).expect("the permit is free");
        // The inner task bounds its own wait, so the test cannot hang.
        let u = p.submit(|| L.acquire_timeout(Duration::from_secs(3)).is_some());
        let start = Instant::now();
        let ended = u.wait_timeout(ms(50));
        let waited = start.elapsed();
        drop(held);
        (ended, waited, u)
    });
    let (ended, waited, u) = t.result_timeout(LONG).unwrap();
    // Read after the outer task returned: the inner one needs the worker.
    let got = u.result_timeout(LONG);
    eprintln!("inner ended within the wait: {ended}; waited {waited:?}; inner got permit: {got:?}");
    assert_eq!(
        got,
        Ok(true),
        "the inner task ran inline under the waiter's permit and could not get it (waited {waited:?})"
    );
    assert!(pool.join(LONG));
}
