//! Regression (from the misc risks): a task that obtains its own handle and
//! waits on it from inside its own body.
//!
//! Risk: help saw the task `RUNNING` and the waiter slept forever (the
//! on_done case was detected and panicked; the body case was not).
//!
//! Decided behaviour: an UNTIMED wait (`wait`, `join`, `result`) on the
//! task's own handle from inside its own body panics with a message
//! containing "cannot wait on itself" (so the task ends `Panicked` with that
//! message); a timed wait returns false after its timeout.
//!
//! Today the untimed forms hang the pool's worker: each test bounds its own
//! wait on the outer task, and uses a pool of its own.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task, TaskError, TaskState};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SELF_WAIT: &str = "cannot wait on itself";

/// Bound on the outer task in the untimed cases: their panic is immediate.
const BOUND: Duration = Duration::from_secs(5);

/// Runs `body` as a task of a fresh one-worker pool, handing it its own
/// handle; returns the pool and the task.
fn with_own_handle<R: Send + 'static>(
    body: impl FnOnce(Task<R>) -> R + Send + 'static,
) -> (Pool, Task<R>) {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<Task<R>>();
    let t = pool.submit(move || {
        let me = rx.recv_timeout(LONG).expect("own handle");
        body(me)
    });
    tx.send(t.clone()).unwrap();
    (pool, t)
}

/// The outer task must end `Panicked` with the self-wait message.
fn assert_self_wait_panic<R: Send + 'static>(pool: Pool, t: &Task<R>, how: &str) {
    let ended = t.wait_timeout(BOUND);
    eprintln!("{how} on its own handle: ended {ended}; {:?}", t.state());
    assert!(
        ended,
        "{how} on the task's own handle, from its body, hung (no detection)"
    );
    // Ended: `error` does not block.
    match t.error() {
        Some(TaskError::Panicked { message }) => assert!(
            message.contains(SELF_WAIT),
            "{how}: panicked with {message:?}, not the self-wait message"
        ),
        other => panic!("{how}: expected the task to end Panicked, got {other:?}"),
    }
    assert_eq!(t.state(), TaskState::Panicked);
    assert!(pool.join(LONG));
}

#[test]
fn untimed_wait_on_its_own_handle_panics() {
    let (pool, t) = with_own_handle(|me: Task<()>| me.wait());
    assert_self_wait_panic(pool, &t, "wait()");
}

#[test]
fn untimed_join_on_its_own_handle_panics() {
    let (pool, t) = with_own_handle(|me: Task<u32>| me.join().unwrap_or(0));
    assert_self_wait_panic(pool, &t, "join()");
}

#[test]
fn untimed_result_on_its_own_handle_panics() {
    let (pool, t) = with_own_handle(|me: Task<u32>| me.result().unwrap_or(0));
    assert_self_wait_panic(pool, &t, "result()");
}

#[test]
fn timed_wait_on_its_own_handle_times_out() {
    let (pool, t) = with_own_handle(|me: Task<(bool, Duration)>| {
        let start = Instant::now();
        let ended = me.wait_timeout(ms(300));
        (ended, start.elapsed())
    });
    let (ended, took) = t.result_timeout(LONG).expect("the task ended normally");
    eprintln!("wait_timeout(300ms) on its own handle returned {ended} after {took:?}");
    assert!(!ended, "a task cannot end while it waits on itself");
    assert!(
        took >= ms(300) && took < ms(300) + ms(2_000),
        "wait_timeout(300ms) returned after {took:?}"
    );
    assert!(pool.join(LONG));
}
