//! Attack: a finished task's value (or a rejected closure) whose `Drop`
//! makes a pool-level wait on its own pool, on the pool's own worker.
//!
//! When every handle was dropped before the task ended, the worker drops
//! the value after the body's bookkeeping (`TaskRef::run` drops its last
//! reference once `context::run_started` has brought the depth back to 0)
//! while the worker still counts as active (its streak). A
//! `wait_completion` / `join` made there thinks it waits for someone else's
//! body, and can only time out; a timed-out `join` then cancels queued work.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(400);

struct WaitsOnDrop {
    pool: Option<Pool>,
    join: bool,
    tx: mpsc::Sender<(bool, Duration)>,
}

impl Drop for WaitsOnDrop {
    fn drop(&mut self) {
        let pool = self.pool.take().unwrap();
        let start = Instant::now();
        let ok = if self.join {
            pool.join(TIMEOUT)
        } else {
            pool.wait_completion(TIMEOUT)
        };
        let _ = self.tx.send((ok, start.elapsed()));
    }
}

/// Submits a gated task returning a `WaitsOnDrop`, drops the handle, then
/// opens the gate: the worker holds the last reference to the value.
fn value_dropped_on_worker(join: bool) -> (bool, Duration) {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (tx, rx) = mpsc::channel();
    let p = pool.clone();
    let task = pool.submit(move || {
        gate_rx.recv_timeout(LONG).unwrap();
        WaitsOnDrop {
            pool: Some(p),
            join,
            tx,
        }
    });
    drop(task); // nobody will read the value: the worker drops it
    gate_tx.send(()).unwrap();
    let out = rx
        .recv_timeout(LONG + TIMEOUT)
        .expect("the value was dropped and its wait returned");
    eprintln!(
        "wait in the value's Drop returned {} after {:?}",
        out.0, out.1
    );
    assert!(pool.join(LONG));
    out
}

#[test]
fn wait_completion_in_a_value_drop_on_the_worker_succeeds() {
    let (ok, took) = value_dropped_on_worker(false);
    assert!(
        ok,
        "wait_completion from a value's Drop on an idle pool timed out after {took:?}"
    );
}

#[test]
fn join_in_a_value_drop_on_the_worker_succeeds() {
    let (ok, took) = value_dropped_on_worker(true);
    assert!(
        ok,
        "join from a value's Drop on an idle pool timed out after {took:?}"
    );
}
