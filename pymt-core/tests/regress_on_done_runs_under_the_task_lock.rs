//! Regression: `on_done` on a task that already ended must not run the
//! callback while holding the task's lock.
//!
//! Defect: `on_done` on a finished task ran the callback synchronously
//! *while holding the task's slot mutex*. Any other thread that read that
//! task meanwhile (`result`, `join`, `try_result`, `error`, `.await`)
//! blocked until the callback returned, so a callback that waited for such a
//! thread deadlocked, though the same callback worked when registered before
//! the task ended (then it ran unlocked, in the completion). A
//! timing-dependent deadlock.
//!
//! Now the late callback runs without the lock, borrowing the value: what
//! does not need the value (`state`, `is_done`, `on_done`, `cancel`,
//! dropping a handle) goes on, and `try_result` answers at once (`None`
//! while the value is lent). Readers that need the value wait for the
//! callback to return: `T` need not be `Sync`, so nobody else may touch it
//! while the callback holds `&T` (documented on `Task::on_done`).

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task, TaskError};
use std::sync::mpsc;

/// A callback that asks another thread to read `t2` and reports (bounded)
/// whether that thread answered.
fn callback_that_asks_another_thread(
    t2: Task<u32>,
    res_tx: mpsc::Sender<bool>,
) -> impl FnOnce(&Result<u32, TaskError>) + Send + 'static {
    move |_r| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let read = t2.try_result();
            assert!(matches!(read, None | Some(Ok(5))), "{read:?}");
            assert!(!t2.is_cancelled());
            let (seen_tx, seen_rx) = mpsc::channel();
            t2.on_done(move |r| drop(seen_tx.send(r.clone())));
            drop(t2);
            let _ = tx.send(read);
            drop(seen_rx);
        });
        let answered = rx.recv_timeout(ms(2_000)).is_ok();
        let _ = res_tx.send(answered);
    }
}

#[test]
fn control_callback_registered_before_the_end() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let t = pool.submit(move || {
        gate_rx.recv_timeout(LONG).unwrap();
        5u32
    });
    let (res_tx, res_rx) = mpsc::channel();
    t.on_done(callback_that_asks_another_thread(t.clone(), res_tx));
    gate_tx.send(()).unwrap();
    assert_eq!(res_rx.recv_timeout(LONG), Ok(true));
    assert!(pool.join(LONG));
}

/// A late callback borrows the value: a blocking reader on another thread
/// waits for the callback to return (here, past its own timeout).
#[test]
fn value_readers_wait_for_a_late_callback() {
    let t = pymt::spawn(|| 5u32);
    assert!(t.wait_timeout(LONG));
    let (res_tx, res_rx) = mpsc::channel();
    let t2 = t.clone();
    t.on_done(move |r| {
        assert_eq!(r, &Ok(5));
        let reader = std::thread::spawn(move || t2.result_timeout(ms(100)));
        let _ = res_tx.send(reader.join().expect("the reader ended"));
    });
    assert_eq!(res_rx.recv_timeout(LONG), Ok(Err(TaskError::Timeout)));
    assert_eq!(t.result_timeout(LONG), Ok(5));
}

#[test]
fn callback_registered_after_the_end_blocks_readers() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let t = pool.submit(|| 5u32);
    assert!(t.wait_timeout(LONG));
    let (res_tx, res_rx) = mpsc::channel();
    // Runs here, now: on_done returns after the callback (bounded) does.
    t.on_done(callback_that_asks_another_thread(t.clone(), res_tx));
    let answered = res_rx.recv_timeout(LONG);
    eprintln!("another thread could read the task during its late on_done callback: {answered:?}");
    assert_eq!(
        answered,
        Ok(true),
        "the late callback ran holding the task's lock: the reader blocked"
    );
    assert!(pool.join(LONG));
}
