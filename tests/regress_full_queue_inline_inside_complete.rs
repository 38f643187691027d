//! Regression: code that runs inside a finishing task's completion, before
//! its result is published (on_done callbacks / `callback =` hooks, and the
//! permit release that launches the next deferred
//! `#[limiter(.., blocking = false)]` task), may submit to the worker's own
//! pool. That must not run an unrelated queued task inside the unfinished
//! task's completion.
//!
//! Defect: when that pool's bounded queue was full, the submission ran the
//! next queued entry inline, still inside the unfinished task's completion.
//! An unrelated queued task that waited on the finishing task then either
//!   * panicked with "a task's on_done callback cannot wait on or read that
//!     same task" (the in-callback marker was still set), though it is not a
//!     callback, or
//!   * (permit release path, marker cleared) waited for a task whose
//!     completion was blocked under itself: a deadlock of the task and of
//!     the pool's worker.
//!
//! Decided behaviour: a worker's submission to its own full queue is queued
//! past the capacity; nothing runs inline.

mod common;
use common::*;

use pymt::{Limiter, Pool, TaskState};
use std::sync::mpsc::{self, Receiver, Sender};

#[test]
fn unrelated_task_run_inside_an_on_done_callback_fails_with_a_callback_panic() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let a = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate_rx.recv_timeout(LONG).unwrap();
        41u32
    });
    started_rx.recv_timeout(LONG).unwrap();
    // C: an ordinary task that waits on A. Queued: the queue is now full.
    let a2 = a.clone();
    let c = pool.submit(move || a2.result_timeout(LONG).map(|v| v + 1));
    // A's callback submits to the same (full) pool.
    let p = pool.clone();
    a.on_done(move |_| {
        drop(p.submit(|| ()));
    });
    gate_tx.send(()).unwrap();
    let got = c.result_timeout(LONG);
    eprintln!("C (waits on A) got {got:?}");
    assert!(a.wait_timeout(LONG));
    assert_eq!(got, Ok(Ok(42)), "C was run inside A's callback and failed");
    assert!(pool.join(LONG));
}

static L: Limiter = Limiter::new(1);
const POOL: &str = "regress-permit-release-inline";

#[pymt::limiter(L, blocking = false)]
#[pymt::threaded(pool_name = "regress-permit-release-inline")]
fn limited(gate: Option<(Sender<()>, Receiver<()>)>) -> u32 {
    if let Some((started, gate)) = gate {
        started.send(()).unwrap();
        gate.recv_timeout(LONG).unwrap();
    }
    1
}

#[test]
fn permit_release_runs_a_waiter_inline_and_deadlocks() {
    // Register the pool the attribute resolves by name: one worker, room
    // for one queued task.
    let pool = Pool::builder()
        .name(POOL)
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (gate_tx, gate_rx) = mpsc::channel();
    // A takes L's permit and runs (blocked on the gate) on the only worker.
    let a = limited(Some((started_tx, gate_rx)));
    started_rx.recv_timeout(LONG).unwrap();
    // B waits in the limiter.
    let b = limited(None);
    assert_eq!(b.state(), TaskState::Pending);
    // C: an ordinary task that waits on A, queued: the queue is full.
    let a2 = a.clone();
    let c = pool.submit(move || a2.result_timeout(LONG));
    gate_tx.send(()).unwrap();
    // A's completion drops its permit, which launches B onto the full queue
    // from A's worker: that must not run C inline, inside A's completion.
    let a_done = a.wait_timeout(ms(3_000));
    eprintln!(
        "A done: {a_done} ({:?}); B {:?}; C {:?}; stats {:?}",
        a.state(),
        b.state(),
        c.state(),
        pool.stats()
    );
    assert!(
        a_done,
        "A never finished: its worker is running C inline inside A's completion, and C waits on A"
    );
    assert_eq!(c.result_timeout(LONG), Ok(Ok(1)));
    assert_eq!(b.result_timeout(LONG), Ok(1));
    assert!(pool.join(LONG));
}
