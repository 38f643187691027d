//! Regression: a pool task that submits into its own pool's full bounded
//! queue must not run an unrelated task inline while it still holds
//! whatever it held when it called `submit` (a lock, a permit, a RefCell
//! borrow).
//!
//! Defect: such a `submit` ran whatever entry was next in the queue inline,
//! on the submitter's own stack. An unrelated task that needed the same lock
//! then self-deadlocked on the submitter's thread, where leaving it queued
//! would have let it run on another worker once the submitter released the
//! lock.
//!
//! Decided behaviour: the worker's `submit` queues the entry past the
//! capacity and returns; nothing runs inline.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Limiter, Pool};
use std::sync::mpsc;
use std::sync::Arc;

#[test]
fn submit_into_full_queue_runs_an_unrelated_task_under_the_callers_lock() {
    let pool = Pool::builder()
        .max_workers(2)
        .queue_capacity(1)
        .build()
        .unwrap();
    // A non-reentrant lock whose acquisition can be bounded.
    let lock = Arc::new(Limiter::new(1));

    let (gate1_tx, gate1_rx) = mpsc::channel::<()>();
    let (gate2_tx, gate2_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<&'static str>();

    // X1: waits for gate1, takes the lock, submits (queue full), releases.
    let (p, l, s) = (pool.clone(), Arc::clone(&lock), started_tx.clone());
    let x1 = pool.submit(move || {
        s.send("x1").unwrap();
        gate1_rx.recv_timeout(LONG).unwrap();
        let held = l.acquire_timeout(LONG).expect("X1 takes the free lock");
        let me = std::thread::current().id();
        let inner = p.submit(|| ());
        drop(held);
        let _ = inner.wait_timeout(LONG);
        me
    });
    // X2: keeps the second worker busy until gate2.
    let s = started_tx.clone();
    let x2 = pool.submit(move || {
        s.send("x2").unwrap();
        gate2_rx.recv_timeout(LONG).unwrap();
    });
    let mut seen = vec![
        started_rx.recv_timeout(LONG).unwrap(),
        started_rx.recv_timeout(LONG).unwrap(),
    ];
    seen.sort_unstable();
    assert_eq!(seen, ["x1", "x2"]);

    // B: queued (capacity 1: the queue is now full). It needs the lock.
    let l = Arc::clone(&lock);
    let b = pool.submit(move || {
        let me = std::thread::current().id();
        let got = l.acquire_timeout(ms(2_000)).is_some();
        (got, me)
    });
    assert_eq!(pool.stats().queued, 1);

    gate1_tx.send(()).unwrap();
    // Give X1 time to reach its submit; then free the other worker, which is
    // where B runs when X1's submit leaves it queued.
    std::thread::sleep(ms(100));
    gate2_tx.send(()).unwrap();

    let (got, b_thread) = b.result_timeout(LONG).expect("B ended");
    let x1_thread = x1.result_timeout(LONG).expect("X1 ended");
    assert!(x2.wait_timeout(LONG));
    eprintln!("B ran on {b_thread:?}, X1 ran on {x1_thread:?}, B got the lock: {got}");
    assert!(
        got,
        "B ran inline inside X1's submit (same thread: {}), while X1 held the lock: B could not get it",
        b_thread == x1_thread
    );
    assert!(pool.join(LONG));
}
