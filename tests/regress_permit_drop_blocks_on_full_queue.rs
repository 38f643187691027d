//! Regression: releasing a limiter permit never blocks on a full queue.
//!
//! Defect: a deferred launch (`#[limiter(.., blocking = false)]`) was
//! dispatched with a blocking enqueue on whatever thread freed the permit.
//! If the target pool's bounded queue was full, `drop(permit)` (or the end
//! of any task holding a permit) blocked until the queue had room, on a
//! thread that might be the one that would make room: a deadlock in plain
//! user code.
//!
//! Decided behaviour: a deferred limiter launch is queued past a full
//! queue's capacity; it never blocks the thread releasing the permit.

mod common;
use common::*;

use pymt::{Limiter, Pool};
use std::sync::mpsc;

static L: Limiter = Limiter::new(1);

#[pymt::limiter(L, blocking = false)]
#[pymt::threaded(pool_name = "regress-permit-drop-blocks")]
fn deferred() -> u32 {
    7
}

#[test]
fn dropping_a_permit_blocks_on_the_pools_full_queue() {
    let pool = Pool::builder()
        .name("regress-permit-drop-blocks")
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let busy = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate_rx.recv_timeout(LONG).unwrap();
    });
    started_rx.recv_timeout(LONG).unwrap();
    let filler = pool.submit(|| ()); // the queue is now full
    let held = L.acquire_timeout(LONG).expect("the permit is free");
    let d = deferred(); // waits in the limiter: returns at once
    assert_eq!(d.state(), pymt::TaskState::Pending);
    // The user drops the permit, then opens the gate. The drop should not
    // wait for the pool.
    let dropped = bounded(ms(2_000), move || drop(held));
    let drop_returned = dropped.is_some();
    gate_tx.send(()).unwrap();
    eprintln!("drop(permit) returned within 2 s: {drop_returned}");
    assert!(busy.wait_timeout(LONG) && filler.wait_timeout(LONG));
    assert_eq!(d.result_timeout(LONG), Ok(7));
    assert!(
        drop_returned,
        "drop(Permit) blocked on the target pool's full queue"
    );
    assert!(pool.join(LONG));
}
