//! Attack: a queued task ended by the executor (join timeout, shutdown,
//! a worker cancelling what it pops) runs its completion (`on_done`
//! callbacks, the closure's `Drop`) while still counted as queued:
//! `end_queued` and `run_entry` call `try_abort` first and `unqueued`
//! after. `Task::cancel` does it the other way round. Code run by that
//! completion that looks at the pool (`stats`, `wait_completion`) sees a
//! task that is already `Cancelled` still queued, and a pool-level wait
//! made there can only time out.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_millis(300);

/// Returns what the callback of a cancelled queued task saw:
/// (`stats().queued` at its start, its `wait_completion` result).
fn callback_view(cancel_by_join_timeout: bool) -> (usize, bool) {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let blocker = pool.submit(move || {
        started_tx.send(()).unwrap();
        let _ = gate_rx.recv_timeout(LONG);
    });
    started_rx.recv_timeout(LONG).unwrap();
    let queued = pool.submit(|| ());
    let (tx, rx) = mpsc::channel();
    let p = pool.clone();
    queued.on_done(move |r| {
        assert!(r.is_err());
        let seen = p.stats().queued;
        let _ = gate_tx.send(()); // let the blocker finish
        assert!(blocker.wait_timeout(LONG));
        let settled = p.wait_completion(WAIT);
        let _ = tx.send((seen, settled));
    });
    if cancel_by_join_timeout {
        let p = pool.clone();
        // The join times out (the blocker runs) and cancels the queued task.
        std::thread::spawn(move || p.join(ms(50)));
    } else {
        assert!(queued.cancel());
    }
    let out = rx.recv_timeout(LONG + WAIT).expect("the callback ran");
    eprintln!(
        "callback saw queued = {}, wait_completion = {}",
        out.0, out.1
    );
    out
}

/// Passes: `Task::cancel` unqueues before completing.
#[test]
fn callback_of_a_task_cancelled_by_handle_sees_it_unqueued() {
    assert_eq!(callback_view(false), (0, true));
}

/// Failed before the fix: a join timeout completes the task before unqueuing it.
#[test]
fn callback_of_a_task_cancelled_by_join_timeout_sees_it_unqueued() {
    assert_eq!(
        callback_view(true),
        (0, true),
        "(queued seen by the callback, its wait_completion)"
    );
}
